"""glibc's malloc settings that decide whether big freed tensors stay in the process.

Free of torch imports: the `semedit` launcher calls `use_one_arena()` before torch or
Qt start any thread. `core.invert.memory.freed_memory_kept()` uses the other settings.

glibc gives each new thread an arena of its own (up to 8 per core); such an arena
grows in 64 MB heaps, so every block above that size (a 1024² activation is 128 MB) is
a fresh mmap, faulted in and zeroed page by page and unmapped again on free, whatever
`M_MMAP_MAX` says. With one arena every thread
allocates from the main heap, which keeps freed blocks while a job runs. A thread
keeps the arena it was given, so the setting must come before the threads start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
M_ARENA_MAX = -8
DEFAULT_TRIM_THRESHOLD = 128 * 1024
DEFAULT_MMAP_MAX = 65536
ARENA_MAX_VARIABLE = "MALLOC_ARENA_MAX"  # glibc reads it itself when the process starts


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - raises AttributeError on musl
        return libc
    except (OSError, AttributeError):
        return None


LIBC = _glibc()


def use_one_arena() -> bool:
    """All threads started from now on allocate from the main arena; whether it applies
    (glibc only, and not when the user set MALLOC_ARENA_MAX)."""
    if LIBC is None or ARENA_MAX_VARIABLE in os.environ:
        return False
    return bool(LIBC.mallopt(M_ARENA_MAX, 1))
