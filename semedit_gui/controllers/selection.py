"""Making chunks without widgets: Segment Anything clicks and automatic face chunks.

Clicks (include, exclude, box) arrive from the canvas as a prompt; each prompt asks the
GPU worker for a candidate mask. One prediction runs at a time and only the newest
prompt waits behind it, so fast clicking never queues stale work. The candidate is added
to the selected chunk or becomes a new chunk; clearing forgets the clicks.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.errors import SemeditError
from semedit_gui import jobs
from semedit_gui.controllers.documents import DocumentController
from semedit_gui.controllers.job_registry import JobRegistry
from semedit_gui.session import EditorSession
from semedit_gui.worker import Task

SAM_KIND = "sam"


class SelectionController(QObject):
    candidate_changed = Signal(object)  # float32 mask in the aligned frame, or None
    prompt_cleared = Signal()  # the clicks were used up or cleared
    message = Signal(str, bool)

    def __init__(self, registry: JobRegistry, documents: DocumentController,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.registry = registry
        self.documents = documents
        self.candidate: np.ndarray | None = None
        self.active = False
        self._pending: tuple | None = None
        self.predictions = 0  # predictions started (tests)
        documents.session_changed.connect(lambda _session: self.clear())

    @property
    def session(self) -> EditorSession | None:
        return self.documents.session

    def set_active(self, active: bool) -> None:
        self.active = active
        if not active:
            self.clear()

    # ----------------------------------------------------------------- clicks

    def prompt(self, points, labels, box) -> None:
        """New clicks: predict now, or after the running prediction."""
        if self.session is None:
            return
        if not points and box is None:
            self._show(None)
            return
        request = (list(points), list(labels), box)
        if self.registry.active(SAM_KIND) is not None:
            self._pending = request
            return
        self._start(request)

    def _start(self, request) -> Task:
        session = self.session
        points, labels, box = request
        self.predictions += 1
        task = self.registry.submit(
            SAM_KIND, "Segment Anything",
            jobs.sam_predict(session.doc.aligned.copy(), points, labels, box),
            on_success=lambda prediction: self._predicted(session, prediction),
            reason="Click selection", quiet=True)
        task.failed.connect(self._failed)
        task.ended.connect(self._ended)
        return task

    def _predicted(self, session: EditorSession, prediction) -> None:
        if session is self.session and self._pending is None:
            mask = prediction.mask.astype(np.float32)
            if not _selects_anything(mask):
                # An empty candidate would make an invisible chunk: say so, offer nothing.
                self.message.emit("Segment Anything selected nothing at these clicks: click "
                                  "inside the object, or drag a box around it.", False)
                mask = None
            self._show(mask)

    def _failed(self, _text: str) -> None:
        self._pending = None  # clicks made while it failed would fail the same way

    def _ended(self) -> None:
        if self._pending is not None and self.session is not None \
                and not self.registry.closing:
            request, self._pending = self._pending, None
            self._start(request)

    def _show(self, mask: np.ndarray | None) -> None:
        self.candidate = mask
        self.candidate_changed.emit(mask)

    # ----------------------------------------------------------------- using the mask

    def add_to_selected_chunk(self) -> None:
        session, mask = self.session, self.candidate
        if session is None or mask is None or not _selects_anything(mask):
            return
        chunk = session.selected
        if chunk is None:
            self.new_chunk()
            return
        try:
            session.chunk_set.set_mask(chunk, np.maximum(chunk.mask, mask),
                                       f"Add selection to {chunk.name}")
        except SemeditError as error:
            self.message.emit(str(error), True)
            return
        self.clear()

    def new_chunk(self) -> None:
        session, mask = self.session, self.candidate
        if session is None or mask is None or not _selects_anything(mask):
            return
        try:
            chunk = session.chunk_set.add(mask)
        except SemeditError as error:
            self.message.emit(str(error), True)
            return
        session.select(chunk)
        self.clear()

    def clear(self) -> None:
        self._pending = None
        self.prompt_cleared.emit()
        self._show(None)

    # ----------------------------------------------------------------- automatic chunks

    def auto_chunks(self) -> Task | None:
        """Face, eyes, mouth, hair and background chunks (SAM when installed, else the
        landmarks)."""
        session = self.session
        if session is None:
            return None

        def add(result: jobs.AutoChunks) -> None:
            if self.session is not session:
                return
            session.chunk_set.add_many(result.masks, "Auto chunks")
            self.message.emit(" ".join([f"Added {len(result.masks)} chunks: "
                                        f"{', '.join(result.masks)}.", *result.notes]), False)

        return self.registry.submit("auto_chunks", "Finding face chunks",
                                    jobs.auto_chunks(session.doc.snapshot()), on_success=add,
                                    reason="Automatic chunks")


def _selects_anything(mask: np.ndarray) -> bool:
    """At least one pixel of the candidate is in the selection (as chunks count it)."""
    return bool(np.any(mask >= 0.5))
