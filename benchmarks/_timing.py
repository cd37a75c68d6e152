"""Shared timing helpers for the benchmark scripts (they print JSON)."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable

import torch


def pick_device(name: str | None = None) -> torch.device:
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ms(fn: Callable[[], object], device: torch.device, *, warmup: int = 2,
            repeats: int = 5) -> dict:
    """Median and min wall time of `fn` in milliseconds, the device synchronised."""
    for _ in range(warmup):
        fn()
    sync(device)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        samples.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(samples), 3), "min_ms": round(min(samples), 3),
            "repeats": repeats}


def device_info(device: torch.device) -> dict:
    info = {"device": str(device), "torch": torch.__version__, "cpu": platform.processor()
            or platform.machine(), "threads": torch.get_num_threads()}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
