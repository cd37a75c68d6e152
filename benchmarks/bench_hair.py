"""Wall time of one hair transfer (`HairTransferJob`, default settings); prints JSON.

A config-f generator with random weights (they cost exactly what real ones do), LPIPS
with a random VGG16 backbone (same cost as the real one), two planted "photos" A = G(w_A)
and B = G(w_B), and chunk masks like the automatic ones: background, face, hair, eyes,
mouth. Everything a real transfer computes is timed: both inversions (W+, LPIPS+L2),
pose matching (every render goes through dlib's detector, as real renders do; the pose
itself is read from the render's brightness, because random weights draw no face, so the
search runs its real course of renders), relighting, the joint refinement, composition,
the metrics (dlib identity descriptors, LPIPS). Goal: under 20 s on an H100 at 1024².

    python benchmarks/bench_hair.py                          # CUDA: 1024², the defaults
    python benchmarks/bench_hair.py --resolution 64 --steps 10 --refine-steps 5 --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import device_info, pick_device, sync
from benchmarks.bench_invert import random_lpips
from core.edit.directions import Direction
from core.face.align import centre_crop_transform
from core.face.landmarks import detect_faces
from core.face.prepare import PreparedPhoto
from core.hair import HairTransferJob, HairTransferSettings, Pose
from core.hair.chunks import TransferChunks, partition
from core.hair.pose import POSE_DETECTION_SIDE
from core.stylegan import Generator, GeneratorConfig, images_to_uint8

GOAL_SECONDS = 20.0


def ellipse(size: int, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size] / size
    return ((((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2) <= 1).astype(np.float32)


def chunk_masks(size: int, hair_top: float, hair_sides: float) -> TransferChunks:
    """Face oval, eyes, mouth and hair (a cap over the forehead and locks beside the
    cheeks) where FFHQ-aligned faces have them."""
    hair = ellipse(size, 0.5, 0.22, 0.36, hair_top)
    for x in (0.27, 0.73):
        hair = np.maximum(hair, ellipse(size, x, 0.5, 0.07, hair_sides))
    face = ellipse(size, 0.5, 0.55, 0.2, 0.27)
    eyes = np.maximum(ellipse(size, 0.4, 0.47, 0.045, 0.02), ellipse(size, 0.6, 0.47, 0.045,
                                                                    0.02))
    mouth = ellipse(size, 0.5, 0.7, 0.07, 0.03)
    return TransferChunks(partition({"face": face, "hair": hair, "eyes": eyes,
                                     "mouth": mouth}), None)


def estimator(image: np.ndarray) -> Pose:
    """dlib's detection (the real cost), then a stand-in pose from the render itself."""
    detect_faces(image, max_side=POSE_DETECTION_SIDE)
    grey = image.astype(np.float64).mean(2) / 255
    half = grey.shape[1] // 2
    return Pose(float(grey[:, :half].mean() - grey[:, half:].mean()),
                float(grey[: grey.shape[0] // 2].mean() - grey[grey.shape[0] // 2 :].mean()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--resolution", type=int, default=None,
                        help="default 1024 on CUDA, 64 on CPU")
    parser.add_argument("--steps", type=int, default=HairTransferSettings.inversion_steps,
                        help="inversion steps per photo (default %(default)s)")
    parser.add_argument("--refine-steps", type=int,
                        default=HairTransferSettings.refine_steps)
    parser.add_argument("--fp32", action="store_true", help="no fp16 blocks on CUDA")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 avoids OpenMP stalls on a shared machine)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    cuda = device.type == "cuda"
    resolution = args.resolution or (1024 if cuda else 64)

    torch.manual_seed(0)
    g = Generator(GeneratorConfig.config_f(resolution)).eval().requires_grad_(False).to(device)
    lpips = random_lpips(device)
    with torch.no_grad():
        ws = g.mapping(torch.randn(2, g.z_dim, device=device), truncation_psi=0.7)
        a, b = images_to_uint8(g.synthesis(ws))
    rng = np.random.default_rng(0)
    yaw = Direction("yaw", "w", rng.standard_normal(g.w_dim).astype(np.float32), 2.0)
    pitch = Direction("pitch", "w", rng.standard_normal(g.w_dim).astype(np.float32), 2.0)
    transform = centre_crop_transform((resolution, resolution), resolution)
    settings = HairTransferSettings(inversion_steps=args.steps, refine_steps=args.refine_steps,
                                    force_fp32=args.fp32,
                                    preview_every_steps=max(args.steps, args.refine_steps, 1))
    job = HairTransferJob(g, PreparedPhoto(a, transform, None),
                          PreparedPhoto(b, transform, None),
                          chunk_masks(resolution, 0.16, 0.25), chunk_masks(resolution, 0.13, 0.3),
                          settings, lpips=lpips, pose_directions={"yaw": yaw, "pitch": pitch},
                          pose_estimator=estimator)
    stages: dict[str, float] = {}
    sync(device)
    start = last = time.perf_counter()
    stage = None
    for progress in job.run():
        if progress.stage != stage:
            sync(device)
            now = time.perf_counter()
            if stage is not None:
                stages[stage] = stages.get(stage, 0.0) + now - last
            stage, last = progress.stage, now
    sync(device)
    end = time.perf_counter()
    stages[stage] = stages.get(stage, 0.0) + end - last
    result = job.result()
    seconds = end - start
    searches = result.pose.searches if result.pose else []
    print(json.dumps({
        "benchmark": "hair_transfer", **device_info(device), "resolution": resolution,
        "precision": "fp32" if args.fp32 or not cuda else "fp16 (top 4 blocks)",
        "chunks_a": len(job.names_a), "inversion_steps": args.steps,
        "refine_steps": args.refine_steps,
        "pose_renders": sum(s.evaluations for s in searches),
        "seconds": round(seconds, 2),
        "stage_seconds": {k: round(v, 2) for k, v in stages.items()},
        "job_seconds": result.metrics["seconds"],
        "goal_seconds_h100_1024": GOAL_SECONDS,
        "goal_met": (seconds < GOAL_SECONDS) if cuda and resolution == 1024 else None,
    }, indent=2))


if __name__ == "__main__":
    main()
