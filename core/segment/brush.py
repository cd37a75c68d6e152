"""A round brush painting soft masks in place, with Photoshop stroke semantics.

Coordinates: pixel (row r, col c) has its centre at x = c, y = r, so x = 10.0 is the middle
of column 10 (a view maps mouse positions to these before calling `add_point`).

A stroke keeps a coverage buffer, the max of all dab alphas so far, and sets

    painting: mask = base + (1 - base) * coverage * opacity
    erasing:  mask = base * (1 - coverage * opacity)

from the mask as it was when the stroke started (`base`). Overlapping dabs of one stroke
therefore never go beyond the brush's opacity; a second stroke builds on the first.

Sub-pixel centres: brushes from `SUBPIXEL_MIN_SIZE` up to `SUBPIXEL_MAX_SIZE` place dabs at
quarter-pixel positions (each offset has its own cached footprint), so thin diagonal strokes
stay smooth. Larger brushes round the centre to the nearest pixel, where a half-pixel wobble
is invisible and one footprint per setting keeps the cache small; a one-pixel brush rounds
too, so that it paints whole pixels.

Footprints below 32 px are supersampled (4x4 per pixel) for an exact area, and every dab
reaches alpha 1 at its brightest pixel, so even tiny or soft brushes can paint solid.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from core.errors import InvalidInputError

__all__ = [
    "MAX_BRUSH_SIZE",
    "SUBPIXEL_MAX_SIZE",
    "SUBPIXEL_MIN_SIZE",
    "BBox",
    "Brush",
    "BrushStroke",
    "StrokeResult",
    "dab_footprint",
]

# (row0, col0, row1, col1), half-open like Python slices (as in core.project.history).
BBox = tuple[int, int, int, int]

MAX_BRUSH_SIZE = 4096.0
SUBPIXEL_MIN_SIZE = 2.0
SUBPIXEL_MAX_SIZE = 100.0
_SUBPIXEL_STEPS = 4  # quarter-pixel dab positions
_SMALL_DAB_SIZE = 32.0  # below this, footprints are supersampled
_SMALL_DAB_SAMPLES = 4
_TILE = 64  # the stroke copies the mask's old values lazily, tile by tile


@dataclass(frozen=True)
class Brush:
    """A round brush: diameter in mask pixels, edge hardness, opacity, paint or erase."""

    size: float = 32.0
    hardness: float = 0.8
    opacity: float = 1.0
    erase: bool = False

    def __post_init__(self) -> None:
        if not _finite(self.size) or not 1.0 <= self.size <= MAX_BRUSH_SIZE:
            raise InvalidInputError(
                f"The brush size must be between 1 and {MAX_BRUSH_SIZE:g} pixels, "
                f"not {self.size!r}."
            )
        if not _finite(self.hardness) or not 0.0 <= self.hardness <= 1.0:
            raise InvalidInputError(
                f"The brush hardness must be between 0 and 1, not {self.hardness!r}."
            )
        if not _finite(self.opacity) or not 0.0 < self.opacity <= 1.0:
            raise InvalidInputError(
                f"The brush opacity must be above 0 and at most 1, not {self.opacity!r}."
            )
        if not isinstance(self.erase, bool | np.bool_):
            raise InvalidInputError(
                f"The brush erase flag must be True or False, not {self.erase!r}."
            )

    @property
    def spacing(self) -> float:
        """Distance between dabs along a stroke: 15 % of the size, at least one pixel."""
        return max(1.0, 0.15 * self.size)


def _finite(value: object) -> bool:
    return (isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool) and math.isfinite(value))


# --------------------------------------------------------------------- footprint


def dab_footprint(size: float, hardness: float, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    """The alpha of one dab: a read-only float32 square of odd side 2k + 1.

    Its centre element [k, k] is the pixel the dab is anchored at; the dab's true centre is
    (dx, dy) ∈ [0, 1) pixels right of / below that pixel's centre (quantised to a quarter
    pixel). The profile is smoothstep(clip((R + 0.5 - d) / w, 0, 1)) with R = size / 2,
    d = distance to the centre and ramp width w = 1 + (1 - hardness) · (R - 0.5): a hard
    brush (w = 1) is a disk of area ≈ π R² with a one-pixel antialiased rim, a fully soft
    one (w = R + 0.5) falls off from 1 at the centre to 0 at the rim. Dabs under 32 px are
    averaged over 4x4 samples per pixel; all are scaled so that their brightest pixel is 1.
    Cached (the result is shared, hence read-only).
    """
    if not _finite(size) or not 1.0 <= size <= MAX_BRUSH_SIZE:
        raise InvalidInputError(f"A dab size must be between 1 and {MAX_BRUSH_SIZE:g} pixels.")
    if not _finite(hardness) or not 0.0 <= hardness <= 1.0:
        raise InvalidInputError(f"A dab hardness must be between 0 and 1, not {hardness!r}.")
    if not (_finite(dx) and _finite(dy) and 0.0 <= dx < 1.0 and 0.0 <= dy < 1.0):
        raise InvalidInputError(f"A dab offset must be within [0, 1) pixels, not ({dx}, {dy}).")
    steps = _SUBPIXEL_STEPS
    qx, qy = min(round(dx * steps), steps - 1), min(round(dy * steps), steps - 1)
    return _footprint(round(float(size), 2), round(float(hardness), 3), qx, qy)


@functools.lru_cache(maxsize=64)
def _footprint(size: float, hardness: float, qx: int, qy: int) -> np.ndarray:
    radius = size / 2.0
    ramp = 1.0 + (1.0 - hardness) * (radius - 0.5)
    dx, dy = qx / _SUBPIXEL_STEPS, qy / _SUBPIXEL_STEPS
    k = math.ceil(radius + 1.5)  # reaches R + 0.5 + a sub-pixel offset of up to 0.75
    # Small dabs average 4x4 samples per pixel: point samples of a one-pixel rim would make
    # their area (and a thin stroke's width) jump by several % with the sub-pixel offset.
    samples = _SMALL_DAB_SAMPLES if size < _SMALL_DAB_SIZE else 1
    sub = (np.arange(samples, dtype=np.float32) + 0.5) / samples - 0.5
    offsets = (np.arange(-k, k + 1, dtype=np.float32)[:, None] + sub[None, :]).ravel()
    distance = np.sqrt((offsets[None, :] - dx) ** 2 + (offsets[:, None] - dy) ** 2)
    t = np.clip((radius + 0.5 - distance) / ramp, 0.0, 1.0)
    alpha = t * t * (3.0 - 2.0 * t)
    if samples > 1:
        side = 2 * k + 1
        alpha = alpha.reshape(side, samples, side, samples).mean(axis=(1, 3))
    alpha /= alpha.max()  # full opacity at the brightest pixel, even for tiny or soft dabs
    alpha = alpha.astype(np.float32)
    alpha.setflags(write=False)
    return alpha


def _anchor(x: float, y: float, size: float) -> tuple[int, int, float, float]:
    """The pixel a dab is anchored at and the sub-pixel offset of its centre."""
    if SUBPIXEL_MIN_SIZE <= size < SUBPIXEL_MAX_SIZE:
        qx = round(x * _SUBPIXEL_STEPS) / _SUBPIXEL_STEPS
        qy = round(y * _SUBPIXEL_STEPS) / _SUBPIXEL_STEPS
    else:
        qx, qy = float(round(x)), float(round(y))
    col, row = math.floor(qx), math.floor(qy)
    return col, row, qx - col, qy - row


# --------------------------------------------------------------------- stroke


@dataclass(frozen=True)
class StrokeResult:
    """What one finished stroke changed: enough for an undo diff, nothing more."""

    bbox: BBox
    old_patch: np.ndarray  # float32, the bbox before the stroke
    new_patch: np.ndarray  # float32, the bbox after it


class BrushStroke:
    """One press-drag-release of the brush, painting the live mask array in place.

    `add_point` returns the box that changed so a view redraws only that; `finish` returns
    the union box with old and new patches for the undo history. During the stroke it holds
    a coverage buffer and the old values of the tiles touched so far (both mask-sized, but
    pages are only committed where the brush went); after `finish` it holds nothing.
    """

    def __init__(self, mask: np.ndarray, brush: Brush):
        if not isinstance(mask, np.ndarray) or mask.ndim != 2 or 0 in mask.shape:
            raise InvalidInputError("The brush needs a non-empty 2-D mask array to paint on.")
        if mask.dtype != np.float32:
            raise InvalidInputError(f"The brush paints float32 masks, not {mask.dtype}.")
        if not mask.flags.writeable:
            raise InvalidInputError("The brush cannot paint on a read-only mask.")
        if not isinstance(brush, Brush):
            raise InvalidInputError(f"A stroke needs a Brush, not {type(brush).__name__}.")
        self.mask = mask
        self.brush = brush
        height, width = mask.shape
        # np.zeros / np.empty of this size are lazily committed by the OS: untouched pages
        # cost no memory.
        self._coverage: np.ndarray | None = np.zeros(mask.shape, np.float32)
        self._base: np.ndarray | None = np.empty(mask.shape, np.float32)
        self._tile_saved = np.zeros((-(-height // _TILE), -(-width // _TILE)), bool)
        self._last: tuple[float, float] | None = None  # the previous point given
        self._travelled = 0.0  # distance along the stroke since the last dab
        self._changed: BBox | None = None
        self._finished = False

    @property
    def finished(self) -> bool:
        return self._finished

    @property
    def changed_bbox(self) -> BBox | None:
        """The box of everything this stroke has changed so far."""
        return self._changed

    # ----------------------------------------------------------------- points

    def add_point(self, x: float, y: float) -> BBox | None:
        """Stamp dabs from the previous point to (x, y); return the box that changed, if any."""
        if self._finished:
            raise InvalidInputError("This brush stroke is finished; start a new one.")
        if not (_finite(x) and _finite(y)):
            raise InvalidInputError(f"A brush point must be finite numbers, not ({x!r}, {y!r}).")
        x, y = float(x), float(y)
        if self._last is None:
            centres = [(x, y)]
            self._travelled = 0.0
        else:
            centres = self._centres_along(self._last, (x, y))
        self._last = (x, y)
        return self._stamp(centres)

    def _centres_along(
        self, start: tuple[float, float], end: tuple[float, float]
    ) -> list[tuple[float, float]]:
        """Dab centres every `spacing` along the segment, continuing the previous spacing.

        Only dabs that can touch the image are returned (computed, not walked, so a point
        far outside costs nothing).
        """
        spacing = self.brush.spacing
        (x0, y0), (x1, y1) = start, end
        length = math.hypot(x1 - x0, y1 - y0)
        first = spacing - self._travelled  # distance to the next dab along this segment
        if length < first:
            self._travelled += length
            return []
        count = math.floor((length - first) / spacing) + 1  # dabs at first + i·spacing
        self._travelled = length - (first + (count - 1) * spacing)
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        lo, hi = self._inside_range(x0, y0, ux, uy, length)
        if lo > hi:
            return []
        i0 = max(0, math.ceil((lo - first) / spacing))
        i1 = min(count - 1, math.floor((hi - first) / spacing))
        return [(x0 + ux * t, y0 + uy * t)
                for t in (first + i * spacing for i in range(i0, i1 + 1))]

    def _inside_range(
        self, x0: float, y0: float, ux: float, uy: float, length: float
    ) -> tuple[float, float]:
        """The part [lo, hi] of the segment within a brush radius of the image (Liang-Barsky)."""
        margin = self.brush.size / 2.0 + 2.0
        height, width = self.mask.shape
        lo, hi = 0.0, length
        for p, u, low, high in ((x0, ux, -margin, width - 1 + margin),
                                (y0, uy, -margin, height - 1 + margin)):
            if abs(u) < 1e-12:
                if not low <= p <= high:
                    return 1.0, 0.0
                continue
            ta, tb = (low - p) / u, (high - p) / u
            lo, hi = max(lo, min(ta, tb)), min(hi, max(ta, tb))
        return lo, hi

    # ----------------------------------------------------------------- stamping

    def _stamp(self, centres: list[tuple[float, float]]) -> BBox | None:
        """Raise coverage dab by dab, and update the mask once per group of nearby dabs.

        A group is flushed when its bounding box would grow beyond twice the dabs' own area,
        so a long diagonal drag does not recompute a huge box.
        """
        coverage = self._coverage
        assert coverage is not None
        height, width = coverage.shape
        size, hardness = self.brush.size, self.brush.hardness
        changed: BBox | None = None
        group: BBox | None = None
        group_area = 0
        for x, y in centres:
            col, row, fx, fy = _anchor(x, y, size)
            kernel = dab_footprint(size, hardness, fx, fy)
            k = kernel.shape[0] // 2
            r0, c0 = row - k, col - k
            r1, c1 = r0 + kernel.shape[0], c0 + kernel.shape[1]
            cr0, cc0, cr1, cc1 = max(r0, 0), max(c0, 0), min(r1, height), min(c1, width)
            if cr0 >= cr1 or cc0 >= cc1:
                continue
            view = coverage[cr0:cr1, cc0:cc1]
            np.maximum(view, kernel[cr0 - r0:cr1 - r0, cc0 - c0:cc1 - c0], out=view)
            box = (cr0, cc0, cr1, cc1)
            area = (cr1 - cr0) * (cc1 - cc0)
            if group is not None:
                merged = _merge(group, box)
                if _area(merged) <= 2 * (group_area + area):
                    group, group_area = merged, group_area + area
                    continue
                changed = _union(changed, self._apply(group))
            group, group_area = box, area
        if group is not None:
            changed = _union(changed, self._apply(group))
        self._changed = _union(self._changed, changed)
        return changed

    def _apply(self, box: BBox) -> BBox | None:
        """Recompute the mask in `box` from base and coverage; return the box that changed."""
        self._save_tiles(box)
        base, coverage = self._base, self._coverage
        assert base is not None and coverage is not None
        region = (slice(box[0], box[2]), slice(box[1], box[3]))
        old = base[region]
        amount = coverage[region] * np.float32(self.brush.opacity)
        new = old * (1.0 - amount) if self.brush.erase else old + (1.0 - old) * amount
        live = self.mask[region]
        differs = new != live
        rows = np.flatnonzero(differs.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(differs[rows[0]:rows[-1] + 1].any(axis=0))
        tight = (box[0] + int(rows[0]), box[1] + int(cols[0]),
                 box[0] + int(rows[-1]) + 1, box[1] + int(cols[-1]) + 1)
        live[...] = new
        return tight

    def _save_tiles(self, box: BBox) -> None:
        """Copy the mask's current values into base for tiles of `box` not yet saved."""
        base = self._base
        assert base is not None
        t0, u0 = box[0] // _TILE, box[1] // _TILE
        t1, u1 = -(-box[2] // _TILE), -(-box[3] // _TILE)
        todo = ~self._tile_saved[t0:t1, u0:u1]
        if not todo.any():
            return
        for ti, tj in np.argwhere(todo):
            rows = slice((t0 + ti) * _TILE, (t0 + ti + 1) * _TILE)
            cols = slice((u0 + tj) * _TILE, (u0 + tj + 1) * _TILE)
            base[rows, cols] = self.mask[rows, cols]
        self._tile_saved[t0:t1, u0:u1] = True

    # ----------------------------------------------------------------- end

    def finish(self) -> StrokeResult | None:
        """End the stroke: the changed box with old/new patches, or None if nothing changed."""
        if self._finished:
            raise InvalidInputError("This brush stroke is already finished.")
        result = None
        if self._changed is not None:
            self._save_tiles(self._changed)  # tiles never painted are unchanged: old = live
            assert self._base is not None
            region = (slice(self._changed[0], self._changed[2]),
                      slice(self._changed[1], self._changed[3]))
            result = StrokeResult(self._changed, self._base[region].copy(),
                                  self.mask[region].copy())
        self._finished = True
        self._base = self._coverage = None
        self._tile_saved = np.zeros((0, 0), bool)
        return result

    def cancel(self) -> None:
        """Abandon the stroke (e.g. Escape while dragging): the mask gets its old values back."""
        result = self.finish()
        if result is not None:
            box = result.bbox
            self.mask[box[0]:box[2], box[1]:box[3]] = result.old_patch


def _union(a: BBox | None, b: BBox | None) -> BBox | None:
    if a is None:
        return b
    if b is None:
        return a
    return _merge(a, b)


def _merge(a: BBox, b: BBox) -> BBox:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _area(box: BBox) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])
