"""The work the GPU worker does for the window: each function returns `work(models, task)`.

Everything here runs on the worker thread (torch, file I/O, dlib) and receives only
values the UI thread will not change afterwards: document snapshots (`Document.snapshot`),
copies of arrays, paths. Results go back as plain values; the window applies them to
the live document on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError, NoFaceError
from core.models.loaded import LoadedModels
from core.project import Document


@dataclass
class OpenedPhoto:
    document: Document
    path: Path
    notes: list[str] = field(default_factory=list)


def open_photo(path: Path, *, align: bool = True):
    """Decode and align a photo into a new document (chunks come later)."""
    def work(models: LoadedModels, task) -> OpenedPhoto:
        from core.face import prepare_photo
        from core.imageio import load_photo

        photo = load_photo(path)
        generator = models.generator()
        prepared = prepare_photo(photo, generator.img_resolution, align=align)
        doc = Document(aligned=prepared.aligned, photo_bytes=photo.file_bytes,
                       photo_name=photo.path.name, transform=prepared.transform.to_json(),
                       generator_id=models.generator_id,
                       generator_sha256=generator.source_sha256)
        notes = [] if align else ["No face alignment: the photo was centre-cropped."]
        return OpenedPhoto(doc, path, notes)
    return work


def open_project(path: Path):
    def work(models: LoadedModels, task) -> Document:
        from core.project import load_project

        return load_project(path)
    return work


def save_project(snapshot: Document, path: Path, protect: Path | None):
    def work(models: LoadedModels, task) -> Path:
        from core.project import save_project as save

        return save(snapshot, path, protect=protect)
    return work


@dataclass
class AutoChunks:
    masks: dict[str, np.ndarray]
    notes: list[str]


def auto_chunks(snapshot: Document):
    """Face chunks for the aligned image (SAM when installed, else the landmarks)."""
    def work(models: LoadedModels, task) -> AutoChunks:
        from core.face.align import AlignTransform
        from core.face.prepare import landmarks_in_aligned
        from core.imageio import decode_photo
        from core.segment.face_chunks import face_chunks

        photo, transform = None, None
        if snapshot.photo_bytes is not None and snapshot.transform is not None:
            photo = decode_photo(snapshot.photo_bytes, snapshot.photo_name or "photo").rgb
            transform = AlignTransform.from_json(snapshot.transform)
        try:
            landmarks = landmarks_in_aligned(snapshot.aligned, transform, photo)
        except NoFaceError as error:
            raise NoFaceError("No face was found, so chunks cannot be placed automatically; "
                              "paint them with the brush or click them with Segment "
                              "Anything.") from error
        chunks = face_chunks(snapshot.aligned, landmarks, models.sam_if_installed())
        return AutoChunks(chunks.masks, list(chunks.notes))
    return work


def sam_predict(aligned: np.ndarray, points: list[tuple[float, float]], labels: list[int],
                box: tuple[float, float, float, float] | None):
    def work(models: LoadedModels, task):
        segmenter = models.sam()
        segmenter.set_image(aligned)
        return segmenter.predict(points or None, labels or None, box)
    return work


def load_directions():
    """The direction library's directions for the current generator."""
    def work(models: LoadedModels, task):
        return models.directions().list()
    return work


@dataclass(frozen=True)
class ExportRequest:
    path: Path
    full_photo: bool
    quality: int = 95
    keep_metadata: bool = True
    source_path: Path | None = None


def export(snapshot: Document, request: ExportRequest):
    """Render the edited result and write it (full photo via paste-back, or the crop)."""
    def work(models: LoadedModels, task) -> Path:
        from core.edit.render import EditRenderer
        from core.project.export import export_image

        if not snapshot.chunks or any(c.code is None for c in snapshot.chunks):
            aligned, changed = snapshot.aligned, np.zeros(snapshot.aligned.shape[:2],
                                                          np.float32)
        else:
            generator = models.generator()
            check_generator(snapshot, generator)
            result = EditRenderer(generator, snapshot, models.directions().get).render()
            aligned, changed = result.image, result.changed_mask
        export_image(snapshot, aligned, changed, request.path, full_photo=request.full_photo,
                     quality=request.quality, keep_metadata=request.keep_metadata,
                     source_path=request.source_path)
        return request.path
    return work


def check_generator(doc: Document, generator) -> None:
    """Refuse to render codes with a generator other than the one that made them."""
    if doc.generator_sha256 and generator.source_sha256 \
            and generator.source_sha256 != doc.generator_sha256:
        raise InvalidInputError(
            f"This project was inverted with another generator (sha256 "
            f"{doc.generator_sha256[:12]}…) than the one chosen in Preferences "
            f"({generator.source_sha256[:12]}…); choose that generator to edit it.")
    if generator.img_resolution != doc.resolution:
        raise InvalidInputError(
            f"The project is {doc.resolution}×{doc.resolution} but the chosen generator makes "
            f"{generator.img_resolution}×{generator.img_resolution} images; choose the "
            "generator the project was made with in Preferences.")


@dataclass
class InversionUpdate:
    """One step of an inversion run: stage "invert" or "pti", and the core progress."""

    stage: str
    progress: object


@dataclass
class InversionOutcome:
    result: object  # core.invert.InversionResult
    settings: object  # core.invert.InversionSettings
    metrics: dict
    generator_id: str | None
    generator_sha256: str | None
    pti_weights: dict | None
    stopped: bool


