"""Writing an edited result: the aligned crop, or the full photo with the edit pasted back.

Shared by `semedit render`/`semedit edit` and the desktop app's Export, so both write the
same pixels and keep the photo's colour profile and EXIF the same way; the app's Whole
Photo view shows `photo_with_edit`, the very pixels a full-photo export writes.
"""

from __future__ import annotations

from pathlib import Path

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


def export_image(doc: Document, aligned: np.ndarray, changed: np.ndarray, path: str | Path, *,
                 full_photo: bool, quality: int = 95, keep_metadata: bool = True,
                 source_path: str | Path | None = None) -> np.ndarray:
    """Write `aligned` (uint8 [R, R, 3]) or, with `full_photo`, `photo_with_edit`;
    returns the pixels written.

    `source_path` is where the photo was opened from, so it is never overwritten.
    """
    if not full_photo:
        save_image(path, aligned, quality=quality, source_path=source_path)
        return aligned
    photo = original_photo(doc)
    full = photo_with_edit(doc, aligned, changed, photo)
    save_image(path, full, quality=quality,
               icc_profile=photo.icc_profile if keep_metadata else None,
               exif=photo.exif if keep_metadata else None, source_path=source_path)
    return full
