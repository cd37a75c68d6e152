"""The model index: every model file SemEdit has imported, downloaded or been given by
path, by content.

One JSON file (`<models dir>/model_index.json`) records per file its sha256, resolved
path, size, modification time and what it was found to be (kind, architecture). A file
is hashed once per (path, size, mtime): a 360 MB pickle takes about a second to hash, so
asking again for the sha256 of an unchanged file answers from the index. Projects bind
to generators by sha256, and the index is where that sha256 is looked up.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import SemeditError
from core.fileio import write_atomically
from core.hashing import hash_file
from core.jobs import JobControl

INDEX_FILE = "model_index.json"
_INDEX_FORMAT = 1
# The app's GPU worker (loading a generator) and its UI thread (opening a project) both
# record files: one read-modify-write at a time, so neither loses the other's entry.
_WRITING = threading.Lock()


@dataclass(frozen=True)
class ModelFacts:
    """What a model file was found to be when it was read through the app's loaders."""

    kind: str  # generator | sam | vgg | encoder
    summary: str  # e.g. "a 64×64 StyleGAN2 generator (z 16, w 16, 10 ws, 2 mapping layers)"
    architecture: dict[str, Any] = field(default_factory=dict)  # JSON values only


@dataclass(frozen=True)
class IndexEntry:
    path: str
    sha256: str
    size: int
    mtime_ns: int
    kind: str | None = None
    summary: str | None = None
    architecture: dict[str, Any] | None = None

    def is_current(self) -> bool:
        """Whether the file is still there, unchanged (same size and mtime)."""
        stat = _stat(Path(self.path))
        return stat is not None and stat == (self.size, self.mtime_ns)


class ModelIndexError(SemeditError):
    """The index file exists but cannot be read."""


class ModelIndex:
    """The index file of one models folder. Every change is written at once (atomically)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def entries(self) -> list[IndexEntry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            raise ModelIndexError(f"{self.path} cannot be read ({error}); delete it and "
                                  "SemEdit will index the model files again.") from error
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, list):
            raise ModelIndexError(f"{self.path} is damaged; delete it and SemEdit will index "
                                  "the model files again.")
        entries = []
        for item in files:
            try:
                entries.append(IndexEntry(**item))
            except TypeError:
                continue  # an entry written by another version: skip it, it will be redone
        return entries

    def lookup(self, path: str | os.PathLike[str]) -> IndexEntry | None:
        """The entry of this file if it is unchanged since it was indexed."""
        resolved = _resolved(path)
        stat = _stat(resolved)
        if stat is None:
            return None
        for entry in self.entries():
            if entry.path == str(resolved) and (entry.size, entry.mtime_ns) == stat:
                return entry
        return None

    def sha256_of(self, path: str | os.PathLike[str], *,
                  control: JobControl | None = None) -> str:
        """The file's sha256: from the index when the file is unchanged, else hashed (and
        recorded, keeping what is known about the file's architecture)."""
        entry = self.lookup(path)
        if entry is not None:
            return entry.sha256
        resolved = _resolved(path)
        sha256 = hash_file(resolved, control=control).sha256
        self.record(resolved, sha256)
        return sha256

    def record(self, path: str | os.PathLike[str], sha256: str,
               facts: ModelFacts | None = None) -> IndexEntry:
        """Record (or refresh) the entry of `path`; `facts` None keeps known facts of the
        same content."""
        resolved = _resolved(path)
        stat = _stat(resolved)
        if stat is None:
            raise ModelIndexError(f"Cannot index {resolved}: it is not a file.")
        with _WRITING:
            return self._record(resolved, stat, sha256, facts)

    def _record(self, resolved: Path, stat: tuple[int, int], sha256: str,
                facts: ModelFacts | None) -> IndexEntry:
        entries = self.entries()
        if facts is None:
            known = next((e for e in entries if e.sha256 == sha256 and e.kind), None)
            facts = None if known is None else ModelFacts(
                known.kind or "", known.summary or "", known.architecture or {})
        entry = IndexEntry(
            path=str(resolved), sha256=sha256, size=stat[0], mtime_ns=stat[1],
            kind=facts.kind if facts else None, summary=facts.summary if facts else None,
            architecture=dict(facts.architecture) if facts else None)
        kept = [e for e in entries if e.path != entry.path and _stat(Path(e.path)) is not None]
        self._write([*kept, entry])
        return entry

    def find(self, sha256: str) -> list[IndexEntry]:
        """Files with this content that are still there unchanged, newest record last."""
        return [e for e in self.entries() if e.sha256 == sha256 and e.is_current()]

    def _write(self, entries: list[IndexEntry]) -> None:
        document = {"format": _INDEX_FORMAT, "files": [asdict(e) for e in entries]}
        text = json.dumps(document, indent=2) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, lambda stream: stream.write(text.encode("utf-8")))
        except OSError as error:
            raise ModelIndexError(f"Cannot write {self.path}: {error.strerror or error}.") \
                from error


def _resolved(path: str | os.PathLike[str]) -> Path:
    return Path(path).expanduser().resolve()


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns) if path.is_file() else None


__all__ = ["INDEX_FILE", "IndexEntry", "ModelFacts", "ModelIndex", "ModelIndexError"]
