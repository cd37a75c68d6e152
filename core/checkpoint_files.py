"""Telling model files apart by their first bytes, before anything is unpickled."""

from __future__ import annotations

from pathlib import Path

from core.errors import CheckpointError

# torch.save's zip format, and its pre-1.6 format (its magic number pickled at protocol 2).
_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."


def checkpoint_format(path: Path) -> str:
    """"torch" (a torch.save file), "pickle" (another pickle) or "other".

    A missing or empty file raises CheckpointError naming it.
    """
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    with path.open("rb") as f:
        head = f.read(len(_LEGACY_TORCH_MAGIC))
    if not head:
        raise CheckpointError(path, "the file is empty")
    if head.startswith(_ZIP_MAGIC) or head == _LEGACY_TORCH_MAGIC:
        return "torch"
    if head[:1] == b"\x80":
        return "pickle"
    return "other"
