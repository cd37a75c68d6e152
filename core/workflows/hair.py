"""Hairstyle transfer as a workflow: photo B's hair on document/photo A, and the A→B blend.

The outcome is CPU-only: the codes, masks and images the blend slider needs are numpy
arrays, and `hair_blend` rebuilds the blender on the worker with the provider's current
generator, so no generator is kept alive by a result.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from core.errors import InvalidInputError, JobCancelled, NoFaceError
from core.face.align import AlignTransform
from core.face.pasteback import paste_back
from core.hair.transfer import HairTransferSettings
from core.imageio import Photo
from core.jobs import JobControl, control_or_new
from core.models.loaded import LoadedModels
from core.project import Document
from core.workflows.encoder_init import choose_init, encoder_codes
from core.workflows.inversion import LatentCode
from core.workflows.progress import FittingProgress, Progress, drive, relay

if TYPE_CHECKING:
    from core.face.prepare import PreparedPhoto

POSE_FITTING_LABEL = "Learning head pose for this generator (once):"
# A stop before the hair photo's inversion has taken a step: nothing to keep.
STOPPED_BEFORE_TRANSFER = "Stopped before the hair was transferred; nothing changed."


@dataclass(frozen=True, eq=False)  # compared by identity (it holds arrays)
class HairBlendState:
    """What the A→B slider renders from, on the CPU (see `core.hair.HairBlender`)."""

    start_code: LatentCode | None  # A's own hair (None: A is bald, only the mask morphs)
    end_code: LatentCode  # the transferred hair
    mask_start: np.ndarray  # float32 [R, R]
    mask_end: np.ndarray
    softness_px: float
    other_images: np.ndarray  # float32 [n, 3, R, R]: the other chunks, rendered once
    partition: np.ndarray
    photo: np.ndarray  # float32 [1, 3, R, R]: A in the generator's range
    changed: np.ndarray
    force_fp32: bool

    @classmethod
    def of(cls, blender) -> HairBlendState:
        def code(c):
            return None if c is None else LatentCode(c.space, _array(c.value))

        return cls(code(blender.start_code), code(blender.end_code),
                   np.array(blender.morph.start), np.array(blender.morph.end),
                   float(blender.morph.softness), _array(blender.other_images),
                   _array(blender.partition), _array(blender.photo), _array(blender.changed),
                   bool(blender.force_fp32))

    def blender(self, generator):
        """A `HairBlender` on `generator`'s device."""
        from core.hair.compose import HairBlender, HairMorph
        from core.latents.codes import ChunkCode, CodeSpace

        device = generator.w_avg.device

        def code(c):
            return None if c is None else ChunkCode(c.space, torch.from_numpy(c.value).to(device))

        def tensor(a):
            return torch.from_numpy(a).to(device)

        morph = HairMorph(self.mask_start, self.mask_end, softness_px=self.softness_px)
        return HairBlender(CodeSpace(generator), code(self.start_code), code(self.end_code),
                           morph, tensor(self.other_images), tensor(self.partition),
                           tensor(self.photo), tensor(self.changed), force_fp32=self.force_fp32)


@dataclass
class HairTransfer:
    """A hair transfer's result, CPU-only."""

    output: np.ndarray  # uint8 [R, R, 3]: A with B's hair
    changed: np.ndarray  # float32 [R, R]: where the output may differ from A (paste-back)
    hair_mask: np.ndarray
    metrics: dict
    notes: list[str]
    transform: AlignTransform  # A's alignment
    settings: HairTransferSettings
    blend: HairBlendState
    project: Document  # every chunk editable; its photo is filled in by `document`

    def full_photo(self, photo_rgb: np.ndarray, aligned: np.ndarray | None = None
                   ) -> np.ndarray:
        """The output (or a blend) pasted back into A's full photo; pixels outside the
        changed region stay bit for bit."""
        image = self.output if aligned is None else aligned
        return paste_back(photo_rgb, image, self.transform, self.changed)

    def document(self, *, photo_bytes: bytes | None = None, photo_name: str = "",
                 generator_id: str | None = None, generator_sha256: str | None = None
                 ) -> Document:
        """A project of the edited photo (see `HairTransferResult.document`)."""
        doc = self.project.snapshot()
        doc.photo_bytes, doc.photo_name = photo_bytes, photo_name
        doc.generator_id, doc.generator_sha256 = generator_id, generator_sha256
        doc.validate()
        return doc


