"""Mask PNG files: 8- or 16-bit greyscale in, resized to the generator's resolution."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.errors import ImageError, InvalidInputError
from core.fileio import write_atomically


@dataclass
class LoadedMask:
    mask: np.ndarray  # float32 [R, R] in [0, 1]
    warning: str | None  # set when the file had to be resized


def load_mask(path: str | Path, resolution: int) -> LoadedMask:
    """Read a greyscale (or colour: luminance is used) PNG/JPEG/... as a soft mask."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            image.load()
            values = _as_unit_float(image)
            original = image.size
    except FileNotFoundError as exc:
        raise ImageError(f"The mask file {path} does not exist.") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageError(f"{path} is not a readable mask image ({exc}).") from exc
    warning = None
    if values.shape != (resolution, resolution):
        warning = (f"{path.name} is {original[0]}x{original[1]}; it was resized to "
                   f"{resolution}x{resolution} to match the generator.")
        values = np.asarray(Image.fromarray(values, mode="F").resize(
            (resolution, resolution), Image.Resampling.BILINEAR))
    return LoadedMask(np.clip(values, 0.0, 1.0).astype(np.float32), warning)


def _as_unit_float(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        data = np.asarray(image, dtype=np.float32)
        return data / (65535.0 if data.max() > 255 or image.mode.startswith("I;16") else 255.0)
    if image.mode == "F":
        return np.asarray(image, dtype=np.float32)
    if image.mode in ("RGBA", "LA", "PA"):
        image = image.convert("RGBA").convert("L")  # alpha is ignored: painted value counts
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


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


def save_mask(path: str | Path, mask: np.ndarray, *, bits: int = 8) -> Path:
    """Write a soft mask as an 8- or 16-bit greyscale PNG, atomically."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InvalidInputError(f"Masks are saved as PNG; {path.name} does not end in .png.")
    data = mask_png_bytes(mask, bits)
    if not path.parent.is_dir():
        raise ImageError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    try:
        write_atomically(path, lambda stream: stream.write(data))
    except OSError as error:
        raise ImageError(f"Cannot write {path}: {error.strerror or error}.") from error
    return path
