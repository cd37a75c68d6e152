"""Mask PNG files: 8- or 16-bit greyscale in, resized to the generator's resolution."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.errors import ImageError, InvalidInputError
from core.fileio import write_atomically
from core.imageio import open_image, read_image_file
from core.mask_png import mask_png_bytes


@dataclass
class LoadedMask:
    mask: np.ndarray  # float32 [R, R] in [0, 1]
    warning: str | None  # set when the file had to be resized


def load_mask(path: str | Path, resolution: int) -> LoadedMask:
    """Read a greyscale (or colour: luminance is used) PNG/JPEG/... as a soft mask."""
    path = Path(path)
    with open_image(read_image_file(path), path) as image:  # the one image reader
        try:
            values = _as_unit_float(image)
        except (OSError, ValueError, MemoryError) as exc:
            raise ImageError(f"{path} is not a readable mask image ({exc}).") from exc
        original = image.size
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
