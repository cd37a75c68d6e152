"""Autosave and crash recovery.

While a document has unsaved changes, the window writes a copy every few seconds to
`<SemEdit data folder>/autosave/<id>.semedit` with a small JSON note beside it (where the
project lives, its title, when, which process). A clean close removes both; files still
there at the next start belong to a session that crashed, and the app offers to recover
them.

Each slot holds a lock file (`<id>.lock`, a `QLockFile`: process id, host and app name)
while its app runs, so a second SemEdit running at the same time never lists, recovers
or deletes the first one's autosave; a lock left by a crashed process is stale and is
taken over.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile

from core.fileio import write_atomically
from core.paths import semedit_home
from core.project import PROJECT_SUFFIX

LOCK_SUFFIX = ".lock"


def autosave_dir() -> Path:
    return semedit_home() / "autosave"


@dataclass(frozen=True)
class Recovery:
    """An autosaved project left by a session that did not close cleanly."""

    project: Path
    note: Path
    title: str
    original: Path | None
    saved_at: float  # seconds since the epoch: when the autosave was written

    @property
    def saved_at_text(self) -> str:
        """When the autosave was made, as the user reads it ("Tue 3 Mar, 14:05")."""
        return time.strftime("%a %d %b, %H:%M", time.localtime(self.saved_at))

    def discard(self) -> None:
        self.project.unlink(missing_ok=True)
        self.note.unlink(missing_ok=True)
        self.project.with_suffix(LOCK_SUFFIX).unlink(missing_ok=True)


class AutosaveSlot:
    """Where one app session autosaves (a fresh id per session), locked while it runs."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder or autosave_dir()
        self.id = uuid.uuid4().hex[:12]
        self.project = self.folder / f"{self.id}{PROJECT_SUFFIX}"
        self.note = self.folder / f"{self.id}.json"
        self.lock_path = self.folder / f"{self.id}{LOCK_SUFFIX}"
        self._lock: QLockFile | None = None

    def prepare(self) -> Path:
        """The file to write the autosave to; the slot is locked from now on."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._lock is None:
            lock = QLockFile(str(self.lock_path))
            lock.setStaleLockTime(0)  # held for the whole session: never stale by age
            if lock.tryLock(0):
                self._lock = lock
        return self.project

    def write_note(self, title: str, original: Path | None) -> None:
        text = json.dumps({"title": title, "original": str(original) if original else None,
                           "saved_at": time.time(), "pid": os.getpid()})
        write_atomically(self.note, lambda stream: stream.write(text.encode("utf-8")))

    def clear(self) -> None:
        """Remove the autosave (saved, or closed cleanly); the lock goes with it."""
        self.project.unlink(missing_ok=True)
        self.note.unlink(missing_ok=True)
        self.release_lock()

    def release_lock(self) -> None:
        """Let go of the lock (the autosave, if any, becomes recoverable by others)."""
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None


def _held_by_a_running_app(project: Path) -> bool:
    """True when another live process holds the slot's lock (its autosave is in use)."""
    lock_path = project.with_suffix(LOCK_SUFFIX)
    if not lock_path.exists():
        return False
    lock = QLockFile(str(lock_path))
    lock.setStaleLockTime(0)
    if lock.tryLock(0):  # nobody alive holds it (a crashed app's stale lock is removed)
        lock.unlock()
        return False
    return True


def pending_recoveries(folder: Path | None = None, *, exclude: AutosaveSlot | None = None
                       ) -> list[Recovery]:
    """Autosaves left behind by apps no longer running, newest first; unreadable notes
    still list their project."""
    folder = folder or autosave_dir()
    if not folder.is_dir():
        return []
    found = []
    for project in folder.glob(f"*{PROJECT_SUFFIX}"):
        if exclude is not None and project == exclude.project:
            continue
        if _held_by_a_running_app(project):
            continue
        note = project.with_suffix(".json")
        title, original, saved_at = project.stem, None, project.stat().st_mtime
        try:
            data = json.loads(note.read_text(encoding="utf-8"))
            title = str(data.get("title") or title)
            original = Path(data["original"]) if data.get("original") else None
            saved_at = float(data.get("saved_at") or saved_at)
        except (OSError, ValueError, TypeError, AttributeError):
            pass
        found.append(Recovery(project, note, title, original, saved_at))
    return sorted(found, key=lambda r: r.saved_at, reverse=True)
