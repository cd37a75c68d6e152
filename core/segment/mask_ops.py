"""Pure operations on soft chunk masks: fill, grow/shrink, feather, set algebra, overlaps.

A mask is a 2-D float32 array [H, W] with values in [0, 1]. Every function here returns a
new float32 array and never touches its inputs. Inputs may be of any real dtype (bool works
too); they are converted to float32, NaN/inf is refused, and values within 1e-3 of [0, 1]
are clipped into it (resampling noise); values further out are refused.

Coordinates: pixel (row r, col c) is at x = c, y = r.

Overlapping chunks (`resolve_overlaps`): masks are ordered bottom to top and the chunk on
top wins, like alpha "over" compositing of layers:

    resolved_i = m_i * Π_{j > i} (1 - m_j)

so hard (0/1) masks become disjoint with the topmost one unchanged, soft masks share a
pixel only where the chunks above are partly transparent there, and
Σ_i resolved_i = 1 - Π_i (1 - m_i) = `coverage(masks)` ≤ 1 everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from core.errors import InvalidInputError

__all__ = [
    "cleared",
    "coverage",
    "feather",
    "fill_holes",
    "grow",
    "intersect",
    "invert",
    "resolve_overlaps",
    "subtract",
    "union",
]

# Values this far outside [0, 1] are taken as rounding noise and clipped, not refused.
_RANGE_SLACK = 1e-3


# --------------------------------------------------------------------- validation


def _as_mask(mask: np.ndarray, name: str = "mask") -> np.ndarray:
    """The mask as float32 in [0, 1] (a new array only when conversion or clipping is needed)."""
    array = np.asarray(mask)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise InvalidInputError(f"The {name} must be a non-empty 2-D array, not {array.shape}.")
    if array.dtype.kind not in "biuf":
        raise InvalidInputError(f"The {name} must hold numbers, not {array.dtype}.")
    array = np.ascontiguousarray(array, dtype=np.float32)  # cv2 wants contiguous arrays
    low, high = float(array.min()), float(array.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        raise InvalidInputError(f"The {name} contains NaN or infinite values.")
    if low < -_RANGE_SLACK or high > 1 + _RANGE_SLACK:
        raise InvalidInputError(
            f"The {name} must have values in [0, 1], not [{low:.4g}, {high:.4g}]."
        )
    if low < 0 or high > 1:
        array = np.clip(array, 0.0, 1.0)
    return array


def _same_shape(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_mask(a, "first mask"), _as_mask(b, "second mask")
    if a.shape != b.shape:
        raise InvalidInputError(
            f"The two masks have different sizes ({a.shape[1]}x{a.shape[0]} and "
            f"{b.shape[1]}x{b.shape[0]})."
        )
    return a, b


def _stack(masks: Sequence[np.ndarray]) -> list[np.ndarray]:
    arrays = [_as_mask(m, f"mask {i}") for i, m in enumerate(masks)]
    if arrays and any(a.shape != arrays[0].shape for a in arrays):
        shapes = sorted({f"{a.shape[1]}x{a.shape[0]}" for a in arrays})
        raise InvalidInputError(f"The masks have different sizes ({', '.join(shapes)}).")
    return arrays


def _number(value: float, what: str, low: float = -math.inf, high: float = math.inf) -> float:
    """`value` as a float in [low, high] (finite), or a sentence saying what is wrong."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"The {what} must be a number, not {value!r}.") from exc
    if not math.isfinite(number):
        raise InvalidInputError(f"The {what} must be a finite number.")
    if not low <= number <= high:
        raise InvalidInputError(f"The {what} must be between {low:g} and {high:g}, "
                                f"not {value!r}.")
    return number


def _radius(radius_px: float, what: str) -> float:
    return _number(radius_px, f"{what} radius")


def _unit(value: float, what: str) -> float:
    return _number(value, what, 0.0, 1.0)


# --------------------------------------------------------------------- fill


