"""The start page shown while no document is open.

On a first run (no generator installed) it says what SemEdit needs, how big it is and
under which licence, and offers the download or the import of a file the user already
has; it always offers the sample photo and the recent projects, so one click shows the
whole workflow.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.models import ModelStore, format_bytes
from core.models.in_use import CHOSEN_FILE, OWN_MODEL, ModelInUse, models_in_use
from core.models.loaded import ModelChoice
from core.resources import resource_path
from semedit_gui.dialogs.help_dialogs import TutorialDialog

SAMPLE_PHOTO = ("samples", "astronaut.jpg")
# What each kind of model is for, in the words the welcome page uses.
NEEDS = {"generator": "Required: turns the photo into editable codes and renders the edits.",
         "sam": "Optional: click selection and better automatic chunks (hair, background).",
         "vgg": "Optional: the LPIPS loss, for sharper inversions than L2."}


def sample_photo() -> Path:
    return resource_path(*SAMPLE_PHOTO)


class WelcomePage(QWidget):
    download_requested = Signal(str)  # asset id
    import_requested = Signal(str)  # asset id
    open_requested = Signal()
    sample_requested = Signal()
    recent_requested = Signal(str)  # path

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("welcomePage")
        title = QLabel("<h1>SemEdit</h1>")
        subtitle = QLabel("Semantic editing of portrait photos: cut the face into chunks, "
                          "invert each into StyleGAN2, and change smile, age, hair or pose "
                          "in one chunk while the rest of the photo stays as it was.")
        subtitle.setWordWrap(True)
        self.models_box = QFrame()
        self.models_box.setObjectName("welcomeModels")
        self.models_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.models_layout = QVBoxLayout(self.models_box)
        self.open_button = QPushButton("Open a photo or project…")
        self.open_button.clicked.connect(self.open_requested)
        self.sample_button = QPushButton("Try the sample photo")
        self.sample_button.setToolTip("The astronaut Eileen Collins (NASA, public domain)")
        self.sample_button.clicked.connect(self.sample_requested)
        self.sample_button.setEnabled(sample_photo().is_file())
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.sample_button)
        buttons.addStretch(1)
        self.recent_box = QVBoxLayout()
        steps = QLabel("<b>How it works</b><ol><li>Open a portrait (drop it here).</li>"
                       "<li>Auto Chunks, or paint chunks with the brush or click them with "
                       "Select (SAM).</li><li>Run the inversion (Inversion panel).</li>"
                       "<li>Add edits to a chunk and move the sliders.</li>"
                       "<li>Export the full photo (Ctrl+E).</li></ol>"
                       "New here? <a href='tutorial'>Read the tutorial</a>: every "
                       "step, with pictures (Help ▸ Tutorial, F1).")
        steps.setWordWrap(True)
        steps.linkActivated.connect(lambda _: TutorialDialog.show_for(self.window()))

        column = QVBoxLayout()
        column.addWidget(title)
        column.addWidget(subtitle)
        column.addSpacing(8)
        column.addWidget(self.models_box)
        column.addLayout(buttons)
        column.addLayout(self.recent_box)
        column.addWidget(steps)
        column.addStretch(1)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        inner = QWidget()
        inner.setLayout(column)
        inner.setMaximumWidth(720)
        outer.addWidget(inner, 4)
        outer.addStretch(1)
        self.model_rows: dict[str, QLabel] = {}
        self.in_use: dict[str, ModelInUse] = {}  # by kind, after refresh

    # ----------------------------------------------------------------- content

    def refresh(self, store: ModelStore | None, choice: ModelChoice,
                recent: list[str]) -> None:
        """Show the models in use (`choice`, the Preferences') and the recent projects."""
        _clear(self.models_layout)
        self.model_rows = {}
        self.in_use = {}
        self.generator_ready = False
        if store is None:
            self.models_layout.addWidget(QLabel("The model list could not be read."))
        else:
            self.in_use = models_in_use(choice, store)
            self.generator_ready = self.in_use["generator"].usable
            heading = ("<b>Models</b> — ready to edit." if self.generator_ready else
                       "<b>Before you start</b>: SemEdit needs a StyleGAN2 face generator. "
                       "It is downloaded once and stays on this computer.")
            self.heading = QLabel(heading)
            self.heading.setWordWrap(True)
            self.models_layout.addWidget(self.heading)
            for model in self.in_use.values():
                self.models_layout.addLayout(self._model_row(store, model))
        _clear(self.recent_box)
        shown = [p for p in recent if Path(p).is_file()][:5]
        if shown:
            self.recent_box.addWidget(QLabel("<b>Recent</b>"))
        for path in shown:
            button = QPushButton(Path(path).name)
            button.setToolTip(path)
            button.setFlat(True)
            button.setStyleSheet("text-align: left;")
            button.clicked.connect(lambda _=False, p=path: self.recent_requested.emit(p))
            self.recent_box.addWidget(button)

    def _model_row(self, store: ModelStore, model: ModelInUse) -> QHBoxLayout:
        if model.asset_id in store.manifest.ids:
            asset = store.manifest.get(model.asset_id)
            size = format_bytes(asset.size) if asset.size else "size not published"
            facts = f"{size}, {asset.licence}"
        else:
            facts = {OWN_MODEL: "your own model", CHOSEN_FILE: "your file"}.get(
                model.origin, "chosen in Preferences")
        fix = "" if model.usable or model.installable else " Change it in Preferences."
        text = QLabel(f"{'✔' if model.usable else '•'} <b>{escape(model.name)}</b> ({facts})"
                      f"<br><small>{NEEDS[model.kind]}<br>{escape(model.status)}{fix}</small>")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setToolTip(str(model.path) if model.path else "")
        self.model_rows[model.kind] = text
        row = QHBoxLayout()
        row.addWidget(text, 1)
        wanted = model.installable  # a download or import would make it usable
        if wanted:
            download = QPushButton("Download")
            download.clicked.connect(lambda: self.download_requested.emit(wanted))
            have = QPushButton("I already have the file…")
            have.clicked.connect(lambda: self.import_requested.emit(wanted))
            row.addWidget(download)
            row.addWidget(have)
        return row


def _clear(layout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item.widget() is not None:
            item.widget().deleteLater()
        elif item.layout() is not None:
            _clear(item.layout())
