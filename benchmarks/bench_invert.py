"""Seconds per ChunkyGAN inversion step for n chunks, against the cost floor; prints JSON.

The floor ("limit") is what one step cannot avoid: one forward+backward of the
generator at batch n plus LPIPS (VGG16 at 256x256) forward+backward, measured in the
same run. Goals: step <= 1.25 x limit, and n=4 <= 2.5 x n=1 on GPU. With --full-run,
also the wall time of a complete inversion (default 300 steps, 4 chunks, W+).

    python benchmarks/bench_invert.py                       # CPU: 64 px generator
    python benchmarks/bench_invert.py --resolution 1024 --full-run   # GPU: config-f
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import device_info, pick_device, sync, time_ms
from core.invert import InversionJob, InversionSettings, Lpips, ReconstructionLoss
from core.invert.losses import to_loss_resolution
from core.stylegan import Generator, GeneratorConfig


def random_lpips(device: torch.device) -> Lpips:
    """LPIPS with a random VGG16 backbone: the same cost as the real weights."""
    torch.manual_seed(0)
    features = torchvision.models.vgg16().features.state_dict()
    return Lpips({f"features.{k}": v for k, v in features.items()}).to(device)


def strip_masks(n: int, resolution: int, device: torch.device) -> torch.Tensor:
    masks = torch.zeros(n, resolution, resolution, device=device)
    edges = torch.linspace(0, resolution, n + 1).round().long()
    for i in range(n):
        masks[i, :, edges[i] : edges[i + 1]] = 1
    return masks


def limit_ms(g: Generator, lpips: Lpips, n: int, target: torch.Tensor, device, repeats) -> dict:
    ws = g.w_avg.reshape(1, 1, -1).repeat(n, g.num_ws, 1).requires_grad_(True)

    def forward_backward():
        images = g.synthesis(ws)
        loss = images.square().mean() + lpips(images[:1], target)
        loss.backward()
        ws.grad = None

    return time_ms(forward_backward, device, repeats=repeats)


def step_ms(g, lpips, n, target, device, repeats) -> dict:
    settings = InversionSettings(space="wplus", steps=10_000, coverage="whole_image")
    job = InversionJob(g, target, strip_masks(n, g.img_resolution, device), settings,
                       ReconstructionLoss("lpips", lpips_model=lpips))
    return time_ms(job._optimisation_step, device, repeats=repeats)


def full_run(g, lpips, n, steps, target, device) -> dict:
    settings = InversionSettings(space="wplus", steps=steps, coverage="whole_image",
                                 preview_every_steps=steps)
    job = InversionJob(g, target, strip_masks(n, g.img_resolution, device), settings,
                       ReconstructionLoss("lpips", lpips_model=lpips))
    sync(device)
    start = time.perf_counter()
    for _ in job.run():
        pass
    sync(device)
    return {"chunks": n, "steps": steps, "seconds": round(time.perf_counter() - start, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--resolution", type=int, default=None)
    parser.add_argument("--chunks", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--full-run", action="store_true")
    parser.add_argument("--full-steps", type=int, default=300)
    args = parser.parse_args()
    device = pick_device(args.device)
    resolution = args.resolution or (1024 if device.type == "cuda" else 64)
    torch.manual_seed(0)
    g = Generator(GeneratorConfig.config_f(resolution)).eval().requires_grad_(False).to(device)
    lpips = random_lpips(device)
    with torch.no_grad():
        target = g.synthesis(g.mapping(torch.randn(1, g.z_dim, device=device)))
    rows = []
    for n in args.chunks:
        limit = limit_ms(g, lpips, n, to_loss_resolution(target), device, args.repeats)
        step = step_ms(g, lpips, n, target, device, args.repeats)
        rows.append({"chunks": n, "step_ms": step["median_ms"], "limit_ms": limit["median_ms"],
                     "step_over_limit": round(step["median_ms"] / limit["median_ms"], 3)})
    base = rows[0]["step_ms"]
    for row in rows:
        row["cost_vs_first"] = round(row["step_ms"] / base, 3)
    report = {"benchmark": "inversion_step", **device_info(device), "resolution": resolution,
              "results": rows}
    if args.full_run:
        report["full_run"] = full_run(g, lpips, 4, args.full_steps, target, device)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
