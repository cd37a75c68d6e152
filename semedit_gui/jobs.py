"""The work the GPU worker does for the window: each function returns `work(models, task)`.

Each job is one call of a `core.workflows` workflow: it runs on the worker thread,
receives only values the UI thread will not change afterwards (document snapshots,
copies of arrays, paths), stops through `task.control`, and returns a CPU-only outcome
(numpy arrays and plain values, never a tensor or a model) for the UI thread to apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from core import workflows
from core.errors import InvalidInputError, NoFaceError
from core.imageio import decode_photo, load_photo
from core.models.loaded import LoadedModels
from core.project import Document
from core.project.export import export_size
from core.workflows import AutoChunks, HairOutcome, InversionOutcome, OpenedPhoto
from core.workflows.progress import relay

__all__ = ["AutoChunks", "ExportRequest", "FaceNeeded", "HairOutcome", "HairPhotoToPaint",
           "InversionOutcome", "InversionUpdate", "OpenedPhoto", "WholePhoto", "auto_chunks",
           "check_generator", "export", "hair_blend", "hair_photo_to_paint", "hair_transfer",
           "invert", "load_directions", "open_photo", "open_project", "sam_predict",
           "save_project", "screen_copy", "whole_photo"]

check_generator = workflows.check_generator


@dataclass(frozen=True)
class FaceNeeded:
    """Opening a photo found no face to align: the user chooses what to crop instead."""

    path: Path


def open_photo(path: Path, *, align: bool = True, face_index: int | None = None,
               square: tuple[int, int, int] | None = None):
    """Decode and align a photo into a new document (chunks come later): the largest face,
    face `face_index`, a `square` placed by hand, or the centre square (align=False). No
    face found ends with `FaceNeeded` instead of an error."""
    def work(models: LoadedModels, task) -> OpenedPhoto | FaceNeeded:
        try:
            return (yield from workflows.open_photo(models, path, align=align,
                                                    face_index=face_index, square=square,
                                                    control=task.control))
        except NoFaceError:
            if not align or square is not None:
                raise
            return FaceNeeded(Path(path))
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


def auto_chunks(snapshot: Document):
    """Face chunks for the aligned image (SAM when installed, else the landmarks)."""
    def work(models: LoadedModels, task) -> AutoChunks:
        return (yield from workflows.auto_chunks(models, snapshot, control=task.control))
    return work


def sam_predict(aligned: np.ndarray, points: list[tuple[float, float]], labels: list[int],
                box: tuple[float, float, float, float] | None):
    def work(models: LoadedModels, task):
        return (yield from workflows.sam_mask(models, aligned, points=points, labels=labels,
                                              box=box, control=task.control))
    return work


def load_directions():
    """The direction library's directions for the current generator."""
    def work(models: LoadedModels, task):
        return workflows.list_directions(models, task.control)
    return work


@dataclass(frozen=True)
class ExportRequest:
    path: Path
    full_photo: bool
    quality: int = 95
    keep_metadata: bool = True
    source_path: Path | None = None
    force_fp32: bool | None = None  # the Preferences' precision (None: as inverted)
    scale: float | None = None  # shrink what is written (core.project.export.export_size)
    max_side: int | None = None


def export(snapshot: Document, request: ExportRequest):
    """Render the edited result and write it (full photo via paste-back, or the crop)."""
    def work(models: LoadedModels, task) -> Path:
        exported = yield from workflows.export(
            models, snapshot, request.path, full_photo=request.full_photo,
            quality=request.quality, keep_metadata=request.keep_metadata,
            source_path=request.source_path, force_fp32=request.force_fp32,
            scale=request.scale, max_side=request.max_side, control=task.control)
        return exported.path
    return work


@dataclass(frozen=True, eq=False)
class WholePhoto:
    """The photo as a full-photo export writes it, sized for the screen."""

    image: np.ndarray  # uint8; a smaller copy when the photo's long side exceeds max_side
    photo_size: tuple[int, int]  # (width, height) the export writes
    edited: bool  # False: nothing is pasted back, the export is the original's pixels
    seconds: float  # the render's


