"""Click selection with Segment Anything: canvas prompts in, a candidate mask out.

The canvas reports the clicks (include, exclude, box); each change asks the GPU worker for
a new mask. Only one prediction runs at a time and only the newest prompt waits behind it,
so fast clicking never queues stale work. Enter (or "Add to chunk") adds the candidate to
the selected chunk, "New chunk" makes a chunk of it, Escape clears the clicks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence

from core.errors import SemeditError
from semedit_gui import jobs
from semedit_gui.session import EditorSession
from semedit_gui.worker import Task


class SamTool(QObject):
    message = Signal(str)
    candidate_changed = Signal(object)  # float32 mask or None

    def __init__(self, window, submit: Callable[..., Task], canvas):
        super().__init__(window)
        self._submit = submit  # MainWindow.submit: runs work on the GPU worker
        self.canvas = canvas
        self.session: EditorSession | None = None
        self.candidate: np.ndarray | None = None
        self._running: Task | None = None
        self._pending: tuple | None = None
        self.active = False
        self.apply_action = QAction("Add Selection to Chunk", window)
        self.apply_action.setShortcut(QKeySequence("Return"))
        self.apply_action.triggered.connect(self.add_to_selected_chunk)
        self.new_chunk_action = QAction("New Chunk from Selection", window)
        self.new_chunk_action.setShortcut(QKeySequence("Shift+Return"))
        self.new_chunk_action.triggered.connect(self.new_chunk)
        self.clear_action = QAction("Clear Selection Clicks", window)
        self.clear_action.setShortcut(QKeySequence("Escape"))
        self.clear_action.triggered.connect(self.clear)
        for action in (self.apply_action, self.new_chunk_action, self.clear_action):
            window.addAction(action)
        self._update_actions()
        canvas.sam_prompt_changed.connect(self.prompt)

    def set_session(self, session: EditorSession | None) -> None:
        self.session = session
        self.clear()

    def set_active(self, active: bool) -> None:
        self.active = active
        if not active:
            self.clear()

    def prompt(self, points, labels, box) -> None:
        """New clicks from the canvas: predict now, or after the running prediction."""
        if self.session is None:
            return
        if not points and box is None:
            self._show(None)
            return
        request = (list(points), list(labels), box)
        if self._running is not None:
            self._pending = request
            return
        self._start(request)

    def _start(self, request) -> None:
        session = self.session
        points, labels, box = request
        # The window's submit reports failures (and offers a missing SAM model).
        task = self._submit("Segment Anything",
                            jobs.sam_predict(session.doc.aligned.copy(), points, labels, box),
                            on_success=lambda prediction: self._predicted(session, prediction),
                            reason="Click selection")
        task.failed.connect(self._failed)
        task.ended.connect(self._ended)
        self._running = task

    def _predicted(self, session: EditorSession, prediction) -> None:
        if session is self.session and self._pending is None:
            self._show(prediction.mask.astype(np.float32))

    def _failed(self, _text: str) -> None:
        self._pending = None  # clicks made while it failed would fail the same way

    def _ended(self) -> None:
        self._running = None
        if self._pending is not None and self.session is not None:
            request, self._pending = self._pending, None
            self._start(request)

    def _show(self, mask: np.ndarray | None) -> None:
        self.candidate = mask
        self.canvas.set_sam_preview(mask)
        self.candidate_changed.emit(mask)
        self._update_actions()

    def _update_actions(self) -> None:
        has = self.candidate is not None
        self.apply_action.setEnabled(has)
        self.new_chunk_action.setEnabled(has)

    # ----------------------------------------------------------------- using the mask

    def add_to_selected_chunk(self) -> None:
        session, mask = self.session, self.candidate
        if session is None or mask is None:
            return
        chunk = session.selected
        if chunk is None:
            self.new_chunk()
            return
        try:
            session.chunk_set.set_mask(chunk, np.maximum(chunk.mask, mask),
                                       f"Add selection to {chunk.name}")
        except SemeditError as error:
            self.message.emit(str(error))
            return
        self.clear()

    def new_chunk(self) -> None:
        session, mask = self.session, self.candidate
        if session is None or mask is None:
            return
        try:
            chunk = session.chunk_set.add(mask)
        except SemeditError as error:
            self.message.emit(str(error))
            return
        session.select(chunk)
        self.clear()

    def clear(self) -> None:
        self._pending = None
        if hasattr(self.canvas, "clear_sam_prompt"):
            self.canvas.clear_sam_prompt()
        self._show(None)
