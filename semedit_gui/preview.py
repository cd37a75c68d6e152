"""Live preview: document changes become render requests, latest wins, results come back.

The UI thread submits an immutable `PreviewRequest` to a `LatestWins` slot and makes sure
one "pump" task is queued on the GPU worker; the pump takes the newest request, renders it
with an `EditRenderer` that lives on the worker, and returns the image. A result whose
request is no longer the newest wanted state is dropped, so a fast slider drag shows a few
intermediate states and always the last one.

The renderer reads masks and the photo from a document snapshot, taken on the UI thread
only when `EditorSession.revision` changed (painting, undo, a new inversion); codes and
edits travel inside the request itself.

The renderer is made through the model provider (`LoadedModels.derived`), keyed by its
precision, so a generator switch releases it with the old generator and a change of the
precision setting gets a new one. The precision is resolved per document: the app's
setting when it forces fp32, otherwise the document's own inversion setting.

While a slider is dragged (the document's history collects one undo group) the requests
ask for a fast `drag_size`² render (the synthesis stops at that block and the chunks are
scaled up); once the drag ends, the full render follows. `render_status` says which one
a result is.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from core.edit.scheduler import MODES, LatestWins, PreviewRequest
from core.project import Document
from semedit_gui.jobs import check_generator
from semedit_gui.session import EditorSession
from semedit_gui.worker import GpuWorker, Task

DRAG_SIZE = 256  # resolution of the chunks while a slider is dragged (a block resolution)
SETTLE_MS = 100  # how often a drag is checked for its end, for the full render


def render_status(result) -> str:
    """Status-bar text saying which render is shown (`RenderResult`)."""
    ms = f"{result.seconds * 1000:.0f} ms"
    if result.size:
        return f"fast {result.size}² preview {ms}, full render on release"
    return f"full render {ms}"


class PreviewController(QObject):
    rendered = Signal(object)  # RenderResult, only the newest wanted state
    failed = Signal(str)

    def __init__(self, worker: GpuWorker, parent: QObject | None = None, *,
                 force_fp32: Callable[[], bool | None] = lambda: None,
                 drag_size: int = DRAG_SIZE):
        super().__init__(parent)
        self.worker = worker
        self.session: EditorSession | None = None
        self.mode = "edited"
        self.split: float | None = None
        self.drag_size = drag_size
        self.last_result = None
        self.last_render_seconds: float | None = None
        self._force_fp32 = force_fp32  # the app's setting: True forces fp32, None as inverted
        self._precision: bool | None = None  # the setting the last request was made with
        self._models = worker.choice  # and the models (another generator renders anew)
        self._latest = LatestWins()
        self._snapshot: tuple[int, Document] | None = None  # (revision, copy) for the worker
        self._pump_queued = False
        self._settle = QTimer(self)  # after a fast drag render: the full one once it ends
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._on_settle)
        # Worker thread only: a weak reference to the renderer last used (tests, memory).
        self.last_renderer: Callable[[], object | None] = lambda: None

    def set_session(self, session: EditorSession | None) -> None:
        if self.session is not None:
            self.session.document_changed.disconnect(self.refresh)
        self.session = session
        self._snapshot = None
        self.last_result = None
        self._settle.stop()
        self._latest = LatestWins()  # results of the old document are stale from now on
        self._pump_queued = False  # a pump of the old slot ends without queueing more
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
        precision, models = self._force_fp32(), self.worker.choice
        if (precision, models) != (self._precision, self._models):
            # the same state must render again, differently
            self._precision, self._models = precision, models
            self._latest = LatestWins()
            self._pump_queued = False  # a pump of the old slot ends without queueing more
        if self._snapshot is None or self._snapshot[0] != session.revision:
            self._snapshot = (session.revision, doc.snapshot())
        dragging = doc.history.in_group and self.drag_size < doc.resolution
        request = PreviewRequest.from_document(doc, mode=self.mode, split=self.split,
                                               revision=session.revision,
                                               size=self.drag_size if dragging else None)
        if dragging:
            self._settle.start()
        if self._latest.submit(request):
            self._queue_pump()

    def _on_settle(self) -> None:
        session = self.session
        if session is None:
            return
        if session.doc.history.in_group:
            self._settle.start()
        else:
            self.refresh()  # the drag ended: the full render

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Tests: block until the worker has nothing of ours pending (signals may follow)."""
        return self._latest.wait_idle(timeout)

    # ----------------------------------------------------------------- UI thread

    def _queue_pump(self) -> None:
        if self._pump_queued:
            return
        self._pump_queued = True
        latest, snapshot, precision = self._latest, self._snapshot, self._precision
        task = Task("Rendering the preview", lambda models, t: self._pump(
            models, latest, snapshot, precision), self)
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

    def _pump(self, models, latest: LatestWins, snapshot_at_queue, precision: bool | None):
        request = latest.take(timeout=0)
        if request is None:
            return None
        snapshot = self._snapshot if latest is self._latest else snapshot_at_queue
        if snapshot is None or snapshot[0] != request.revision:
            latest.done(request, rendered=False)  # a newer snapshot's request will follow
            return None
        try:
            renderer = self._renderer(models, snapshot[1], precision)
            result = renderer.render(request)
        except BaseException:
            latest.done(request, rendered=False)
            raise
        latest.done(request)
        return result

    def _renderer(self, models, doc: Document, precision: bool | None):
        """The provider's renderer for this precision, pointed at `doc`."""
        from core.edit.render import EditRenderer

        settings = (doc.inversion or {}).get("settings") or {}
        force_fp32 = bool(settings.get("force_fp32", False)) if precision is None \
            else bool(precision)
        generator = models.generator()
        check_generator(doc, generator)  # before anything is made for it
        renderer = models.derived(("preview_renderer", force_fp32), lambda: EditRenderer(
            generator, doc, models.directions().get, force_fp32=force_fp32))
        renderer.doc = doc
        self.last_renderer = weakref.ref(renderer)
        return renderer
