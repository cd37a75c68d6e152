"""Time and memory of face alignment and paste-back on 12-megapixel photos; prints JSON.

Two 4000×3000 photos made from skimage's astronaut:

* `face_inside`: the portrait enlarged to 3000×3000 on a grey canvas; the face is about
  1000 pixels across and its FFHQ square lies inside the photo (the common case, and the
  one the goal is about);
* `closeup_at_edge`: a 16× close-up whose FFHQ square (2800 pixels) reaches beyond the
  photo, so the reflect-padding step runs on a 22-megapixel canvas.

Each run aligns to 1024² and pastes back an edited disc over the lower face. Memory is the
growth of the peak resident set during the runs (VmHWM, reset after the photo is built) and
the tracemalloc peak (numpy arrays only; Pillow's and OpenCV's buffers are not traced).

    .venv/bin/python benchmarks/bench_faces.py [--repeats 3] [--output-size 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import skimage.data

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.face import align_face, detect_faces, ffhq_quad, paste_back

GOAL_SECONDS = 1.5
GOAL_BYTES = 1 << 30


def face_inside_photo() -> np.ndarray:
    face = cv2.resize(skimage.data.astronaut(), (3000, 3000), interpolation=cv2.INTER_CUBIC)
    canvas = np.full((3000, 4000, 3), 128, dtype=np.uint8)
    canvas[:, 500:3500] = face
    return canvas


def closeup_at_edge_photo() -> np.ndarray:
    head = skimage.data.astronaut()[40:240, 120:370]
    closeup = cv2.resize(head, None, fx=16, fy=16, interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(closeup[200:3200, 0:4000])


SCENARIOS: dict[str, Callable[[], np.ndarray]] = {
    "face_inside": face_inside_photo,
    "closeup_at_edge": closeup_at_edge_photo,
}


def edited_region(size: int) -> np.ndarray:
    """A disc over the lower face, like the union of a few edited chunks."""
    ys, xs = np.mgrid[:size, :size]
    disc = (xs - size * 0.5) ** 2 + (ys - size * 0.62) ** 2 < (size * 0.2) ** 2
    return disc.astype(np.float32)


def resident_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Linux: make VmHWM start again from the current resident size."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def run_once(photo: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, size: int) -> dict:
    """Wall-clock seconds, and CPU seconds of all threads (robust to a busy machine)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    aligned, transform = align_face(photo, landmarks, output_size=size)
    align_s = time.perf_counter() - start
    cpu_s = time.process_time() - cpu_start
    edited = aligned.copy()
    edited[mask > 0] = 255 - edited[mask > 0]
    start, cpu_start = time.perf_counter(), time.process_time()
    result = paste_back(photo, edited, transform, mask)
    paste_back_s = time.perf_counter() - start
    cpu_s += time.process_time() - cpu_start
    assert result.shape == photo.shape
    return {
        "align_s": align_s,
        "paste_back_s": paste_back_s,
        "total_s": align_s + paste_back_s,
        "cpu_s": cpu_s,
    }


def measure(name: str, repeats: int, output_size: int) -> dict:
    photo = SCENARIOS[name]()
    started = time.perf_counter()
    faces = detect_faces(photo)
    detect_s = time.perf_counter() - started
    landmarks = faces[0].landmarks
    mask = edited_region(output_size)

    rss_reset = reset_peak_rss()
    baseline_kib = resident_kib("VmRSS")
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    runs = [run_once(photo, landmarks, mask, output_size) for _ in range(repeats)]
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_kib = resident_kib("VmHWM")
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if rss_reset and peak_kib is not None and baseline_kib is not None:
        peak_growth = (peak_kib - baseline_kib) * 1024
    else:  # ru_maxrss only shows growth beyond the earlier peak: a lower bound
        peak_growth = (maxrss_after - maxrss_before) * 1024

    def median(key: str) -> float:
        return round(statistics.median(run[key] for run in runs), 3)

    total = median("total_s")
    return {
        "photo_px": [photo.shape[1], photo.shape[0]],
        "megapixels": photo.shape[0] * photo.shape[1] / 1e6,
        "face_qsize_px": round(ffhq_quad(landmarks)[1], 1),
        "detect_s": round(detect_s, 3),
        "runs": [{key: round(value, 3) for key, value in run.items()} for run in runs],
        "align_s_median": median("align_s"),
        "paste_back_s_median": median("paste_back_s"),
        "total_s_median": total,
        "cpu_s_median": median("cpu_s"),
        "peak_rss_growth_mb": round(peak_growth / 2**20, 1),
        "peak_rss_measured_with": "VmHWM reset" if rss_reset else "ru_maxrss delta",
        "tracemalloc_peak_mb": round(traced_peak / 2**20, 1),
        "meets_goal": total < GOAL_SECONDS and peak_growth < GOAL_BYTES,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output-size", type=int, default=1024)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), action="append")
    args = parser.parse_args()

    report = {
        "cpu_count": os.cpu_count(),
        "output_size": args.output_size,
        "goal": {"total_s": GOAL_SECONDS, "peak_memory_mb": GOAL_BYTES / 2**20},
        "scenarios": {
            name: measure(name, args.repeats, args.output_size)
            for name in (args.scenario or list(SCENARIOS))
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
