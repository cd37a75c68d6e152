"""Streaming file hashes (model files are hundreds of megabytes: never read them whole)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path


def file_sha256(path: str | Path, chunk_size: int = 1 << 20,
                progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(chunk_size):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.hexdigest()
