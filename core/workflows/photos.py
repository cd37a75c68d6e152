"""Opening a photo as a new document, and its automatic face chunks."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import NoFaceError
from core.imageio import Photo
from core.jobs import JobControl, control_or_new
from core.models.loaded import LoadedModels
from core.project import Document
from core.workflows.progress import Progress


@dataclass
class OpenedPhoto:
    """A new document: the photo aligned (FFHQ, or a centre crop) with no chunks yet."""

    document: Document
    path: Path
    notes: list[str] = field(default_factory=list)
    face_score: float | None = None  # the aligned face's detection score; None: centre crop
    face_boxes: tuple[tuple[int, int, int, int], ...] = ()  # every face found, largest first
    face_index: int = 0  # which of them was aligned

    @property
    def face_found(self) -> bool:
        return self.face_score is not None


def open_photo(models: LoadedModels, photo: Photo | str | Path, *, align: bool = True,
               face_index: int | None = None, size: int | None = None,
               square: tuple[int, int, int] | None = None,
               control: JobControl | None = None) -> Generator[Progress, None, OpenedPhoto]:
    """Decode and align a photo into a new document at `size` (default: the generator's
    resolution; the document then records the generator). `square` (x0, y0, side in photo
    pixels) is a face placed by hand: that square is the crop, without alignment."""
    from core.face import prepare_photo
    from core.imageio import load_photo

    control = control_or_new(control)
    if not isinstance(photo, Photo):
        photo = load_photo(photo)
    generator = models.generator() if size is None else None
    control.check("Opening the photo")
    aligning = align and square is None
    yield Progress("align", 0, 1, "Aligning the face" if aligning else "Cropping")
    prepared = prepare_photo(photo, size or generator.img_resolution, align=align,
                             face_index=face_index, square=square)
    doc = Document(aligned=prepared.aligned, photo_bytes=photo.file_bytes,
                   photo_name=photo.path.name, transform=prepared.transform.to_json(),
                   generator_id=models.generator_id if generator is not None else None,
                   generator_sha256=generator.source_sha256 if generator is not None else None)
    if square is not None:
        notes = ["The face square you placed was used as the crop (no automatic alignment)."]
    elif not align:
        notes = ["No face alignment: the photo was centre-cropped."]
    else:
        notes = []
    return OpenedPhoto(doc, photo.path, notes,
                       None if prepared.face is None else float(prepared.face.score),
                       prepared.face_boxes, face_index or 0)


@dataclass
class AutoChunks:
    """Face chunks (face, eyes, mouth, hair, background) in the aligned frame."""

    masks: dict[str, np.ndarray]
    notes: list[str]
    method: str = ""  # "sam" or "landmarks"


def auto_chunks(models: LoadedModels, doc: Document, *, control: JobControl | None = None
                ) -> Generator[Progress, None, AutoChunks]:
    """Face chunks for a document's aligned image: with Segment Anything when installed
    (or chosen), from the face landmarks alone otherwise."""
    from core.face.align import AlignTransform
    from core.face.prepare import landmarks_in_aligned
    from core.imageio import decode_photo
    from core.segment.face_chunks import face_chunks

    control = control_or_new(control)
    photo, transform = None, None
    if doc.photo_bytes is not None and doc.transform is not None:
        photo = decode_photo(doc.photo_bytes, doc.photo_name or "photo").rgb
        transform = AlignTransform.from_json(doc.transform)
    yield Progress("landmarks", 0, 2, "Finding the face")
    try:
        landmarks = landmarks_in_aligned(doc.aligned, transform, photo)
    except NoFaceError as error:
        raise NoFaceError("No face was found, so chunks cannot be placed automatically; "
                          "paint them with the brush or click them with Segment "
                          "Anything.") from error
    segmenter = models.sam_if_installed()
    control.check("Finding face chunks")
    yield Progress("chunks", 1, 2, "Placing the chunks")
    chunks = face_chunks(doc.aligned, landmarks, segmenter)
    return AutoChunks(dict(chunks.masks), list(chunks.notes), chunks.method)
