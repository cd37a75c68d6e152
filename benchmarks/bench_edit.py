"""Preview latency of one slider step against one plain synthesis call; prints JSON.

A config-f generator with random weights (random weights cost exactly what real ones
do), a document of 4 chunks (a disc in each quadrant) with W+ codes and one W edit on
the first chunk. One slider step = change that edit's strength, build the request,
`EditRenderer.render` it ("edited" mode: only that chunk is synthesised) and get the
uint8 image on the host. The limit is `G.synthesis(ws)` at batch 1 + `images_to_uint8`,
timed in the same run and precision (on CUDA NVIDIA's fp16 in the top four blocks).
Goals: preview / synthesis ≤ 1.3; on a GPU ≥ 30 previews per second (target 60).

    python benchmarks/bench_edit.py [--device cuda] [--resolution 1024] [--steps 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import device_info, pick_device, sync, time_ms
from core.edit.directions import Direction
from core.edit.render import EditRenderer
from core.project import Document, Edit
from core.stylegan import Generator, GeneratorConfig, images_to_uint8


def quadrant_discs(resolution: int) -> list[np.ndarray]:
    yy, xx = np.mgrid[:resolution, :resolution]
    quarter, radius = resolution / 4, resolution * 0.22
    return [(((xx - cx) ** 2 + (yy - cy) ** 2) <= radius**2).astype(np.float32)
            for cy in (quarter, 3 * quarter) for cx in (quarter, 3 * quarter)]


def build(resolution: int, device: torch.device) -> tuple[Generator, Document, Direction]:
    torch.manual_seed(0)
    g = Generator(GeneratorConfig.config_f(resolution)).eval().requires_grad_(False).to(device)
    rng = np.random.default_rng(0)
    doc = Document(aligned=rng.integers(0, 256, (resolution, resolution, 3), dtype=np.uint8),
                   inversion={"settings": {"coverage": "edit_regions"}})
    with torch.no_grad():
        ws = g.mapping(torch.randn(4, g.z_dim, device=device)).cpu().numpy()
    for i, mask in enumerate(quadrant_discs(resolution)):
        doc.add_chunk(mask, name=f"chunk{i}", space="wplus", code=ws[i])
    direction = Direction("bench", "w", rng.standard_normal(g.w_dim).astype(np.float32), 3.0)
    doc.chunk(0).edits = [Edit("bench", 0.0)]
    return g, doc, direction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--resolution", type=int, default=None,
                        help="default 1024 on CUDA, 256 on CPU")
    parser.add_argument("--steps", type=int, default=None,
                        help="slider steps to time (default 60 on CUDA, 5 on CPU)")
    args = parser.parse_args()
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    resolution = args.resolution or (1024 if cuda else 256)
    steps = args.steps or (60 if cuda else 5)
    g, doc, direction = build(resolution, device)
    renderer = EditRenderer(g, doc, {direction.name: direction})
    edit = doc.chunk(0).edits[0]

    def slider_step(value: float) -> np.ndarray:
        edit.strength = value
        return renderer.render(renderer.request()).image

    for value in (0.05, 0.1):  # warm-up: kernels, cached weights and photo
        slider_step(value)
    samples = []
    for k in range(steps):
        sync(device)
        start = time.perf_counter()
        image = slider_step(0.15 + 0.01 * k)
        samples.append((time.perf_counter() - start) * 1000)
    assert image.shape == (resolution, resolution, 3)
    synthesised_per_step = renderer.chunks_synthesised / renderer.renders

    ws = g.mapping(torch.randn(1, g.z_dim, device=device))
    with torch.no_grad():
        limit = time_ms(lambda: images_to_uint8(g.synthesis(ws, force_fp32=renderer.force_fp32)),
                        device, repeats=max(3, min(steps, 30)))
    preview_ms = statistics.median(samples)
    print(json.dumps({
        "benchmark": "edit_preview", **device_info(device), "resolution": resolution,
        "chunks": len(doc.chunks), "precision": "fp32" if renderer.force_fp32 or not cuda
        else "fp16 (top 4 blocks)", "steps": steps,
        "preview_median_ms": round(preview_ms, 3), "preview_min_ms": round(min(samples), 3),
        "chunks_synthesised_per_step": round(synthesised_per_step, 3),
        "synthesis_uint8_median_ms": limit["median_ms"],
        "ratio": round(preview_ms / limit["median_ms"], 3), "ratio_goal": 1.3,
        "previews_per_second": round(1000 / preview_ms, 2),
        "previews_per_second_goal_gpu": 30, "previews_per_second_target_gpu": 60,
    }, indent=2))


if __name__ == "__main__":
    main()
