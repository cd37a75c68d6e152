"""The questions the window asks: unsaved changes, where to save, recover an autosave."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from core.imageio import PHOTO_SUFFIXES
from core.project import PROJECT_SUFFIX
from semedit_gui.autosave import Recovery

OPEN_FILTER = ("Photos and projects (*.semedit " + " ".join(f"*{s}" for s in PHOTO_SUFFIXES)
               + ");;SemEdit projects (*.semedit);;All files (*)")


def dropped_path(mime) -> Path | None:
    """The first photo or project among the files of a drag (None: nothing we open)."""
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in (*PHOTO_SUFFIXES, PROJECT_SUFFIX):
                return path
    return None


def ask_unsaved_changes(parent, title: str) -> str:
    """'save', 'discard' or 'cancel'."""
    buttons = QMessageBox.StandardButton
    box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                      f"Save the changes to {title}?",
                      buttons.Save | buttons.Discard | buttons.Cancel, parent)
    box.setInformativeText("Your changes will be lost if you don't save them.")
    answer = buttons(box.exec())
    box.deleteLater()
    return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")


def ask_save_path(parent, suggested: Path) -> Path | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Save project", str(suggested),
                                          "SemEdit projects (*.semedit)")
    if not path:
        return None
    path = Path(path)
    return path if path.suffix == PROJECT_SUFFIX else path.with_name(path.name + PROJECT_SUFFIX)


def ask_recover(parent, found: list[Recovery]) -> bool:
    """Offer the newest autosave of a session that did not close properly."""
    newest = found[0]
    older = f" ({len(found) - 1} older autosaves are kept too.)" if len(found) > 1 else ""
    answer = QMessageBox.question(
        parent, "Recover unsaved work", f"SemEdit did not close properly last time. Recover "
        f"“{newest.title}”, autosaved {newest.saved_at_text}?{older}")
    return answer == QMessageBox.StandardButton.Yes
