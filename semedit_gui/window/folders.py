"""Where the window's file dialogs start (never the program's folder, the working folder
of the process).

`start_folder(window, kind)`: the folder last chosen for that kind of file in this
session; for Open, else the folder of the file opened or saved last (the recent files);
else the one rule for default folders, `DocumentController.default_folder` (the
project's or photo's folder, the last project's, else Documents, Pictures or home).
"""

from __future__ import annotations

from pathlib import Path

# What each kind of dialog falls back to: DocumentController.default_folder's kinds.
DEFAULT_KIND = {"open": "image", "photos": "image", "output": "image", "masks": "image",
                "recipe": "project"}


def _last_folders(window) -> dict[str, Path]:
    folders = getattr(window, "last_folders", None)
    if folders is None:
        folders = window.last_folders = {}
    return folders


def start_folder(window, kind: str) -> Path:
    last = _last_folders(window).get(kind)
    if last is not None and last.is_dir():
        return last
    if kind == "open" and window.session is None:
        for text in window.settings.recent_files:
            if Path(text).parent.is_dir():
                return Path(text).parent
    return window.documents.default_folder(DEFAULT_KIND[kind])


def remember_folder(window, kind: str, chosen: str | Path) -> None:
    """`chosen`: a file (its folder is kept) or a folder the user picked for `kind`."""
    path = Path(chosen)
    _last_folders(window)[kind] = path if path.is_dir() else path.parent
