"""Milliseconds per synthesis call of our StyleGAN2 generator; prints JSON.

CPU: a 256x256 config-f generator. CUDA: also the full 1024x1024 config-f, fp32
and fp16 (NVIDIA's mixed precision in the top four blocks). Random weights cost
exactly what real ones do.

    python benchmarks/bench_generator.py [--device cuda] [--resolutions 256 1024]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import device_info, pick_device, time_ms
from core.stylegan import Generator, GeneratorConfig


def bench(resolution: int, device: torch.device, batches: list[int], repeats: int) -> list[dict]:
    torch.manual_seed(0)
    g = Generator(GeneratorConfig.config_f(resolution)).eval().requires_grad_(False).to(device)
    rows = []
    precisions = ["fp32", "fp16"] if device.type == "cuda" else ["fp32"]
    for batch in batches:
        ws = g.mapping(torch.randn(batch, g.z_dim, device=device))
        for precision in precisions:
            force_fp32 = precision == "fp32"
            with torch.no_grad():
                timing = time_ms(lambda ws=ws, f=force_fp32: g.synthesis(ws, force_fp32=f),
                                 device, repeats=repeats)
            rows.append({"resolution": resolution, "batch": batch, "precision": precision,
                         **timing, "ms_per_image": round(timing["median_ms"] / batch, 3)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--resolutions", type=int, nargs="+", default=None)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = pick_device(args.device)
    resolutions = args.resolutions or ([256, 1024] if device.type == "cuda" else [256])
    results = [row for r in resolutions for row in bench(r, device, args.batches, args.repeats)]
    print(json.dumps({"benchmark": "generator_synthesis", **device_info(device),
                      "results": results}, indent=2))


if __name__ == "__main__":
    main()
