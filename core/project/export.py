"""Writing an edited result: the aligned crop, or the full photo with the edit pasted back.

Shared by `semedit render`/`semedit edit` and the desktop app's Export, so both write the
same pixels and keep the photo's colour profile and EXIF the same way; the app's Whole
Photo view shows `photo_with_edit`, the very pixels a full-photo export writes.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.errors import InvalidInputError
from core.face.align import AlignTransform
from core.face.pasteback import paste_back
from core.imageio import Photo, decode_photo, save_image
from core.project.document import Document


def original_photo(doc: Document) -> Photo:
    """The photo the document was cut from, decoded, or an error saying it has none."""
    if doc.photo_bytes is None or doc.transform is None:
        raise InvalidInputError("The project holds no original photo to paste the edit back "
                                "into; export the aligned crop instead.")
    return decode_photo(doc.photo_bytes, doc.photo_name or "photo")


def photo_with_edit(doc: Document, aligned: np.ndarray, changed: np.ndarray,
                    photo: Photo | None = None) -> np.ndarray:
    """The original photo with the pixels where `changed` > 0 replaced by `aligned`
    (uint8 [R, R, 3]) warped back: what a full-photo export writes, and what the app's
    whole-photo view shows. `photo`: `original_photo(doc)` when already decoded."""
    photo = original_photo(doc) if photo is None else photo
    return paste_back(photo.rgb, aligned, AlignTransform.from_json(doc.transform), changed)


def check_export_size(scale: float | None, max_side: int | None) -> None:
    """A sentence for a size no export can have (before any rendering)."""
    if scale is not None and not 0 < scale <= 1:
        raise InvalidInputError(f"The export scale must be above 0 and at most 1 "
                                f"(1 = full size), not {scale:g}.")
    if max_side is not None and max_side < 1:
        raise InvalidInputError(f"The longest side of an export must be at least 1 pixel, "
                                f"not {max_side}.")


def export_size(width: int, height: int, *, scale: float | None = None,
                max_side: int | None = None) -> tuple[int, int]:
    """(width, height) of an export of a `width` × `height` image: shrunk by `scale`
    (0 < scale ≤ 1) and/or until its longer side is at most `max_side`; never enlarged
    (a GAN's pixels gain nothing from it), the aspect ratio kept."""
    check_export_size(scale, max_side)
    factor = 1.0 if scale is None else scale
    if max_side is not None:
        factor = min(factor, max_side / max(width, height))
    if factor >= 1:
        return width, height
    return max(round(width * factor), 1), max(round(height * factor), 1)


def resized_for_export(rgb: np.ndarray, *, scale: float | None = None,
                       max_side: int | None = None) -> np.ndarray:
    """`rgb` at `export_size` (itself when that is its size), area-averaged."""
    height, width = rgb.shape[:2]
    size = export_size(width, height, scale=scale, max_side=max_side)
    if size == (width, height):
        return rgb
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def export_image(doc: Document, aligned: np.ndarray, changed: np.ndarray, path: str | Path, *,
                 full_photo: bool, quality: int = 95, keep_metadata: bool = True,
                 source_path: str | Path | None = None, scale: float | None = None,
                 max_side: int | None = None) -> np.ndarray:
    """Write `aligned` (uint8 [R, R, 3]) or, with `full_photo`, `photo_with_edit`, shrunk
    as `export_size` says (after the paste-back, so the edit is blended at full
    resolution); returns the pixels written.

    `source_path` is where the photo was opened from, so it is never overwritten.
    """
    check_export_size(scale, max_side)  # before the paste-back's work
    if not full_photo:
        written = resized_for_export(aligned, scale=scale, max_side=max_side)
        save_image(path, written, quality=quality, source_path=source_path)
        return written
    photo = original_photo(doc)
    full = photo_with_edit(doc, aligned, changed, photo)
    written = resized_for_export(full, scale=scale, max_side=max_side)
    save_image(path, written, quality=quality,
               icc_profile=photo.icc_profile if keep_metadata else None,
               exif=photo.exif if keep_metadata else None, source_path=source_path)
    return written
