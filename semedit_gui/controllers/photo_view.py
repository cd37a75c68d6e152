"""The Whole Photo view without widgets: the photo as "Export full photo" writes it.

Turned on, it shows the original photo with the face region outlined while the GPU
worker renders the current edits and pastes them back into the full-resolution photo
(`jobs.whole_photo`: core's `render_full_photo`, the export's own code), then that photo.
A project with no inverted chunk shows the original: there is nothing to paste back yet.

Edits render again once they are made (a slider's release, an applied edit, an undo), not
on every tick of a drag: while the document's history collects a group (a drag, a brush
stroke) a change waits for the group's end, which pushes one history step. The newest
state wins: a render still queued or running for an older state is stopped and whatever
it returns is dropped; a state equal to the one already wanted renders nothing. Turning
the view off or opening another document drops every pending result.

Huge photos are shown as a copy whose long side is at most `max_side` pixels (the label
says so); the export itself stays full resolution.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from core.edit.scheduler import PreviewRequest
from core.errors import SemeditError
from semedit_gui import jobs
from semedit_gui.controllers.documents import DocumentController
from semedit_gui.controllers.job_registry import JobRegistry
from semedit_gui.session import EditorSession
from semedit_gui.worker import Task

KIND = "whole_photo"
MAX_VIEW_SIDE = 4096  # a 24 MP photo would take ~100 MB as RGBX on screen; this ~50 MB

# What the view shows, and the words over it.
RENDERING, EXPORTED, UNEDITED, FAILED = "rendering", "exported", "unedited", "failed"
LABELS = {RENDERING: "Rendering the whole photo…",
          EXPORTED: "Whole photo — as exported",
          UNEDITED: "Whole photo — nothing edited yet",
          FAILED: "Whole photo — the render failed; this is the original"}


@dataclass(frozen=True, eq=False)
class PhotoView:
    """One state of the view: `image` drawn over the photo's frame, the face outlined."""

    image: np.ndarray  # uint8 [h, w, 3]: the photo, or a smaller copy of it
    photo_size: tuple[int, int]  # (width, height) of the photo: the frame `image` covers
    quad: np.ndarray  # the aligned face's corners in photo pixels: TL, TR, BR, BL
    state: str  # RENDERING, EXPORTED, UNEDITED or FAILED
    label: str


