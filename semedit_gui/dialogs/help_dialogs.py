"""Help: the keyboard shortcuts sheet, and About with the models in use and their licences.

Both are built from what the app has now (the window's actions, the Preferences' model
choice and the bundled manifest), so they cannot drift from it.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

import core
from core.errors import SemeditError

MODEL_KINDS = (("generator", "Generator"), ("sam", "Segment Anything"),
               ("vgg", "Perceptual loss (VGG16)"))


def shortcut_rows(window) -> list[tuple[str, str]]:
    """(what, keys) for every action of the window with a shortcut, sorted by name."""
    rows = {}
    for action in window.findChildren(QAction):
        keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                         for k in action.shortcuts() if not k.isEmpty())
        name = action.text().replace("&", "").rstrip("…").strip()
        if keys and name:
            rows[name] = keys
    return sorted(rows.items(), key=lambda row: row[0].lower())


class ShortcutsDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(480, 600)
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["Command", "Keys"])
        for row, (name, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        self.table.resizeColumnsToContents()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        note = QLabel("While painting: Space held pans, the middle button pans, the wheel "
                      "zooms; [ and ] change the brush size.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.table, note, buttons):
            layout.addWidget(widget)


def models_in_use(settings) -> list[tuple[str, str]]:
    """(kind's name, a sentence: which file and under which licence) per model kind."""
    from core.models import load_manifest
    from core.models.loaded import DEFAULT_VGG

    try:
        manifest = load_manifest()
    except SemeditError:
        manifest = None
    choice = settings.model_choice()
    lines = []
    for kind, title in MODEL_KINDS:
        chosen = getattr(choice, kind)
        if chosen is None:
            try:
                chosen = {"vgg": DEFAULT_VGG}.get(kind) or (
                    manifest.default_for(kind).id if manifest is not None else None)
            except SemeditError:
                chosen = None
        asset = None
        if manifest is not None and chosen in manifest.ids:
            asset = manifest.get(chosen)
        if asset is not None:
            lines.append((title, f"{asset.id} (licence: {asset.licence})"))
        elif chosen:
            lines.append((title, f"your file {chosen} (its licence is the file's own)"))
        else:
            lines.append((title, "none chosen"))
    return lines


def about_text(settings) -> str:
    models = "".join(f"<li><b>{title}</b>: {what}</li>"
                     for title, what in models_in_use(settings))
    return (f"<h3>SemEdit {core.__version__}</h3>"
            "<p>Semantic editing of portrait photos with StyleGAN2 (ChunkyGAN): each chunk "
            "of the face gets its own latent code, and edits stay in their chunk.</p>"
            f"<p>Models in use (Preferences and the Model Manager change them):</p><ul>"
            f"{models}</ul><p>The models are not part of SemEdit: each comes under its own "
            "licence, shown above; the NVIDIA FFHQ generator's licence is non-commercial."
            "</p>")
