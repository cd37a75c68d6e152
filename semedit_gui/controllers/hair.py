"""Hairstyle transfer without widgets: run / stop, the result, the A→B blend slider and
opening the result as a new project.

The blend slider goes through core's `LatestWins` (`core.edit.scheduler`), as the live
preview does: each position is an immutable `BlendRequest`; one render runs at a time on
the GPU worker, a newer position replaces the one waiting, a position equal to the one
being rendered is skipped, and a render that is no longer the newest wanted position is
not shown. A slider dragged through many positions while a render runs therefore costs at
most one more render, of the last position.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.edit.scheduler import LatestWins
from core.errors import SemeditError
from core.hair.chunks import SAM_ASSET
from core.models.loaded import ModelChoice
from core.workflows.hair import STOPPED_BEFORE_TRANSFER, chosen_hair_mask
from semedit_gui import jobs
from semedit_gui.controllers.documents import DocumentController
from semedit_gui.controllers.job_registry import JobRegistry
from semedit_gui.session import EditorSession
from semedit_gui.worker import Task

KIND = "hair"
BLEND_KIND = "hair_blend"
FACES_KIND = "hair_faces"
PAINT_KIND = "hair_photo"
HAIR_CHUNK_LABEL = "This photo's hair"  # the Hair panel's row choosing that chunk
HAIR_CHUNK = "hair"  # a chunk of this name is taken as the photo's hair unless told otherwise
_blend_ids = itertools.count(1)


def default_hair_chunk(names: list[str]) -> str | None:
    """The chunk the Hair panel proposes as the open photo's hair: one named "hair"."""
    return HAIR_CHUNK if HAIR_CHUNK in names else None


def transfer_blocker(*, has_hair_photo: bool, hair_chunk: str | None, has_hair_mask: bool,
                     sam_installed: bool, has_chunks: bool = False) -> str | None:
    """Why Transfer cannot work, in the app's words (None: nothing is missing). Each
    photo's hair comes from what the user gave (a chunk of the open photo, which
    `has_chunks` or not; the hair photo's painted mask) or from Segment Anything. Before a
    hair photo is chosen only the open photo's side is judged (the panel says no hair
    photo is chosen)."""
    if sam_installed:
        return None
    missing, needs = [], []
    if hair_chunk is None:
        missing.append("no chunk chosen as this photo's hair" if has_chunks else
                       "no hair chunk")
        needs.append(f"choose the chunk that is your hair under “{HAIR_CHUNK_LABEL}” (or "
                     "paint one: Add in the Chunks panel)" if has_chunks else
                     "paint your hair as a chunk (Add in the Chunks panel) and choose it "
                     f"under “{HAIR_CHUNK_LABEL}”")
    if has_hair_photo and not has_hair_mask:
        missing.append("no painted hair for the hair photo")
        needs.append("paint the hair photo's hair (Paint its hair…)")
    if not needs:
        return None
    what = " and ".join(missing)
    return (f"{what[0].upper()}{what[1:]}, and Segment Anything (which finds hair) is not "
            f"installed: {', and '.join(needs)}, or download Segment Anything.")


@dataclass(frozen=True)
class BlendRequest:
    """One position of the A→B slider for one transfer result (equality ignores `id`,
    like core's `PreviewRequest`, so `LatestWins` can skip repeats)."""

    outcome_number: int  # which transfer result (a new transfer starts a new series)
    t: float
    id: int = field(default_factory=lambda: next(_blend_ids), compare=False)