class PhotoViewController(QObject):
    view_changed = Signal(object)  # PhotoView, or None when the view is off
    message = Signal(str, bool)  # a sentence, and whether it is an error

    def __init__(self, registry: JobRegistry, documents: DocumentController, *,
                 force_fp32: Callable[[], bool | None] = lambda: None,
                 max_side: int = MAX_VIEW_SIDE, parent: QObject | None = None):
        """`force_fp32`: the precision Export renders with (the app's setting)."""
        super().__init__(parent)
        self.registry = registry
        self.documents = documents
        self.max_side = max_side
        self._force_fp32 = force_fp32
        self._active = False
        self._session: EditorSession | None = None
        self._original: PhotoView | None = None  # the session's photo, decoded once
        self._wanted: tuple | None = None  # the state the newest render is for
        self._task: Task | None = None  # that render, until it ends
        self._last_render: jobs.WholePhoto | None = None
        self._generation = 0  # bumped when earlier renders' results become stale
        self.view: PhotoView | None = None
        self.renders = 0  # renders submitted (figures, tests)
        # One user action emits several signals (an undo: the edit, then the history):
        # they are gathered into one refresh once the event loop is back.
        self._changed = QTimer(self)
        self._changed.setSingleShot(True)
        self._changed.setInterval(0)
        self._changed.timeout.connect(self.refresh)
        documents.session_changed.connect(self._on_session_changed)
        self._on_session_changed(documents.session)

    @property
    def active(self) -> bool:
        return self._active

    @property
    def rendering(self) -> bool:
        return self._task is not None

    # ----------------------------------------------------------------- on and off

    def set_active(self, on: bool) -> bool:
        """Show the whole photo (True when it is shown) or stop showing it. A document
        without its original photo cannot: `message` says so and it returns False."""
        if not on:
            self._changed.stop()
            if self._active:
                self._active = False
                self._forget_renders()
                self._last_render = None  # edits made meanwhile would make it misleading
                self._set_view(None)
            return False
        if self._active:
            return True
        session = self.documents.session
        if session is None or self._original_view(session) is None:
            return False
        self._active = True
        self.refresh()
        return True

    def refresh(self) -> Task | None:
        """Render the document as it is now, unless that state is already wanted; the
        render task, or None when none was needed."""
        session = self.documents.session
        if not self._active or session is None:
            return None
        if session.doc.history.in_group and self.view is not None:
            return None  # a drag or stroke under way: its end comes back here
        original = self._original_view(session)
        if original is None:
            self.set_active(False)
            return None
        if not session.inverted:
            self._forget_renders()
            self._set_view(self._shown(original, original.image, UNEDITED))
            return None
        doc = session.doc
        precision = self._force_fp32()
        wanted = (PreviewRequest.from_document(doc, revision=session.revision), precision)
        if wanted == self._wanted:
            return None
        self._forget_renders()
        self._wanted = wanted
        # Until it arrives: the last render since the view was turned on, else the original.
        last = self._last_render
        self._set_view(self._shown(original, original.image if last is None else last.image,
                                   RENDERING))
        self.renders += 1
        generation = self._generation
        task = self.registry.submit(
            KIND, "Rendering the whole photo",
            jobs.whole_photo(doc.snapshot(), force_fp32=precision, max_side=self.max_side),
            on_success=lambda result: self._rendered(generation, result),
            reason="The whole-photo view", quiet=True)
        if not task.finished:
            self._task = task
            task.failed.connect(lambda _text: self._failed(generation))
            task.ended.connect(lambda: self._ended(task))
        return task

    # ----------------------------------------------------------------- results

    def _rendered(self, generation: int, result: jobs.WholePhoto) -> None:
        if not self._active or generation != self._generation:
            return  # stale: a newer state is wanted, or the view was left
        self._last_render = result
        original = self._original
        self._set_view(self._shown(original, result.image,
                                   EXPORTED if result.edited else UNEDITED))

    def _failed(self, generation: int) -> None:
        if self._active and generation == self._generation:
            self._wanted = None  # the same state may be tried again
            self._set_view(self._shown(self._original, self._original.image, FAILED))

    def _ended(self, task: Task) -> None:
        if task is self._task:
            self._task = None

    def _forget_renders(self) -> None:
        """Stop the render under way (if any); whatever it returns is dropped."""
        task, self._task = self._task, None
        if task is not None and not task.finished:
            task.stop()
        self._wanted = None
        self._generation += 1  # whatever was asked for before is stale from now on

    # ----------------------------------------------------------------- the photo

    def _on_session_changed(self, session: EditorSession | None) -> None:
        old, self._session = self._session, session
        if old is not None:
            for signal in (old.document_changed, old.history_changed):
                with contextlib.suppress(RuntimeError, TypeError):  # gone with its QObject
                    signal.disconnect(self._on_changed)
        self.set_active(False)
        self._original = None
        self._last_render = None
        if session is not None:
            # The end of a drag or stroke pushes one history step and changes nothing else.
            session.document_changed.connect(self._on_changed)
            session.history_changed.connect(self._on_changed)

    def _on_changed(self, *_event) -> None:
        if self._active:
            self._changed.start()

    def _original_view(self, session: EditorSession) -> PhotoView | None:
        """The session's photo and face outline (decoded once), or None with a message."""
        if self._original is not None:
            return self._original
        from core.face.align import AlignTransform
        from core.imageio import decode_photo

        doc = session.doc
        if doc.photo_bytes is None or doc.transform is None:
            self.message.emit("This project holds no original photo.", False)
            return None
        try:
            photo = decode_photo(doc.photo_bytes, doc.photo_name or "photo")
            # sampling_quad runs TL, BL, BR, TR; the view outlines TL, TR, BR, BL.
            quad = AlignTransform.from_json(doc.transform).sampling_quad()[[0, 3, 2, 1]]
        except SemeditError as error:
            self.message.emit(str(error), True)
            return None
        self._original = PhotoView(jobs.screen_copy(photo.rgb, self.max_side), photo.size,
                                   quad, UNEDITED, LABELS[UNEDITED])
        return self._original

    def _shown(self, original: PhotoView, image: np.ndarray, state: str) -> PhotoView:
        label = LABELS[state]
        if image.shape[1] != original.photo_size[0]:
            width, height = original.photo_size
            label += (f" (shown at {image.shape[1]}×{image.shape[0]} of {width}×{height}; "
                      "the export is full size)")
        return PhotoView(image, original.photo_size, original.quad, state, label)

    def _set_view(self, view: PhotoView | None) -> None:
        self.view = view
        self.view_changed.emit(view)
