"""Atomic file writes and same-file checks, shared by every writer in SemEdit."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(stream)` on a temporary file beside `path`, fsync it, rename it over `path`.

    A crash or an error leaves `path` as it was and no temporary file behind; errors
    (OSError, or whatever `write` raises) reach the caller, who words them for the user.
    """
    # open(..., "xb") rather than mkstemp so the file gets the usual umask permissions.
    temporary = path.parent / f".{path.name}.{secrets.token_hex(4)}.part"
    try:
        with open(temporary, "xb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def same_file(a: Path, b: Path) -> bool:
    """True when both paths name one file (symlinks and other spellings included)."""
    with contextlib.suppress(OSError):
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    return a.resolve() == b.resolve()
