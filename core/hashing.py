"""File digests (sha256, optionally md5), computed block by block.

Models are bound to projects and to the store by content, so hashing sits at the bottom
of core: the network loaders, the model store and the downloader all use it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from core.jobs import JobControl

HASH_BLOCK_SIZE = 1 << 20


@dataclass(frozen=True)
class FileDigests:
    size: int
    sha256: str
    md5: str | None = None


class StreamHasher:
    """sha256 (and md5 when asked) of a byte stream fed block by block."""

    def __init__(self, with_md5: bool):
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False) if with_md5 else None

    def update(self, data: bytes) -> None:
        self.size += len(data)
        self._sha256.update(data)
        if self._md5 is not None:
            self._md5.update(data)

    def digests(self) -> FileDigests:
        md5 = self._md5.hexdigest() if self._md5 is not None else None
        return FileDigests(size=self.size, sha256=self._sha256.hexdigest(), md5=md5)


def hash_file(
    path: Path, *, with_md5: bool = False, control: JobControl | None = None
) -> FileDigests:
    """Hash a file of any size block by block (it is never read whole).

    A stop through `control` raises `JobCancelled` between blocks.
    """
    return hash_into(StreamHasher(with_md5), path, control).digests()


def hash_into(hashes: StreamHasher, path: Path, control: JobControl | None) -> StreamHasher:
    """Feed the whole file at `path` to `hashes`, checking `control` between blocks."""
    with open(path, "rb") as stream:
        while block := stream.read(HASH_BLOCK_SIZE):
            if control is not None:
                control.check(f"Checking {path.name}")
            hashes.update(block)
    return hashes


def check_digests(
    digests: FileDigests,
    *,
    size: int | None = None,
    sha256: str | None = None,
    sha256_prefix: str | None = None,
    md5_prefix: str | None = None,
) -> list[str]:
    """Every way `digests` differs from what is expected, as short phrases (empty: all good)."""
    problems = []
    if size is not None and digests.size != size:
        problems.append(f"it is {digests.size} bytes, expected {size}")
    if sha256 and digests.sha256 != sha256.lower():
        problems.append(f"sha256 is {digests.sha256}, expected {sha256.lower()}")
    if sha256_prefix and not digests.sha256.startswith(sha256_prefix.lower()):
        problems.append(f"sha256 is {digests.sha256}, expected {sha256_prefix.lower()}…")
    if md5_prefix and not (digests.md5 or "").startswith(md5_prefix.lower()):
        problems.append(f"md5 is {digests.md5}, expected {md5_prefix.lower()}…")
    return problems
