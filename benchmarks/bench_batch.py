"""Batch throughput: photos per minute for one process, N local worker processes and Ray
with N actors on this machine; prints JSON.

A generator with random weights written as a real checkpoint (random weights cost what
real ones do), a recipe with one painted chunk (the face's centre), `--steps` inversion
steps with the L2 loss and one GANSpace edit, exported as the full photo. The photos are
crops of the astronaut test image (each aligned, inverted, edited and pasted back, as
`semedit batch` does). Wall time includes starting the workers and loading the models,
so the ratios are what a user sees for `--photos` photos; `steady_photos_per_minute`
counts from the first finished photo. Every mode runs with one torch thread per photo.

    python benchmarks/bench_batch.py [--photos 8] [--steps 20] [--resolution 64]
                                     [--workers 2] [--device cpu] [--no-ray]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import device_info, pick_device
from core.invert import InversionSettings
from core.models.loaded import LoadedModels, ModelChoice
from core.workflows.batch import WorkerSpec, batch
from core.workflows.recipe import Recipe, RecipeEdit, direction_sha256
from tests.checkpoint_writers import random_generator, write_nvidia_pickle


def make_inputs(folder: Path, photos: int, resolution: int, steps: int, device: str
                ) -> tuple[WorkerSpec, Path]:
    generator_path = write_nvidia_pickle(
        random_generator(resolution, w_dim=128, channel=128), folder / "generator.pkl")
    shoot = folder / "shoot"
    shoot.mkdir()
    astronaut = skimage.data.astronaut()
    for i in range(photos):
        Image.fromarray(np.ascontiguousarray(astronaut[3 * i:, 2 * i:])).save(
            shoot / f"p{i:03d}.png")
    choice = ModelChoice(generator=str(generator_path), models_dir=str(folder / "models"),
                         device=device)
    models = LoadedModels(choice)
    generator = models.generator()
    direction = models.directions().get("pc0")  # computed once here, cached for the workers
    mask = np.zeros((resolution, resolution), np.float32)
    mask[resolution // 4: 3 * resolution // 4, resolution // 4: 3 * resolution // 4] = 1
    recipe = Recipe(generator_sha256=generator.source_sha256, resolution=resolution,
                    inversion=InversionSettings(steps=steps), loss="l2",
                    chunk_source="masks", masks={"face": mask},
                    edits={"face": (RecipeEdit("pc0", 1.0, direction_sha256(direction)),)})
    return WorkerSpec(recipe, choice, threads=1), shoot


def measure(spec: WorkerSpec, shoot: Path, output: Path, **how) -> dict:
    start = time.perf_counter()
    first = None
    workflow = batch(spec, [shoot], output, **how)
    while True:
        try:
            progress = next(workflow)
        except StopIteration as finished:
            summary = finished.value
            break
        if progress.outcome is not None and first is None:
            first = time.perf_counter()
    wall = time.perf_counter() - start
    done = summary.counts["done"]
    steady = (done - 1) / (time.perf_counter() - first) * 60 if first and done > 1 else None
    return {"done": done, "failed": summary.counts["failed"], "workers": len(summary.workers),
            "seconds": round(wall, 2), "first_photo_s": round(first - start, 2),
            "photos_per_minute": round(done / wall * 60, 2),
            "steady_photos_per_minute": round(steady, 2) if steady else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp)
        os.environ["SEMEDIT_HOME"] = str(folder / "home")  # the workers share its cache
        spec, shoot = make_inputs(folder, args.photos, args.resolution, args.steps,
                                  args.device)
        results = {"one_process": measure(spec, shoot, folder / "serial")}
        results[f"local_{args.workers}_workers"] = measure(
            spec, shoot, folder / "local", workers=args.workers)
        if not args.no_ray:
            try:
                import ray  # noqa: F401
            except ImportError:
                results["ray"] = "not installed (pip install 'semedit[cluster]')"
            else:
                results[f"ray_{args.workers}_workers"] = measure(
                    spec, shoot, folder / "ray", workers=args.workers, ray_address="auto")
        base = results["one_process"]["photos_per_minute"]
        for result in results.values():
            if isinstance(result, dict):
                result["ratio_to_one_process"] = round(result["photos_per_minute"] / base, 2)
        same = [(folder / mode / f"p{i:03d}.png").read_bytes()
                for mode in ("serial", "local", "ray") for i in range(args.photos)
                if (folder / mode).is_dir()]
        per_mode = len(same) // args.photos
        identical = all(same[i] == same[i + m * args.photos] for m in range(per_mode)
                        for i in range(args.photos))
    print(json.dumps({"benchmark": "batch", "photos": args.photos, "steps": args.steps,
                      "resolution": args.resolution, "cpus": os.cpu_count(),
                      **device_info(pick_device(args.device)),
                      "outputs_identical_across_modes": identical, "results": results},
                     indent=2))


if __name__ == "__main__":
    main()