def fill_holes(
    mask: np.ndarray, threshold: float = 0.5, max_hole_area: int | None = None
) -> np.ndarray:
    """Set enclosed holes to 1: the regions below `threshold` that do not touch the border.

    The background is 4-connected (a hole leaking only through a diagonal gap is still a
    hole). With `max_hole_area` only holes of at most that many pixels are filled, so that
    e.g. specks inside a chunk go but a deliberate opening (the mouth) stays.
    """
    array = _as_mask(mask)
    threshold = _unit(threshold, "hole threshold")
    if max_hole_area is not None and (
        isinstance(max_hole_area, bool) or not isinstance(max_hole_area, int | np.integer)
        or max_hole_area < 0
    ):
        raise InvalidInputError(
            f"The largest hole area must be a whole number of pixels ≥ 0, not {max_hole_area!r}."
        )
    below = (array < threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(below, connectivity=4)
    is_hole = np.ones(count, bool)
    is_hole[0] = False  # label 0: pixels at or above the threshold
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        is_hole[edge] = False
    if max_hole_area is not None:
        is_hole &= stats[:, cv2.CC_STAT_AREA] <= max_hole_area
    result = array.copy()
    if is_hole.any():
        result[is_hole[labels]] = 1.0
    return result


# --------------------------------------------------------------------- morphology


def grow(mask: np.ndarray, radius_px: float) -> np.ndarray:
    """Grow (radius > 0) or shrink (radius < 0) the mask by a disk of that radius.

    Grey morphology: growing is a max filter over the disk {dx² + dy² ≤ r²}, shrinking a min
    filter, so soft edges move as a whole. Outside the image counts as "no information":
    a chunk touching the border does not recede from it when shrunk. Cost O(H·W·r).
    """
    array = _as_mask(mask)
    radius = _radius(radius_px, "grow")
    if abs(radius) < 1:
        return array.copy()
    return _disk_filter(array, abs(radius), np.maximum if radius > 0 else np.minimum)


def _disk_filter(array: np.ndarray, radius: float, pick: np.ufunc) -> np.ndarray:
    """Max (or min) filter over a disk, as the union of the disk's rows.

    The disk is the union over dy of horizontal segments |dx| ≤ w(dy); a max filter over a
    union is the max of the filters. Horizontal filters g_w grow one pixel per step, and
    w(dy) shrinks as |dy| grows, so one pass from the outermost row offset inwards suffices.
    Pixels outside the image are simply not looked at.
    """
    height, width = array.shape
    reach = math.floor(radius)
    half_widths = [math.floor(math.sqrt(max(radius * radius - dy * dy, 0.0)) + 1e-9)
                   for dy in range(reach + 1)]
    out = array.copy()
    g = array.copy()  # horizontal filter of half-width `have`
    have = 0
    for dy in range(min(reach, height - 1), -1, -1):
        want = min(half_widths[dy], width - 1)
        while have < want:
            have += 1
            pick(g[:, have:], array[:, :-have], out=g[:, have:])
            pick(g[:, :-have], array[:, have:], out=g[:, :-have])
        if dy == 0:
            pick(out, g, out=out)
        else:
            pick(out[dy:], g[:-dy], out=out[dy:])
            pick(out[:-dy], g[dy:], out=out[:-dy])
    return out


def feather(mask: np.ndarray, radius_px: float) -> np.ndarray:
    """Soften edges with a Gaussian of sigma = radius / 2.

    With that sigma a hard edge becomes a ramp from about 2 % to 98 % (±2 sigma) over
    `radius` pixels on either side of where it was. The image border is extended (replicated),
    so a chunk touching the border does not fade out there.
    """
    array = _as_mask(mask)
    radius = _radius(radius_px, "feather")
    if radius < 0:
        raise InvalidInputError(f"The feather radius must be ≥ 0 pixels, not {radius_px!r}.")
    if radius == 0:
        return array.copy()
    sigma = radius / 2.0
    blurred = cv2.GaussianBlur(array, (0, 0), sigmaX=sigma, sigmaY=sigma,
                               borderType=cv2.BORDER_REPLICATE)
    return np.clip(blurred, 0.0, 1.0, out=blurred)


# --------------------------------------------------------------------- algebra


def invert(mask: np.ndarray) -> np.ndarray:
    """Everything that is not in the mask."""
    return 1.0 - _as_mask(mask)


def union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels in either mask (max)."""
    a, b = _same_shape(a, b)
    return np.maximum(a, b)


def subtract(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels in `a` but not in `b`: min(a, 1 - b)."""
    a, b = _same_shape(a, b)
    return np.minimum(a, 1.0 - b)


def intersect(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels in both masks (min)."""
    a, b = _same_shape(a, b)
    return np.minimum(a, b)


def cleared(mask: np.ndarray) -> np.ndarray:
    """An empty mask of the same size."""
    array = np.asarray(mask)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise InvalidInputError(f"The mask must be a non-empty 2-D array, not {array.shape}.")
    return np.zeros(array.shape, np.float32)


# --------------------------------------------------------------------- overlaps


def resolve_overlaps(masks: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Masks ordered bottom to top, each reduced by what lies above it (see module docstring)."""
    arrays = _stack(masks)
    if not arrays:
        return []
    resolved: list[np.ndarray] = [np.empty(0, np.float32)] * len(arrays)
    # Transmittance of everything above the current mask, accumulated in float64 so that
    # Σ resolved stays ≤ 1 up to float32 rounding of the parts.
    clear_above = np.ones(arrays[0].shape, np.float64)
    for i in range(len(arrays) - 1, -1, -1):
        resolved[i] = (arrays[i] * clear_above).astype(np.float32)
        clear_above *= 1.0 - arrays[i]
    return resolved


def coverage(masks: Sequence[np.ndarray]) -> np.ndarray:
    """How much of each pixel some chunk covers: Σ resolved = 1 - Π (1 - m_i)."""
    arrays = _stack(masks)
    if not arrays:
        raise InvalidInputError("Coverage needs at least one mask.")
    clear = np.ones(arrays[0].shape, np.float64)
    for array in arrays:
        clear *= 1.0 - array
    return (1.0 - clear).astype(np.float32)
