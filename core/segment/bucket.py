"""The Fill tool's paint bucket: which pixels one click adds to a chunk.

Two cases, decided by where the click lands:

- Inside an outline the chunk itself encloses (a region below 0.5 of its mask that does
  not reach the image border, e.g. a ring painted with the brush): that whole enclosed
  area is filled, whatever the photo shows there. Drawing an outline and filling it is
  the quickest way to cut out a shape by hand.
- Anywhere else: the photo decides, as GIMP's and Photoshop's bucket fill do. The
  4-connected region around the click whose colour is within `tolerance` of the clicked
  colour is added to the chunk.

Colour distance: Euclidean in CIELAB with OpenCV's 8-bit scaling (L*·255/100, a* + 128,
b* + 128), so the tolerance reads like Photoshop's 0–255 one while following what the
eye sees (a step of 32 is about 12.5 ΔE in lightness). The clicked colour is the mean of
the 3×3 pixels around the click, so one noisy pixel does not decide the fill.

Pixels in `blocked` (the locked chunks' pixels) are never filled and stop the region.
The result only adds to the mask (max with the old values): a fill never erases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import InvalidInputError

__all__ = ["DEFAULT_TOLERANCE", "MAX_TOLERANCE", "BucketFill", "bucket_fill", "colour_region",
           "enclosed_area", "fill_point"]

# On the bundled astronaut (aligned at 512²) a click on the cheek at 24 takes the skin and
# stops at the hair and background; at 32 it leaks into the pale background.
DEFAULT_TOLERANCE = 24.0
MAX_TOLERANCE = 255.0
_INSIDE = 0.5  # mask values at or above this are inside the chunk (as its outline shows)


@dataclass(frozen=True)
class BucketFill:
    """A fill's outcome: the new mask, how many pixels it took, and which case applied
    ("enclosed": the area inside the chunk's own outline; "colour": similar photo colour)."""

    mask: np.ndarray
    pixels: int
    kind: str


def fill_point(x: float, y: float, height: int, width: int) -> tuple[int, int]:
    """(row, col) of the pixel whose centre is nearest (x, y), or a sentence why not."""
    try:
        col, row = round(float(x)), round(float(y))
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(f"The fill point ({x!r}, {y!r}) is not a pair of numbers.") from exc
    if not (0 <= row < height and 0 <= col < width):
        raise InvalidInputError(
            f"The fill point ({x}, {y}) lies outside the {width}x{height} image.")
    return row, col


def _checked_image(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape:
        raise InvalidInputError(
            f"Fill by colour needs an RGB uint8 image, not {array.dtype} {array.shape}.")
    return np.ascontiguousarray(array)


def _checked_blocked(blocked: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    if blocked is None:
        return np.zeros(shape, bool)
    array = np.asarray(blocked, dtype=bool)
    if array.shape != shape:
        raise InvalidInputError(
            f"The locked pixels are {array.shape[1]}x{array.shape[0]} but the image is "
            f"{shape[1]}x{shape[0]}.")
    return array


def _checked_tolerance(tolerance: float) -> float:
    try:
        value = float(tolerance)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"The fill tolerance must be a number, not {tolerance!r}.") from exc
    if not math.isfinite(value) or not 0.0 <= value <= MAX_TOLERANCE:
        raise InvalidInputError(
            f"The fill tolerance must be between 0 and {MAX_TOLERANCE:g}, not {tolerance!r}.")
    return value


def _connected(allowed: np.ndarray, row: int, col: int) -> np.ndarray:
    """The 4-connected region of `allowed` (bool [H, W]) holding (row, col)."""
    height, width = allowed.shape
    region = np.zeros((height + 2, width + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    cv2.floodFill(allowed.astype(np.uint8), region, (col, row), 1, 0, 0, flags)
    return region[1:-1, 1:-1].astype(bool)


def colour_region(image: np.ndarray, x: float, y: float,
                  tolerance: float = DEFAULT_TOLERANCE,
                  blocked: np.ndarray | None = None) -> np.ndarray:
    """bool [H, W]: the 4-connected pixels around (x, y) whose colour lies within
    `tolerance` (0–255, CIELAB, see the module notes) of the clicked colour, not crossing
    `blocked` pixels. Empty when the clicked pixel itself is blocked."""
    rgb = _checked_image(image)
    height, width = rgb.shape[:2]
    row, col = fill_point(x, y, height, width)
    tolerance = _checked_tolerance(tolerance)
    barrier = _checked_blocked(blocked, (height, width))
    if barrier[row, col]:
        return np.zeros((height, width), bool)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    seed = lab[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2].reshape(-1, 3).mean(0)
    distance = np.sqrt(((lab - seed) ** 2).sum(-1))
    # A hair of slack: the seed's own pixel must always count at tolerance 0.
    similar = (distance <= tolerance + 1e-3) & ~barrier
    similar[row, col] = True
    return _connected(similar, row, col)


def enclosed_area(mask: np.ndarray, x: float, y: float) -> np.ndarray | None:
    """bool [H, W]: the area around (x, y) that the mask's own outline encloses (below 0.5
    and not reaching the border), or None when the click is not inside such an area."""
    height, width = mask.shape
    row, col = fill_point(x, y, height, width)
    if mask[row, col] >= _INSIDE:
        return None
    area = _connected(mask < _INSIDE, row, col)
    if area[0].any() or area[-1].any() or area[:, 0].any() or area[:, -1].any():
        return None
    return area


def bucket_fill(mask: np.ndarray, image: np.ndarray, x: float, y: float, *,
                tolerance: float = DEFAULT_TOLERANCE,
                blocked: np.ndarray | None = None) -> BucketFill:
    """The chunk mask after a Fill click at (x, y): the enclosed area when the click lies
    inside the chunk's own outline, else the similar-colour region of `image`."""
    rgb = _checked_image(image)
    array = np.asarray(mask, dtype=np.float32)
    if array.shape != rgb.shape[:2]:
        raise InvalidInputError(
            f"The chunk is {array.shape[1]}x{array.shape[0]} but the image is "
            f"{rgb.shape[1]}x{rgb.shape[0]}.")
    barrier = _checked_blocked(blocked, array.shape)
    area = enclosed_area(array, x, y)
    if area is not None:
        region, kind = area & ~barrier, "enclosed"
    else:
        region, kind = colour_region(rgb, x, y, tolerance, barrier), "colour"
    result = array.copy()
    result[region] = 1.0
    return BucketFill(result, int(np.count_nonzero(region & (array < 1.0))), kind)
