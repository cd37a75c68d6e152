"""Memory of an inversion step: what it needs, what the machine has, and freed memory kept.

A batched step keeps every chunk's activations for the backward pass at once (about
3.4 GB per chunk for a 1024² config-f generator on the CPU); the chunk-sequential step
keeps one chunk's; in between, chunks go through the gradient passes in groups.
`chunks_per_pass` sizes the group from `activation_bytes_per_chunk` and `available_bytes`.

`freed_memory_kept()` stops glibc from handing large freed blocks back to the kernel
while a job runs. Without it every tensor above the mmap threshold is a fresh mmap
that the kernel must fault in and zero page by page, and then unmap again: a 3-chunk 1024²
step touched ~68 GB of fresh pages and spent about half its CPU time in the kernel.
With it the next step reuses the same memory. It acts on glibc's main arena: on work in
the process's main thread (the CLI, the benchmarks), and in threads started after
`core.glibc_malloc.use_one_arena()` (the `semedit` launcher calls it first thing, so the
app's worker thread allocates from the main arena too); any other thread has an arena
of its own, which mmaps such blocks regardless.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Literal, get_args

import torch

from core.glibc_malloc import (
    DEFAULT_MMAP_MAX,
    DEFAULT_TRIM_THRESHOLD,
    LIBC,
    M_MMAP_MAX,
    M_TRIM_THRESHOLD,
)
from core.stylegan import Generator

GradientMode = Literal["auto", "batched", "per_chunk"]
GRADIENT_MODES: tuple[GradientMode, ...] = get_args(GradientMode)

# Tensors one modulated 3x3 conv layer keeps for backward per output element (fp32):
# the modulated input, the conv output, noise/bias/activation inputs. Measured with
# saved-tensor hooks on config-f generators (tests/core/test_invert_memory.py).
_SAVED_PER_OUTPUT = 5
# Gradients alive at once while the backward pass crosses the largest layer.
_BACKWARD_LARGEST = 4
# Batched only when its estimate leaves this share of the available memory unused
# (the loss network, the optimiser, the allocator's slack and other programs).
_HEADROOM = 0.3
# With freed memory kept, a batched step's heap outgrows its live tensors (fragmentation):
# 3 chunks at 1024² peaked at 16.3 GB RSS for a 10.3 GB estimate (benchmarks/RESULTS.md).
_BATCHED_HEAP_GROWTH = 1.5


def activation_bytes_per_chunk(generator: Generator) -> int:
    """Estimated bytes one chunk's forward+backward pass adds to a step's peak (fp32)."""
    elements = 0
    largest = 0
    for block in generator.synthesis.blocks():
        r = block.resolution
        for name, layer in block.conv_layers():
            out_ch, in_ch, k, _ = layer.weight.shape
            outputs = out_ch * r * r
            elements += _SAVED_PER_OUTPUT * outputs + out_ch * in_ch * k * k  # + modulated weight
            if name == "conv0":  # up-sampling keeps its input and the transposed conv's output
                elements += in_ch * (r // 2) ** 2 + out_ch * (r + 3) ** 2
            largest = max(largest, outputs)
        elements += 2 * generator.img_channels * r * r  # toRGB output and the up-sampled skip
    return 4 * (elements + _BACKWARD_LARGEST * largest)


def available_bytes(device: torch.device | str) -> int | None:
    """Memory a step may still use on `device`, or None when it cannot be read."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + cached)  # torch's cache is free for this process
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil  # optional: only where it is already installed (macOS, Windows)
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def chunks_per_pass(requested: GradientMode, chunks: int, per_chunk_bytes: int,
                    available: int | None) -> int:
    """How many chunks one gradient pass batches: all ("batched"), one ("per_chunk"), or
    for "auto" the most whose activations fit the available memory (at least one)."""
    if requested == "batched" or chunks <= 1:
        return max(chunks, 1)  # one chunk: the same memory, without the extra forward pass
    if requested == "per_chunk" or available is None:
        return 1  # unknown memory: the pass whose memory does not grow with the chunks
    fitting = int((1.0 - _HEADROOM) * available // (per_chunk_bytes * _BATCHED_HEAP_GROWTH))
    return min(max(fitting, 1), chunks)


# -- glibc: keep freed memory while a job runs -------------------------------------------

_lock = threading.Lock()
_holders = 0


@contextlib.contextmanager
def freed_memory_kept() -> Iterator[bool]:
    """Within the block large freed blocks stay in the heap; on leaving, trim it.

    Yields whether the setting applies (glibc only). Nested and concurrent holders
    share one setting; the last one out restores glibc's defaults.
    """
    global _holders
    if LIBC is None:
        yield False
        return
    with _lock:
        _holders += 1
        if _holders == 1:
            LIBC.mallopt(M_MMAP_MAX, 0)  # big blocks from the heap, not one mmap each
            LIBC.mallopt(M_TRIM_THRESHOLD, 2**31 - 1)  # and the heap never shrinks by itself
    try:
        yield True
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                LIBC.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                LIBC.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
                LIBC.malloc_trim(0)  # hand what the job freed back to the system