class HairController(QObject):
    running_changed = Signal(bool)
    progress = Signal(float, str)  # fraction of the whole transfer, what it is doing
    preview = Signal(object)  # uint8 image in the aligned frame (progress, result, blend)
    outcome_changed = Signal(object)  # jobs.HairOutcome or None
    message = Signal(str, bool)
    hair_photo_ready = Signal(object, object)  # jobs.HairPhotoToPaint, the photo's Path
    # The open document changed (another one, or none): what the panel was given for the
    # previous one (hair photo, its mask and face, progress) no longer applies.
    reset = Signal()
    chunk_names_changed = Signal(list)  # the open document's chunk names ([] without one)
    faces_found = Signal(object, tuple)  # the hair photo's Path, its face boxes largest first

    def __init__(self, registry: JobRegistry, documents: DocumentController, *,
                 force_fp32: Callable[[], bool] = lambda: False,
                 blend_work: Callable = jobs.hair_blend,
                 model_choice: Callable[[], ModelChoice] | None = None,
                 parent: QObject | None = None):
        """`blend_work(result, t)` is the worker job of one blend render; `model_choice`
        says where Segment Anything would be found (None: nowhere)."""
        super().__init__(parent)
        self.registry = registry
        self.documents = documents
        self._force_fp32 = force_fp32
        self._blend_work = blend_work
        self.model_choice = model_choice
        self._watched = None  # the session whose chunk list is followed
        self.outcome: jobs.HairOutcome | None = None
        self._outcome_number = 0
        self._latest = LatestWins()
        self._pump_queued = False
        self.blend_renders = 0  # blend renders run (figures, tests)
        self._overall = 0.0  # the running transfer's last progress, 0..1
        documents.session_changed.connect(self._on_session_changed)

    @property
    def task(self) -> Task | None:
        return self.registry.active(KIND)

    @property
    def running(self) -> bool:
        return self.task is not None

    # ----------------------------------------------------------------- transfer

    # ----------------------------------------------------------------- readiness

    def sam_installed(self) -> bool:
        """Whether Segment Anything can be loaded for the chosen models (nothing is
        loaded; a file check on the UI thread)."""
        if self.model_choice is None:
            return False
        from core.models.validation import open_model_store

        choice = self.model_choice()
        try:
            open_model_store(choice.models_dir).resolve(choice.sam, "sam")
        except SemeditError:
            return False
        return True

    def sam_asset_id(self) -> str:
        """The Segment Anything model the app offers to download."""
        if self.model_choice is not None:
            from core.models.validation import open_model_store

            try:
                return open_model_store(self.model_choice().models_dir).manifest \
                    .default_for("sam").id
            except SemeditError:
                pass
        return SAM_ASSET

    def blocker(self, hair_photo: Path | None, hair_chunk: str | None,
                hair_mask_b) -> str | None:
        """Why a transfer with these inputs cannot work now (`transfer_blocker`)."""
        session = self.documents.session
        return transfer_blocker(has_hair_photo=hair_photo is not None, hair_chunk=hair_chunk,
                                has_hair_mask=hair_mask_b is not None,
                                sam_installed=self.sam_installed(),
                                has_chunks=bool(session and session.doc.chunks))

    def find_faces(self, hair_photo: Path) -> Task | None:
        """Detect the faces of the hair photo (`faces_found`), so the user may choose one
        when there are several."""
        from core.face.landmarks import detect_faces
        from core.imageio import load_photo

        path = Path(hair_photo)

        def work(_models, _task) -> tuple:
            faces = detect_faces(load_photo(path).rgb)
            return tuple(tuple(int(v) for v in face.rect) for face in faces)

        # no model needed: the file worker, so it does not wait behind an inversion
        return self.registry.submit(FACES_KIND, f"Finding the faces of {path.name}", work,
                                    on_success=lambda boxes: self.faces_found.emit(path, boxes),
                                    reason="Finding the hair photo's faces", files=True,
                                    quiet=True)

    # ----------------------------------------------------------------- transfer

    def paint_hair_photo(self, hair_photo: Path, face: int | None = None) -> Task | None:
        """Align the hair photo as the transfer will (its face `face`, else the largest),
        so its hair can be painted in the app (`hair_photo_ready` then carries it)."""
        if self.documents.session is None or hair_photo is None:
            return None
        path = Path(hair_photo)
        return self.registry.submit(
            PAINT_KIND, f"Opening {path.name} to paint its hair",
            jobs.hair_photo_to_paint(path, face_index=face),
            on_success=lambda ready: self.hair_photo_ready.emit(ready, path),
            reason="Painting the hair photo's mask")

    def run(self, hair_photo: Path, settings, *,
            hair_mask_b: Path | np.ndarray | None = None,
            hair_chunk: str | None = HAIR_CHUNK, face_b: int | None = None) -> Task | None:
        """Put the hairstyle of `hair_photo` (its face `face_b`, else the largest) on the
        open document's photo. `hair_chunk` names the document's chunk that is its hair
        (None, or a "hair" default the document lacks: found by Segment Anything);
        `hair_mask_b` is the hair photo's hair (a mask file, or painted in the app)."""
        session = self.documents.session
        if session is None or self.running:
            return None
        from core.segment.mask_io import load_mask

        names = [c.name for c in session.doc.chunks]
        if hair_chunk == HAIR_CHUNK and HAIR_CHUNK not in names:
            hair_chunk = None
        mask_b = None
        if isinstance(hair_mask_b, np.ndarray):
            mask_b = hair_mask_b.copy()
        elif hair_mask_b is not None:
            try:
                mask_b = load_mask(hair_mask_b, session.doc.resolution).mask
            except SemeditError as error:
                self.message.emit(str(error), True)
                return None
        try:
            mask_a = chosen_hair_mask(session.doc, hair_chunk)
        except SemeditError as error:
            self.message.emit(str(error), True)
            return None
        settings = replace(settings, force_fp32=self._force_fp32())
        self.set_outcome(None)
        self._overall = 0.0
        # quiet: a stop is reported here, in the transfer's own words (what was kept)
        task = self.registry.submit(KIND, "Hair transfer", jobs.hair_transfer(
            session.doc.snapshot(), Path(hair_photo), settings, hair_mask_a=mask_a,
            hair_mask_b=mask_b, face_b=face_b), on_success=lambda o: self._done(session, o),
            on_progress=self._on_progress, reason="Hair transfer", quiet=True)
        task.cancelled.connect(self._on_cancelled)
        if not task.finished:
            self.message.emit("Hair transfer…", False)
            task.ended.connect(lambda: self.running_changed.emit(False))
            self.running_changed.emit(True)
        return task

    def stop(self) -> None:
        task = self.task
        if task is not None:
            task.stop()

    def _on_progress(self, item) -> None:
        """A `core.workflows.Progress` (the pose fitting, the first time, then the
        transfer's stages)."""
        self._overall = item.overall or 0.0
        self.progress.emit(self._overall, f"{item.label} {item.step}/{item.total}")
        if item.preview is not None:
            self.preview.emit(item.preview)

    def _on_cancelled(self) -> None:
        if not self.registry.closing:
            self.progress.emit(0.0, STOPPED_BEFORE_TRANSFER)
            self.message.emit(STOPPED_BEFORE_TRANSFER, False)

    def _done(self, session: EditorSession, outcome: jobs.HairOutcome) -> None:
        if self.documents.session is not session or self.registry.closing:
            return
        self.set_outcome(outcome)
        self.preview.emit(outcome.result.output)
        metrics = outcome.result.metrics
        # A stopped transfer's bar stays where it stopped.
        self.progress.emit(self._overall if outcome.stopped else 1.0,
                           describe_hair_metrics(metrics))
        first = ("Hair transfer stopped; what it reached is kept: move the slider to blend, "
                 "or open it as a new project." if outcome.stopped else
                 "Hair transferred: move the slider to blend, or open the result as a new "
                 "project.")
        self.message.emit(" ".join([first, *outcome.notes]), False)

    def set_outcome(self, outcome: jobs.HairOutcome | None) -> None:
        """The transfer result the slider blends (a new one starts a new blend series)."""
        self.outcome = outcome
        self._outcome_number += 1
        self._latest.close()  # renders queued for the old result are stale
        self._latest = LatestWins()
        self._pump_queued = False
        self.outcome_changed.emit(outcome)

    # ----------------------------------------------------------------- A→B blend

    def blend(self, t: float) -> None:
        """Show the blend at `t` (0: A's own hair, 1: the transferred hair), latest wins."""
        if self.outcome is None:
            return
        if self._latest.submit(BlendRequest(self._outcome_number, float(t))):
            self._queue_pump()

    def _queue_pump(self) -> None:
        if self._pump_queued:
            return
        self._pump_queued = True
        latest, result = self._latest, self.outcome.result
        task = self.registry.submit(BLEND_KIND, "Blending the hair",
                                    lambda models, task: self._pump(models, task, latest, result),
                                    quiet=True)
        task.succeeded.connect(lambda rendered: self._on_rendered(latest, rendered))
        task.ended.connect(lambda: self._on_pump_ended(latest))

    def _pump(self, models, task, latest: LatestWins, result):  # the worker thread
        request = latest.take(timeout=0)
        if request is None:
            return None
        try:
            _t, image = self._blend_work(result, request.t)(models, task)
        except BaseException:
            latest.done(request, rendered=False)
            raise
        latest.done(request)
        self.blend_renders += 1
        return request.id, image

    def _on_rendered(self, latest: LatestWins, rendered) -> None:
        if rendered is None or latest is not self._latest:
            return
        request_id, image = rendered
        if not latest.is_stale(request_id):
            self.preview.emit(np.asarray(image))

    def _on_pump_ended(self, latest: LatestWins) -> None:
        if latest is not self._latest:
            return
        self._pump_queued = False
        if latest.pending is not None and not self.registry.closing:
            self._queue_pump()

    # ----------------------------------------------------------------- the result

    def open_result(self) -> EditorSession | None:
        """The transfer as a new, unsaved project (the current one stays as it was)."""
        outcome = self.outcome
        if outcome is None or not self.documents.confirm_discard():
            return None
        from core.hair.transfer import carry_edits, png_bytes

        doc = outcome.result.document(photo_bytes=png_bytes(outcome.full_photo),
                                      photo_name=outcome.photo_name,
                                      generator_id=outcome.generator_id,
                                      generator_sha256=outcome.generator_sha256)
        source = self.documents.session
        left = carry_edits(source.doc, doc) if source is not None else []
        kept = [c.name for c in doc.chunks if c.edits]
        session = self.documents.adopt(doc, unsaved_copy=True)
        notes = ["The hair transfer is open as a new project; save it to keep it."]
        if kept:
            notes.append("Your edits of " + ", ".join(f"'{n}'" for n in kept) + " are kept.")
        if left:
            notes.append("The edits of " + ", ".join(f"'{n}'" for n in left) + " were not "
                         "carried over (the new hair replaces the hair; the result has no "
                         "other chunk of that name): redo them in the Edits panel.")
        self.message.emit(" ".join(notes), bool(left))
        return session

    def _on_session_changed(self, session) -> None:
        self.stop()
        for kind in (FACES_KIND, PAINT_KIND):  # what they find is for the old hair photo
            task = self.registry.active(kind)
            if task is not None:
                task.stop()
        if self.outcome is not None:
            self.set_outcome(None)
        if self._watched is not None:
            with contextlib.suppress(RuntimeError, TypeError):  # deleted with its document
                self._watched.chunks_changed.disconnect(self._emit_chunk_names)
        self._watched = session
        if session is not None:
            session.chunks_changed.connect(self._emit_chunk_names)
        self.reset.emit()
        self._emit_chunk_names()

    def _emit_chunk_names(self, *_event) -> None:
        session = self.documents.session
        self.chunk_names_changed.emit([] if session is None else
                                      [c.name for c in session.doc.chunks])