@dataclass
class HairOutcome:
    result: HairTransfer
    full_photo: np.ndarray  # A with the new hair, full resolution
    photo_name: str  # a file name for it ("<A>-hair.png")
    notes: list[str]
    generator_id: str | None
    generator_sha256: str | None
    stopped: bool = False  # `result` is what a stopped transfer had reached


def hair_transfer(models: LoadedModels, identity: Photo, hair: Photo,
                  settings: HairTransferSettings, *, hair_mask_a: np.ndarray | None = None,
                  hair_mask_b: np.ndarray | None = None, align: bool = True,
                  face_a: int | None = None, face_b: int | None = None,
                  frame_a: AlignTransform | dict | None = None,
                  mask_options: tuple[str, str] = ("a painted 'hair' chunk",
                                                   "the hair photo's mask"),
                  no_face_hint: str = "", init: str | None = None,
                  control: JobControl | None = None
                  ) -> Generator[Progress, None, HairOutcome]:
    """B's hairstyle on A (`core.hair`), with the head pose matched through the learned
    pose directions (fitted the first time, once per generator).

    `frame_a`: A's alignment as a document recorded it (its face, or a crop), so that a
    mask painted in that document (`hair_mask_a`) fits; else A is prepared afresh
    (`face_a`, `align`). `hair_mask_a/b` (aligned frame) replace Segment Anything for
    that photo;
    `mask_options` name how the user gives them, for messages; `no_face_hint` follows
    the no-face message (`{mask_option}` is filled in). `init` (see
    `core.workflows.encoder_init`): where A's chunks and B's head start; the metrics
    record it. A stop on `control` ends the transfer after its current step (the
    preparation looks at it between aligning, segmenting and encoding each photo): from
    the hair photo's inversion on, the outcome is what it reached (`stopped`, see
    `HairTransferJob.partial_result`); before that, and during the first pose-direction
    fitting (nothing of it is stored), `JobCancelled(STOPPED_BEFORE_TRANSFER)`.
    """
    from core.face import prepare_photo
    from core.hair import HairTransferJob, transfer_chunks
    from core.hair.directions import pose_directions_for

    control = control_or_new(control)
    generator = models.generator()
    size = generator.img_resolution

    def prepared(photo: Photo, face: int | None, mask_option: str):
        try:
            return prepare_photo(photo, size, align=align, face_index=face)
        except NoFaceError as error:
            hint = no_face_hint.format(mask_option=mask_option)
            raise NoFaceError(f"No face was found in {photo.path.name}; hair transfer needs a "
                              f"face in both photos.{' ' + hint if hint else ''}") from error

    def check() -> None:  # between the preparation's steps (seconds each)
        if control.stop_requested:
            raise JobCancelled(STOPPED_BEFORE_TRANSFER)

    yield Progress("prepare", 0, 1, "Aligning the photos", overall=0.0)
    check()
    if isinstance(frame_a, dict):
        frame_a = AlignTransform.from_json(frame_a)
    if frame_a is not None and frame_a.output_size == size:
        prepared_a = prepared_in_frame(identity, frame_a)
    else:  # no recorded frame, or one for another generator's size: prepare afresh
        prepared_a = prepared(identity, face_a, mask_options[0])
    check()
    prepared_b = prepared(hair, face_b, mask_options[1])
    check()
    needs_sam = hair_mask_a is None or hair_mask_b is None
    segmenter = models.sam_if_installed() if needs_sam else None
    chunks_a = transfer_chunks(prepared_a, segmenter=segmenter, hair_mask=hair_mask_a,
                               photo_name=identity.path.name, hair_required=False,
                               mask_option=mask_options[0])
    check()
    chunks_b = transfer_chunks(prepared_b, segmenter=segmenter, hair_mask=hair_mask_b,
                               photo_name=hair.path.name, mask_option=mask_options[1])
    check()
    notes: list[str] = []
    chosen = choose_init(models, init, generator)
    notes += [chosen.note] if chosen.note else []
    initial_a = initial_b = None
    if chosen.encoder is not None:
        space = settings.inversion_settings().space
        initial_a = encoder_codes(chosen.encoder, generator, prepared_a.aligned, space,
                                  len(chunks_a.masks))
        check()
        initial_b = encoder_codes(chosen.encoder, generator, prepared_b.aligned, space, 1)[0]
        check()
    directions = {}
    if settings.pose_match:
        try:
            directions = yield from relay(
                pose_directions_for(models.directions(), prepared_a, prepared_b, notes=notes,
                                    control=control),
                lambda p: FittingProgress("pose_directions", p.done, p.total,
                                          POSE_FITTING_LABEL, overall=0.0, faces=p.faces,
                                          stopped=p.stopped))
        except JobCancelled:
            raise JobCancelled(STOPPED_BEFORE_TRANSFER) from None
        check()
    job = HairTransferJob(generator, prepared_a, prepared_b, chunks_a, chunks_b, settings,
                          lpips=models.lpips_for(settings.loss), pose_directions=directions,
                          initial_codes_a=initial_a, initial_code_b=initial_b,
                          control=control)
    stopped = yield from drive(job, lambda p: Progress(
        p.stage, p.step, p.total, p.label, overall=p.overall, losses=dict(p.losses),
        preview=p.preview, stopped=p.stopped))
    result = job.partial_result() if stopped else job.result()
    if result is None:
        raise JobCancelled(STOPPED_BEFORE_TRANSFER)
    transfer = HairTransfer(
        output=result.output, changed=result.changed, hair_mask=result.hair_mask,
        metrics=dict(result.metrics, init=chosen.name), notes=list(result.notes),
        transform=result.transform,
        settings=result.settings, blend=HairBlendState.of(result.blender),
        project=result.document())
    return HairOutcome(transfer, transfer.full_photo(identity.rgb),
                       f"{identity.path.stem}-hair.png", notes + list(result.notes),
                       models.generator_id, generator.source_sha256, stopped=result.stopped)


