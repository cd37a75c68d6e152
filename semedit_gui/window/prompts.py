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


def ask_unsaved_changes(window, title: str) -> str:
    """'save', 'discard' or 'cancel' (`unsaved_changes_box`)."""
    buttons = QMessageBox.StandardButton
    box = unsaved_changes_box(window, title)
    answer = buttons(box.exec())
    box.deleteLater()
    return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")


def unsaved_changes_box(window, title: str) -> QMessageBox:
    """Save the changes to `title`? While the window is quitting (`close_state`
    "asking"), the question also names the work that quitting stops; during an
    inversion, Save keeps its steps so far (it is asked even before anything else
    changed), and with nothing to save the answers are Quit and Cancel."""
    from semedit_gui.window.closing import inversion_running, work_quitting_stops

    buttons = QMessageBox.StandardButton
    running = work_quitting_stops(window) if window.close_state == "asking" else []
    dirty = window.session is not None and window.session.dirty
    if not running:
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"Save the changes to {title}?",
                          buttons.Save | buttons.Discard | buttons.Cancel, window)
        box.setInformativeText("Your changes will be lost if you don't save them.")
        return box
    them = "them" if len(running) > 1 else "it"
    text = f"{' and '.join(running)} {'are' if len(running) > 1 else 'is'} still running. " \
           f"Quitting stops {them}."
    keeps = inversion_running(window)
    choices = (buttons.Save if keeps or dirty else buttons.NoButton) | buttons.Discard \
        | buttons.Cancel
    box = QMessageBox(QMessageBox.Icon.Warning, "Quit while work is running", text,
                      choices, window)
    if keeps:
        box.button(buttons.Save).setText("Stop and Save")
        box.setInformativeText("Stop and Save keeps the inversion's steps so far (as Stop "
                               "does) and saves them in the project; Quit without Saving "
                               "loses them" + (" and your other changes." if dirty else "."))
    elif dirty:
        box.setInformativeText(f"Save keeps your changes to {title}; Quit without Saving "
                               "loses them.")
    box.button(buttons.Discard).setText("Quit without Saving" if keeps or dirty else "Quit")
    box.setDefaultButton(buttons.Cancel)  # Enter never throws work away
    return box


def ask_open_path(window) -> Path | None:
    """File ▸ Open's dialog, started where the user last opened or saved a file."""
    from semedit_gui.window.folders import remember_folder, start_folder

    path, _ = QFileDialog.getOpenFileName(window, "Open a photo or project",
                                          str(start_folder(window, "open")), OPEN_FILTER)
    if not path:
        return None
    remember_folder(window, "open", path)
    return Path(path)


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
