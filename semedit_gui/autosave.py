"""Autosave and crash recovery.

While a document has unsaved changes, the window writes a copy every few seconds to
`<SemEdit data folder>/autosave/<id>.semedit` with a small JSON note beside it (where the
project lives, its title, when). A clean close removes both; files still there at the
next start belong to a session that crashed, and the window offers to recover them.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from core.fileio import write_atomically
from core.paths import semedit_home
from core.project import PROJECT_SUFFIX


def autosave_dir() -> Path:
    return semedit_home() / "autosave"


@dataclass(frozen=True)
class Recovery:
    """An autosaved project left by a session that did not close cleanly."""

    project: Path
    note: Path
    title: str
    original: Path | None
    saved_at: float

    def discard(self) -> None:
        self.project.unlink(missing_ok=True)
        self.note.unlink(missing_ok=True)


class AutosaveSlot:
    """Where one window session autosaves (a fresh id per session)."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder or autosave_dir()
        self.id = uuid.uuid4().hex[:12]
        self.project = self.folder / f"{self.id}{PROJECT_SUFFIX}"
        self.note = self.folder / f"{self.id}.json"

    def prepare(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.project

    def write_note(self, title: str, original: Path | None) -> None:
        text = json.dumps({"title": title, "original": str(original) if original else None,
                           "saved_at": time.time()})
        write_atomically(self.note, lambda stream: stream.write(text.encode("utf-8")))

    def clear(self) -> None:
        self.project.unlink(missing_ok=True)
        self.note.unlink(missing_ok=True)


def pending_recoveries(folder: Path | None = None, *, exclude: AutosaveSlot | None = None
                       ) -> list[Recovery]:
    """Autosaves left behind, newest first; unreadable notes still list their project."""
    folder = folder or autosave_dir()
    if not folder.is_dir():
        return []
    found = []
    for project in folder.glob(f"*{PROJECT_SUFFIX}"):
        if exclude is not None and project == exclude.project:
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
