"""How long the built-in directions take to compute; prints JSON.

A config-f generator with random weights at 1024² (random weights cost what real ones
do). GANSpace: mapping `--ganspace-samples` z and the PCA, timed whole. Supervised
directions: each face is one synthesis plus one landmark labelling, so the script times
synthesis per face (in batches of 8, as `SupervisedDirectionJob` does) and the landmark
labeller on the sample photo resized to the generator's size (a random-weight face has no
face for dlib to find, which would time only the failed detection), then projects the
total for `--faces` faces (the app's default is 1000). The fit itself (a ridge
regression on 512 numbers per face) is timed on that many random rows.

    python benchmarks/bench_directions.py [--device cuda] [--faces 1000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import device_info, pick_device, sync, time_ms
from core.edit.ganspace import GANSPACE_COMPONENTS, GANSPACE_SAMPLES, ganspace_directions
from core.edit.supervised import fit_direction, landmark_labeller
from core.resources import resource_path
from core.stylegan import Generator, GeneratorConfig, images_to_uint8

BATCH = 8  # SupervisedDirectionJob's default batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--faces", type=int, default=1000)
    parser.add_argument("--ganspace-samples", type=int, default=GANSPACE_SAMPLES)
    parser.add_argument("--repeats", type=int, default=2, help="synthesis batches to time")
    args = parser.parse_args()
    device = pick_device(args.device)
    torch.manual_seed(0)
    g = Generator(GeneratorConfig.config_f(args.resolution)).eval().requires_grad_(False)
    g = g.to(device)

    sync(device)
    start = time.perf_counter()
    ganspace_directions(g, samples=args.ganspace_samples, components=GANSPACE_COMPONENTS)
    sync(device)
    ganspace_s = time.perf_counter() - start

    z = torch.randn(BATCH, g.z_dim, device=device)
    with torch.no_grad():
        batch = time_ms(lambda: images_to_uint8(g.synthesis(g.mapping(z, truncation_psi=0.7),
                                                            noise_mode="const")),
                        device, warmup=1, repeats=args.repeats)
    synthesis_s = batch["median_ms"] / 1000 / BATCH

    photo = Image.open(resource_path("samples", "astronaut.jpg")).convert("RGB")
    face = np.asarray(photo.resize((args.resolution, args.resolution), Image.LANCZOS))
    assert landmark_labeller(face) is not None, "the sample photo should hold a face"
    label = time_ms(lambda: landmark_labeller(face), torch.device("cpu"), warmup=1, repeats=5)
    label_s = label["median_ms"] / 1000

    rng = np.random.default_rng(0)
    w = rng.standard_normal((args.faces, g.w_dim)).astype(np.float32)
    values = w[:, 0] + 0.1 * rng.standard_normal(args.faces)
    start = time.perf_counter()
    fit_direction(w, values, "bench", scale_latents=w)
    fit_s = time.perf_counter() - start

    per_face = synthesis_s + label_s
    print(json.dumps({
        "benchmark": "directions", **device_info(device), "resolution": args.resolution,
        "ganspace_samples": args.ganspace_samples, "ganspace_seconds": round(ganspace_s, 2),
        "synthesis_seconds_per_face": round(synthesis_s, 4),
        "landmark_labelling_seconds_per_face": round(label_s, 4),
        "fit_seconds": round(fit_s, 4), "faces": args.faces,
        "supervised_seconds_projected": round(args.faces * per_face + fit_s, 1),
        "labelling_share": round(label_s / per_face, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
