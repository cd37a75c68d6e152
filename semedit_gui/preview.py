"""Live preview: document changes become render requests, latest wins, results come back.

The UI thread submits an immutable `PreviewRequest` to a `LatestWins` slot and makes sure
one "pump" task is queued on the GPU worker; the pump takes the newest request, renders it
with an `EditRenderer` that lives on the worker, and returns the image. A result whose
request is no longer the newest wanted state is dropped, so a fast slider drag shows a few
intermediate states and always the last one.

The renderer reads masks and the photo from a document snapshot, taken on the UI thread
only when `EditorSession.revision` changed (painting, undo, a new inversion); codes and
edits travel inside the request itself.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from core.edit.scheduler import MODES, LatestWins, PreviewRequest
from core.project import Document
from semedit_gui.jobs import check_generator
from semedit_gui.session import EditorSession
from semedit_gui.worker import GpuWorker, Task


class PreviewController(QObject):
    rendered = Signal(object)  # RenderResult, only the newest wanted state
    failed = Signal(str)

    def __init__(self, worker: GpuWorker, parent: QObject | None = None):
        super().__init__(parent)
        self.worker = worker
        self.session: EditorSession | None = None
        self.mode = "edited"
        self.split: float | None = None
        self.last_result = None
        self.last_render_seconds: float | None = None
        self._latest = LatestWins()
        self._snapshot: tuple[int, Document] | None = None  # (revision, copy) for the worker
        self._pump_queued = False
        self._worker_state: dict = {}  # touched on the worker thread only
        worker.register_cache(self._worker_state)  # its renderer holds the generator

    def set_session(self, session: EditorSession | None) -> None:
        if self.session is not None:
            self.session.document_changed.disconnect(self.refresh)
        self.session = session
        self._snapshot = None
        self.last_result = None
        self._latest = LatestWins()  # results of the old document are stale from now on
        if session is not None:
            session.document_changed.connect(self.refresh)
            self.refresh()

    def set_mode(self, mode: str, split: float | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown preview mode {mode!r}")
        self.mode, self.split = mode, split
        self.refresh()

    @property
    def can_render(self) -> bool:
        s = self.session
        return s is not None and s.inverted

    def refresh(self) -> None:
        """Ask for a render of the document as it is now (skipped when nothing changed)."""
        session = self.session
        if session is None or not session.inverted:
            return
        doc = session.doc
        if self._snapshot is None or self._snapshot[0] != session.revision:
            self._snapshot = (session.revision, doc.snapshot())
        request = PreviewRequest.from_document(doc, mode=self.mode, split=self.split,
                                               revision=session.revision)
        if self._latest.submit(request):
            self._queue_pump()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Tests: block until the worker has nothing of ours pending (signals may follow)."""
        return self._latest.wait_idle(timeout)

    # ----------------------------------------------------------------- UI thread

    def _queue_pump(self) -> None:
        if self._pump_queued:
            return
        self._pump_queued = True
        latest, snapshot = self._latest, self._snapshot
        task = Task("Rendering the preview", lambda models, t: self._pump(models, latest,
                                                                          snapshot), self)
        task.succeeded.connect(lambda result: self._on_rendered(latest, result))
        task.failed.connect(self.failed)
        task.ended.connect(lambda: self._on_pump_ended(latest))
        self.worker.submit(task)

    def _on_rendered(self, latest: LatestWins, result) -> None:
        if result is None or latest is not self._latest or latest.is_stale(result.request_id):
            return
        self.last_result = result
        self.last_render_seconds = result.seconds
        self.rendered.emit(result)

    def _on_pump_ended(self, latest: LatestWins) -> None:
        if latest is not self._latest:
            return
        self._pump_queued = False
        if latest.pending is not None and self.worker.accepting:  # not while closing
            self._queue_pump()

    # ----------------------------------------------------------------- worker thread

    def _pump(self, models, latest: LatestWins, snapshot_at_queue):
        request = latest.take(timeout=0)
        if request is None:
            return None
        snapshot = self._snapshot if latest is self._latest else snapshot_at_queue
        if snapshot is None or snapshot[0] != request.revision:
            latest.done(request, rendered=False)  # a newer snapshot's request will follow
            return None
        try:
            renderer = self._renderer(models, snapshot[1])
            started = time.perf_counter()
            result = renderer.render(request)
            self._worker_state["seconds"] = time.perf_counter() - started
        except BaseException:
            latest.done(request, rendered=False)
            raise
        latest.done(request)
        return result

    def _renderer(self, models, doc: Document):
        from core.edit.render import EditRenderer

        generator = models.generator()
        state = self._worker_state
        renderer = state.get("renderer")
        if renderer is None or renderer.generator is not generator:
            check_generator(doc, generator)
            renderer = EditRenderer(generator, doc, models.directions().get)
            state["renderer"] = renderer
        elif renderer.doc is not doc:
            check_generator(doc, generator)
            renderer.doc = doc
        return renderer
