"""The start page shown while no document is open.

On a first run (no generator installed) it says what SemEdit needs, how big it is and
under which licence, and offers the download or the import of a file the user already
has; it always offers the sample photo and the recent projects, so one click shows the
whole workflow.
"""

from __future__ import annotations

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

from core.errors import SemeditError
from core.models import ModelStore, format_bytes
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

    # ----------------------------------------------------------------- content

    def refresh(self, store: ModelStore | None, generator_choice: str,
                recent: list[str]) -> None:
        """Show which models are installed and the recent projects."""
        _clear(self.models_layout)
        self.model_rows = {}
        self.generator_ready = False
        if store is None:
            self.models_layout.addWidget(QLabel("The model list could not be read."))
        else:
            self.generator_ready = self._generator_ready(store, generator_choice)
            heading = ("<b>Models</b> — ready to edit." if self.generator_ready else
                       "<b>Before you start</b>: SemEdit needs a StyleGAN2 face generator. "
                       "It is downloaded once and stays on this computer.")
            self.heading = QLabel(heading)
            self.heading.setWordWrap(True)
            self.models_layout.addWidget(self.heading)
            for kind in ("generator", "sam", "vgg"):
                try:
                    status = store.status(store.manifest.default_for(kind).id)
                except SemeditError:
                    continue
                ready = status.installed or (kind == "generator" and self.generator_ready)
                self.models_layout.addLayout(self._model_row(kind, status, ready))
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

    def _generator_ready(self, store: ModelStore, choice: str) -> bool:
        try:
            store.resolve(choice or None, "generator")
        except SemeditError:
            return False
        return True

    def _model_row(self, kind: str, status, ready: bool) -> QHBoxLayout:
        asset = status.asset
        size = format_bytes(asset.size) if asset.size else "size not published"
        text = QLabel(f"{'✔' if ready else '•'} <b>{asset.id}</b> ({size}, {asset.licence})"
                      f"<br><small>{NEEDS[kind]}</small>")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        self.model_rows[kind] = text
        row = QHBoxLayout()
        row.addWidget(text, 1)
        if not ready:
            download = QPushButton("Download")
            download.clicked.connect(lambda: self.download_requested.emit(asset.id))
            have = QPushButton("I already have the file…")
            have.clicked.connect(lambda: self.import_requested.emit(asset.id))
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
