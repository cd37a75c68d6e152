"""Paint the hair photo's hair inside the app (the hair transfer's second photo).

The hair photo is shown aligned exactly as the transfer aligns it, in a canvas of its own
with one chunk, "hair": Segment Anything's hair when it found some, else empty. The
brush, eraser and fill paint it as in the main canvas, with undo; "Use This Mask" hands
the mask to the Hair panel. The open project is not touched.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
)

from core.project import Document
from core.segment.brush import MAX_BRUSH_SIZE
from semedit_gui.canvas import CanvasView
from semedit_gui.session import EditorSession

PAINT_TOOLS = (("brush", "Brush", "P"), ("eraser", "Eraser", "E"), ("fill", "Fill", "G"))


class HairMaskDialog(QDialog):
    def __init__(self, doc: Document, start: np.ndarray | None, *, title: str,
                 notes: list[str] | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Paint the hair of {title}")
        self.resize(760, 820)
        size = doc.resolution
        doc.add_chunk(np.zeros((size, size), np.float32) if start is None
                      else np.clip(np.asarray(start, np.float32), 0, 1), name="hair")
        self.session = EditorSession(doc, parent=self)
        found = start is not None and float(np.max(start)) > 0
        intro = ("Segment Anything's hair is shown; correct it with the brush and eraser."
                 if found else "Paint the hair with the brush (P); the eraser (E) and fill "
                 "(G) correct it.")
        self.intro = QLabel(" ".join([f"{title}, aligned as the transfer will use it.", intro,
                                      *(notes or [])]))
        self.intro.setWordWrap(True)
        self.canvas = CanvasView(self)
        self.canvas.set_session(self.session)
        self.canvas.set_image(doc.aligned)
        self.canvas.set_brush(replace(self.canvas.brush, size=max(2.0, size / 16)))
        self.canvas.message.connect(lambda text: self.status.setText(text))

        tools = QHBoxLayout()
        group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, text, key in PAINT_TOOLS:
            action = QAction(f"{text} ({key})", self, checkable=True)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(lambda _=False, n=name: self.canvas.set_tool(n))
            group.addAction(action)
            button = QToolButton()
            button.setDefaultAction(action)
            tools.addWidget(button)
            self.tool_actions[name] = action
        self.tool_actions["brush"].setChecked(True)
        self.canvas.set_tool("brush")
        self.size = QSpinBox(minimum=1, maximum=int(MAX_BRUSH_SIZE), suffix=" px")
        self.size.setToolTip("Brush size in pixels of the aligned photo")
        self.size.setValue(round(self.canvas.brush.size))
        self.size.valueChanged.connect(lambda v: self.canvas.set_brush(
            replace(self.canvas.brush, size=float(v))))
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(lambda: self.session.chunk_set.clear("hair"))
        self.undo_button = QPushButton("Undo")
        self.undo_button.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_button.clicked.connect(self._undo)
        tools.addWidget(QLabel(" Size"))
        tools.addWidget(self.size)
        tools.addWidget(self.clear_button)
        tools.addWidget(self.undo_button)
        tools.addStretch(1)
        self.status = QLabel("")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button = self.buttons.addButton("Use This Mask",
                                                 QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._use)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(tools)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)

    def mask(self) -> np.ndarray:
        """The painted hair, float32 [R, R] in 0..1 (a copy)."""
        return self.session.doc.chunk("hair").mask.copy()

    def _undo(self) -> None:
        history = self.session.doc.history
        # The chunk itself is the first step: undo only the painting after it.
        if history.can_undo and history.index > 1 and not self.canvas.painting:
            history.undo()

    def _use(self) -> None:
        if float(self.mask().max()) <= 0:
            self.status.setText("The mask is empty: paint the hair first.")
            return
        self.accept()
