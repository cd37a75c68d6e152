"""Soft masks as greyscale PNG bytes: the one mask encoder, for project members
(`masks/NN.png`) and mask files alike. It sits below segment and project, which both
write masks."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from core.errors import InvalidInputError


def mask_png_bytes(mask: np.ndarray, bits: int = 16) -> bytes:
    """A soft mask encoded as an 8- or 16-bit greyscale PNG (16 bits keep soft edges)."""
    if bits not in (8, 16):
        raise InvalidInputError(f"Masks are written with 8 or 16 bits, not {bits}.")
    values = np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0)
    if values.ndim != 2:
        raise InvalidInputError(f"A mask is a 2-D array, not shape {values.shape}.")
    if bits == 8:
        image = Image.fromarray(np.rint(values * 255.0).astype(np.uint8), "L")
    else:
        # "<u2" because Pillow's I;16 is little-endian.
        image = Image.fromarray(np.ascontiguousarray(np.rint(values * 65535.0).astype("<u2")))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()