def prepared_in_frame(photo: Photo, frame: AlignTransform | dict) -> PreparedPhoto:
    """`photo` cut exactly as `frame` (a document's recorded alignment) says, with the
    face that alignment was made around (the detected face nearest the frame's centre)
    for its landmarks; a crop has none, as `prepare_photo` gives it."""
    from core.face.align import FFHQ, apply_transform
    from core.face.landmarks import detect_faces
    from core.face.prepare import PreparedPhoto

    frame = frame if isinstance(frame, AlignTransform) else AlignTransform.from_json(frame)
    aligned = apply_transform(photo.rgb, frame)
    if frame.method != FFHQ:
        return PreparedPhoto(aligned, frame, None)
    faces = detect_faces(photo.rgb)
    size = frame.output_size
    to_aligned = frame.photo_to_aligned(size)

    def distance(face) -> float:
        points = np.c_[face.landmarks, np.ones(len(face.landmarks))] @ to_aligned.T
        return float(np.linalg.norm(points[:, :2].mean(axis=0) - size / 2))

    face = min(faces, key=distance) if faces else None
    if face is None or distance(face) > size / 4:
        raise NoFaceError(f"The face this project was aligned around is no longer found in "
                          f"{photo.path.name}.")
    return PreparedPhoto(aligned, frame, face,
                         tuple(tuple(int(v) for v in f.rect) for f in faces))


def chosen_hair_mask(doc: Document, chunk: str | None) -> np.ndarray | None:
    """A copy of the mask of `chunk`, the chunk the user says is the hair of the
    document's photo (its `hair_mask_a`); None when the hair is to be found automatically."""
    if chunk is None:
        return None
    names = [c.name for c in doc.chunks]
    if chunk not in names:
        listed = ", ".join(repr(n) for n in names) or "none"
        raise InvalidInputError(f"The project has no chunk named {chunk!r} to use as the "
                                f"hair; its chunks: {listed}.")
    return np.array(doc.chunk(chunk).mask, np.float32)


def hair_blend(models: LoadedModels, result: HairTransfer, t: float) -> np.ndarray:
    """The A→B slider at `t`: uint8 [R, R, 3], one synthesis with the current generator.
    The blender of the latest result is kept with the generator (released with it), so a
    slider drag pays for its set-up once."""
    generator = models.generator()
    if generator.img_resolution != result.output.shape[0]:
        raise InvalidInputError("The generator was changed since the hair transfer; run the "
                                "transfer again to blend.")
    latest = models.derived("hair_blend", lambda: {})
    if latest.get("state") is not result.blend:
        latest.clear()
        latest.update(state=result.blend, blender=result.blend.blender(generator))
    return latest["blender"](t)


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy().copy()