def invert(snapshot: Document, settings, *, loss_kind: str = "lpips", pti_steps: int = 0,
           resume: bool = False):
    """ChunkyGAN inversion of the snapshot's chunks; `resume` starts from their codes.

    Overlaps are settled top-wins first, as `semedit invert` does. Stops at the task's
    flag after the current step and returns what it has (a partial result the user can
    continue).
    """
    def work(models: LoadedModels, task):
        import dataclasses

        import torch

        from core.invert import InversionJob, ReconstructionLoss
        from core.invert.metrics import inversion_metrics
        from core.invert.pti import PivotalTuningJob, PtiSettings
        from core.invert.workflow import chunk_codes, composite_with
        from core.segment.mask_ops import resolve_overlaps
        from core.stylegan import uint8_to_images

        if not snapshot.chunks:
            raise InvalidInputError("There are no chunks to invert; add one (Auto chunks, or "
                                    "paint one) first.")
        generator = models.generator()
        if generator.img_resolution != snapshot.resolution:
            raise InvalidInputError(
                f"The photo was aligned at {snapshot.resolution}×{snapshot.resolution} but the "
                f"chosen generator makes {generator.img_resolution}×"
                f"{generator.img_resolution} images; open the photo again with this "
                "generator.")
        run_settings = settings
        initial = None
        if resume:
            check_generator(snapshot, generator)
            initial = chunk_codes(snapshot, generator.w_avg.device)
            run_settings = dataclasses.replace(settings, space=initial[0].space)
        lpips = models.lpips() if "lpips" in loss_kind else models.lpips_if_installed()
        loss = ReconstructionLoss(loss_kind, lpips_model=lpips if "lpips" in loss_kind
                                  else None)
        device = generator.w_avg.device
        target = uint8_to_images(snapshot.aligned, device)
        masks = torch.from_numpy(np.stack(resolve_overlaps([c.mask for c in snapshot.chunks])))
        job = InversionJob(generator, target, masks, run_settings, loss, initial_codes=initial)
        stopped = False
        for progress in job.run():
            yield InversionUpdate("invert", progress)
            stopped = stopped or progress.stopped
            if task.stop_requested and not stopped:
                job.stop()
        result = job.result()
        pti_weights = None
        if pti_steps > 0 and not stopped:
            pti = PivotalTuningJob(generator, job.target, result.codes, result.masks,
                                   run_settings.coverage, PtiSettings(steps=pti_steps,
                                                                      seed=settings.seed), loss)
            for progress in pti.run():
                yield InversionUpdate("pti", progress)
                if task.stop_requested:
                    pti.stop()
            pti_weights = pti.tuned_weights()
            result.output = composite_with(pti.tuned_generator(), result, job)
        metrics = inversion_metrics(snapshot.aligned, result, lpips=lpips,
                                    faces=snapshot.transform is not None)
        return InversionOutcome(result, run_settings, metrics, models.generator_id,
                                generator.source_sha256, pti_weights, stopped)
    return work


@dataclass
class HairOutcome:
    result: object  # core.hair.HairTransferResult (its tensors stay on the worker)
    full_photo: np.ndarray  # A with the new hair, full resolution
    photo_name: str
    notes: list[str]
    generator_id: str | None
    generator_sha256: str | None


def hair_transfer(snapshot: Document, hair_photo: Path, settings, *,
                  hair_mask_a: np.ndarray | None = None, hair_mask_b: np.ndarray | None = None):
    """B's hairstyle on the document's photo A (`core.hair`); stops at the task's flag.

    Yields the pose-direction fitting's progress (first time only) and the transfer's
    `HairProgress`. `hair_mask_a`, e.g. the document's "hair" chunk, and `hair_mask_b`
    replace Segment Anything for that photo.
    """
    def work(models: LoadedModels, task):
        from core.face import prepare_photo
        from core.hair import HairTransferJob, transfer_chunks
        from core.hair.directions import pose_directions_for
        from core.imageio import decode_photo, load_photo

        if snapshot.photo_bytes is None:
            raise InvalidInputError("This project holds no original photo to put new hair "
                                    "on.")
        generator = models.generator()
        size = generator.img_resolution
        photo_a = decode_photo(snapshot.photo_bytes, snapshot.photo_name or "photo")
        photo_b = load_photo(hair_photo)
        prepared_a = prepare_photo(photo_a, size)
        prepared_b = prepare_photo(photo_b, size)
        needs_sam = hair_mask_a is None or hair_mask_b is None
        segmenter = models.sam_if_installed() if needs_sam else None
        chunks_a = transfer_chunks(prepared_a, segmenter=segmenter, hair_mask=hair_mask_a,
                                   photo_name=photo_a.path.name, hair_required=False,
                                   mask_option="a painted 'hair' chunk")
        chunks_b = transfer_chunks(prepared_b, segmenter=segmenter, hair_mask=hair_mask_b,
                                   photo_name=photo_b.path.name,
                                   mask_option="the hair photo's mask")
        notes: list[str] = []
        directions = {}
        if settings.pose_match:
            directions = yield from pose_directions_for(models.directions(), prepared_a,
                                                        prepared_b, notes=notes)
        lpips = models.lpips() if "lpips" in settings.loss else models.lpips_if_installed()
        job = HairTransferJob(generator, prepared_a, prepared_b, chunks_a, chunks_b, settings,
                              lpips=lpips, pose_directions=directions)
        for progress in job.run():
            yield progress
            if task.stop_requested:
                job.stop()
        result = job.result()  # JobCancelled when stopped: the task ends as cancelled
        return HairOutcome(result, result.full_photo(photo_a.rgb),
                           f"{Path(photo_a.path.name).stem}-hair.png",
                           notes + list(result.notes), models.generator_id,
                           generator.source_sha256)
    return work


def hair_blend(result, t: float):
    """The A→B hair slider at `t` (one synthesis on the worker)."""
    def work(models: LoadedModels, task) -> tuple[float, np.ndarray]:
        return t, result.interpolate(t)
    return work