def screen_copy(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """`rgb`, or a copy shrunk so that its long side is `max_side`."""
    height, width = rgb.shape[:2]
    size = export_size(width, height, max_side=max_side)  # the exports' size rule
    if size == (width, height):
        return rgb
    scale = max_side / max(height, width)
    # Less than halving, bilinear already averages every source pixel and is ~7× faster
    # than area averaging (the original is shrunk on the UI thread).
    interpolation = cv2.INTER_LINEAR if scale > 0.5 else cv2.INTER_AREA
    return cv2.resize(rgb, size, interpolation=interpolation)


def whole_photo(snapshot: Document, *, force_fp32: bool | None, max_side: int):
    """The edited render pasted back into the original photo, as "Export full photo"
    writes it (core's `render_full_photo`), with a screen-sized copy for the view."""
    def work(models: LoadedModels, task) -> WholePhoto:
        full = yield from workflows.render_full_photo(models, snapshot, force_fp32=force_fp32,
                                                      control=task.control)
        height, width = full.image.shape[:2]
        return WholePhoto(screen_copy(full.image, max_side), (width, height), full.edited,
                          full.seconds)
    return work


@dataclass
class InversionUpdate:
    """One step of an inversion run: stage "invert" or "pti", and its `Progress`
    (`.step .total_steps .losses .preview`)."""

    stage: str
    progress: workflows.Progress


def invert(snapshot: Document, settings, *, loss_kind: str = "lpips", pti_steps: int = 0,
           resume: bool = False, init: str | None = None):
    """ChunkyGAN inversion of the snapshot's chunks; `resume` starts from their codes.
    A stop ends it after the current step with what it reached (a partial result the
    user can continue). `init`: "e4e", "mean" or None (e4e when an encoder is installed);
    with no steps, "e4e" is the app's Quick reconstruction."""
    def work(models: LoadedModels, task) -> InversionOutcome:
        run = workflows.invert(models, snapshot, settings, loss_kind=loss_kind,
                               pti_steps=pti_steps, resume=resume, init=init,
                               control=task.control)
        return (yield from relay(run, lambda p: InversionUpdate(p.stage, p)))
    return work


# How the app's user gives each photo's hair, for core's messages (the CLI names flags).
APP_MASK_OPTIONS = ("a chunk chosen under “This photo's hair” in the Hair panel",
                    "“Paint its hair…” in the Hair panel")


def hair_transfer(snapshot: Document, hair_photo: Path, settings, *,
                  hair_mask_a: np.ndarray | None = None, hair_mask_b: np.ndarray | None = None,
                  face_b: int | None = None):
    """B's hairstyle on the document's photo A; yields `Progress` (the pose directions'
    fitting, the first time, then the transfer's stages). A is cut as the document is
    (its face or crop), so `hair_mask_a`, the document's chunk chosen as the hair, fits;
    it and `hair_mask_b` replace Segment Anything for that photo."""
    def work(models: LoadedModels, task) -> HairOutcome:
        if snapshot.photo_bytes is None:
            raise InvalidInputError("This project holds no original photo to put new hair "
                                    "on.")
        photo_a = decode_photo(snapshot.photo_bytes, snapshot.photo_name or "photo")
        return (yield from workflows.hair_transfer(
            models, photo_a, load_photo(hair_photo), settings, hair_mask_a=hair_mask_a,
            hair_mask_b=hair_mask_b, face_b=face_b, frame_a=snapshot.transform,
            mask_options=APP_MASK_OPTIONS, control=task.control))
    return work


@dataclass
class HairPhotoToPaint:
    """The hair photo in the frame the transfer aligns it to, and a first hair mask
    (Segment Anything's, when installed and it finds hair; else None)."""

    document: Document
    hair: np.ndarray | None
    notes: list[str]


def hair_photo_to_paint(hair_photo: Path, *, face_index: int | None = None):
    """Align the hair photo as the transfer will (face `face_index`, else the largest;
    generator resolution) so the user can paint its hair in that frame."""
    def work(models: LoadedModels, task) -> HairPhotoToPaint:
        opened = yield from workflows.open_photo(models, hair_photo, face_index=face_index,
                                                 control=task.control)
        hair, notes = None, []
        if models.sam_if_installed() is not None:
            try:
                chunks = yield from workflows.auto_chunks(models, opened.document,
                                                          control=task.control)
                hair, notes = chunks.masks.get("hair"), list(chunks.notes)
            except NoFaceError as error:
                notes = [str(error)]
        return HairPhotoToPaint(opened.document, hair, notes)
    return work


def hair_blend(result: workflows.HairTransfer, t: float):
    """The A→B hair slider at `t` (one synthesis on the worker, with the current
    generator)."""
    def work(models: LoadedModels, task) -> tuple[float, np.ndarray]:
        return t, workflows.hair_blend(models, result, t)
    return work