_STOPPED_AT = {"invert_hair": "while inverting the hair photo",
               "pose": "before the head pose was matched", "refine": "while refining the hair"}


def describe_hair_metrics(metrics: dict) -> str:
    """The transfer's figures as sentences with units (the Hair panel's status; its
    tooltip says what each figure means). A stopped transfer says where it stopped and
    that its result so far is what is shown."""
    steps = metrics.get("steps") or {}
    counts = (f"{steps.get('inversion', 0)} inversion steps per photo, "
              f"{steps.get('refine', 0)} refinement steps")
    seconds = f"{float(metrics.get('seconds') or 0):.1f} s"
    stopped = metrics.get("stopped")
    if stopped:
        where = _STOPPED_AT.get(stopped, "early")
        parts = [f"Stopped {where} after {seconds} ({counts}); the result so far is kept."]
    else:
        parts = [f"Done in {seconds} ({counts})."]
    if isinstance(metrics.get("identity_to_a"), float):
        parts.append(f"Identity distance to your photo: {metrics['identity_to_a']:.2f} "
                     "(under 0.6: the same person).")
    if isinstance(metrics.get("hair_lpips"), float):
        parts.append(f"New hair vs. the hair photo's: {metrics['hair_lpips']:.2f} LPIPS.")
    if isinstance(metrics.get("outside_l2"), float):
        parts.append(f"Rest of the photo changed by {metrics['outside_l2']:.4f} "
                     "(mean squared difference, 0 = untouched).")
    if isinstance(metrics.get("hair_area"), float):
        parts.append(f"The new hair covers {metrics['hair_area']:.0%} of the face crop.")
    return " ".join(parts)
