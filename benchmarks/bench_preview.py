"""Fast drag previews against the full render at 1024²: one slider step of the edit
renderer at full resolution and with `PreviewRequest.size` 128, 256 and 512 (the synthesis
stops at that block, the chunk is scaled up), and the bare synthesis of one image up to
each block; prints JSON.

The document is bench_edit's: a config-f generator with random weights, four W+ chunks,
one W edit on the first chunk; a step changes that edit's strength ("edited" mode: that
chunk alone is synthesised).

    python benchmarks/bench_preview.py [--device cuda] [--resolution 1024] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import device_info, pick_device, sync, time_ms
from benchmarks.bench_edit import build
from core.edit.render import EditRenderer
from core.edit.scheduler import PreviewRequest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=3, help="slider steps timed per size")
    args = parser.parse_args()
    device = pick_device(args.device)
    g, doc, direction = build(args.resolution, device)
    renderer = EditRenderer(g, doc, {direction.name: direction})
    edit = doc.chunk(0).edits[0]
    sizes = [s for s in (128, 256, 512) if s < args.resolution] + [None]
    value = 0.05

    def slider_step(size: int | None) -> None:
        nonlocal value
        value += 0.01  # a new strength: the chunk is synthesised again
        edit.strength = value
        result = renderer.render(PreviewRequest.from_document(doc, size=size))
        assert result.chunks_synthesised == 1 and result.size == size

    steps, synthesis = {}, {}
    ws = g.mapping(torch.randn(1, g.z_dim, device=device))
    for size in sizes:
        slider_step(size)  # warm-up
        samples = []
        for _ in range(args.steps):
            sync(device)
            start = time.perf_counter()
            slider_step(size)
            sync(device)
            samples.append((time.perf_counter() - start) * 1000)
        name = str(size or args.resolution)
        steps[name] = round(statistics.median(samples), 1)
        with torch.no_grad():
            synthesis[name] = time_ms(lambda size=size: g.synthesis(ws, max_resolution=size),
                                      device, warmup=1, repeats=args.steps)["median_ms"]
    full = str(args.resolution)
    print(json.dumps({
        "benchmark": "drag_preview", **device_info(device), "resolution": args.resolution,
        "chunks": len(doc.chunks), "steps_per_size": args.steps,
        "slider_step_median_ms": steps, "synthesis_median_ms": synthesis,
        "step_speedup_vs_full": {k: round(steps[full] / v, 2) for k, v in steps.items()},
    }, indent=2))


if __name__ == "__main__":
    main()
