"""Chunk overlays as numpy RGBA layers the canvas draws without copying.

Two premultiplied uint8 layers cover the aligned image:

- fill: every visible chunk tinted in its colour, composited bottom to top with the mask
  as alpha ("over", so the chunk on top wins exactly as `mask_ops.resolve_overlaps` says).
  The layer is built at full alpha; the canvas draws it at the user's overlay opacity, so
  changing the opacity costs nothing.
- outline: the edge of each visible mask at the 0.5 threshold, the selected chunk's wider
  and opaque, drawn on top of the others.

`ChunkOverlay` keeps both buffers and the QImages that wrap them, and can redo one region
(the bbox of a brush dab) instead of the whole image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage

from core.project.document import Chunk

__all__ = [
    "OUTLINE_ALPHA",
    "SELECTED_OUTLINE_ALPHA",
    "SELECTED_OUTLINE_WIDTH",
    "ChunkOverlay",
    "inner_edge",
    "premultiplied_tint",
    "rgba_qimage",
    "rgbx_from_rgb",
]

OUTLINE_WIDTH = 1
OUTLINE_ALPHA = 0.8
SELECTED_OUTLINE_WIDTH = 2
SELECTED_OUTLINE_ALPHA = 1.0
_PAD = SELECTED_OUTLINE_WIDTH  # how far an outline depends on the mask around it

# (row0, col0, row1, col1), half-open, as in core.segment.brush.
BBox = tuple[int, int, int, int]


def rgba_qimage(buffer: np.ndarray, fmt: QImage.Format) -> QImage:
    """A QImage sharing the memory of a C-contiguous uint8 [H, W, 4] array (no copy):
    writing the array changes what the image shows. The QImage keeps the array alive."""
    height, width = buffer.shape[:2]
    return QImage(buffer.data, width, height, buffer.strides[0], fmt)


def rgbx_from_rgb(rgb: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """uint8 [H, W, 3] → [H, W, 4] with opaque alpha (a 32-bit format Qt draws fast)."""
    height, width = rgb.shape[:2]
    if out is None or out.shape != (height, width, 4):
        out = np.empty((height, width, 4), np.uint8)
    out[..., :3] = rgb
    out[..., 3] = 255
    return out


def inner_edge(inside: np.ndarray, width: int) -> np.ndarray:
    """The pixels of `inside` within `width` (4-connected steps) of a pixel outside it.

    Beyond the array's border the nearest pixel is repeated, so a mask touching the border
    gets no outline along it.
    """
    core = inside
    for _ in range(width):
        p = np.pad(core, 1, mode="edge")
        core = core & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return inside & ~core


def premultiplied_tint(mask: np.ndarray, colour: tuple[int, int, int], alpha: float,
                       outline_alpha: float = 1.0, outline_width: int = 1) -> np.ndarray:
    """A premultiplied RGBA8888 [H, W, 4] layer: `colour` at `alpha`·mask plus the
    0.5-threshold edge at `outline_alpha` (for a candidate mask such as a SAM preview)."""
    m = np.clip(np.asarray(mask, dtype=np.float32), 0.0, 1.0) * np.float32(alpha)
    layer = np.empty((*m.shape, 4), np.float32)
    layer[..., :3] = m[..., None] * (np.asarray(colour, np.float32) / 255.0)
    layer[..., 3] = m
    edge = inner_edge(np.asarray(mask) >= 0.5, outline_width)
    layer[edge] = (*(np.asarray(colour, np.float32) / 255.0 * outline_alpha), outline_alpha)
    return _to_uint8(layer)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return (values * 255.0 + 0.5).astype(np.uint8)


class ChunkOverlay:
    """The fill and outline layers of a document's chunks, `size` × `size` pixels."""

    def __init__(self) -> None:
        self.size = 0
        self.fill: np.ndarray | None = None  # premultiplied RGBA8888 [R, R, 4]
        self.outline: np.ndarray | None = None
        self.fill_image = QImage()
        self.outline_image = QImage()

    def clear(self) -> None:
        self.size = 0
        self.fill = self.outline = None
        self.fill_image = QImage()
        self.outline_image = QImage()

    def rebuild(self, size: int, chunks: Sequence[Chunk], selected: Chunk | None) -> None:
        """Recompute both layers everywhere (chunk list, visibility, colour or selection
        changed)."""
        if size != self.size or self.fill is None or self.outline is None:
            self.size = size
            self.fill = np.zeros((size, size, 4), np.uint8)
            self.outline = np.zeros((size, size, 4), np.uint8)
            fmt = QImage.Format.Format_RGBA8888_Premultiplied
            self.fill_image = rgba_qimage(self.fill, fmt)
            self.outline_image = rgba_qimage(self.outline, fmt)
        self.update_region(chunks, selected, (0, 0, size, size))

    def rebuild_outline(self, chunks: Sequence[Chunk], selected: Chunk | None) -> None:
        """Recompute only the outlines (the selection changed)."""
        if self.outline is not None:
            self._compose_outline(self._visible(chunks), selected, (0, 0, self.size, self.size))

    def update_region(self, chunks: Sequence[Chunk], selected: Chunk | None,
                      bbox: BBox) -> QRect:
        """Recompute the layers where masks changed inside `bbox`; returns the rectangle of
        pixels rewritten (the bbox grown by the outline width, whose edges may move)."""
        if self.fill is None or self.outline is None:
            return QRect()
        r0, c0, r1, c1 = _clip(bbox, self.size, 0)
        if r0 >= r1 or c0 >= c1:
            return QRect()
        visible = self._visible(chunks)
        self._compose_fill(visible, (r0, c0, r1, c1))
        grown = _clip((r0, c0, r1, c1), self.size, _PAD)
        self._compose_outline(visible, selected, grown)
        return QRect(grown[1], grown[0], grown[3] - grown[1], grown[2] - grown[0])

    def _visible(self, chunks: Sequence[Chunk]) -> list[Chunk]:
        return [c for c in chunks if c.visible and c.mask.shape == (self.size, self.size)]

    def _compose_fill(self, visible: list[Chunk], box: BBox) -> None:
        r0, c0, r1, c1 = box
        # Planar float32 (premultiplied r, g, b, alpha): whole-plane operations are much
        # faster than broadcasting over an interleaved [h, w, 4] array.
        planes = np.zeros((4, r1 - r0, c1 - c0), np.float32)
        scratch = np.empty((r1 - r0, c1 - c0), np.float32)
        for chunk in visible:  # bottom to top: each one covers those below by its mask
            region = chunk.mask[r0:r1, c0:c1]
            occupied = _nonzero_box(region)
            if occupied is None:
                continue
            a0, b0, a1, b1 = occupied
            m = region[a0:a1, b0:b1]
            keep = np.subtract(1.0, m, out=scratch[:a1 - a0, :b1 - b0])
            values = (*(np.asarray(chunk.colour, np.float32) / 255.0), 1.0)
            for plane, value in zip(planes[:, a0:a1, b0:b1], values, strict=True):
                plane *= keep
                plane += m * np.float32(value)
        assert self.fill is not None
        target = self.fill[r0:r1, c0:c1]
        for k in range(4):
            # Assigning floats to uint8 truncates: + 0.5 rounds.
            target[..., k] = planes[k] * 255.0 + 0.5

    def _compose_outline(self, visible: list[Chunk], selected: Chunk | None,
                         box: BBox) -> None:
        r0, c0, r1, c1 = box
        # The edge test needs `_PAD` pixels of real neighbours around the box.
        p0, q0, p1, q1 = _clip(box, self.size, _PAD)
        crop = (slice(r0 - p0, r1 - p0), slice(c0 - q0, c1 - q0))
        layer = np.zeros((r1 - r0, c1 - c0, 4), np.uint8)
        ordered = [c for c in visible if c is not selected]
        ordered += [c for c in visible if c is selected]  # the selected outline wins
        for chunk in ordered:
            is_selected = chunk is selected
            width = SELECTED_OUTLINE_WIDTH if is_selected else OUTLINE_WIDTH
            alpha = SELECTED_OUTLINE_ALPHA if is_selected else OUTLINE_ALPHA
            inside = chunk.mask[p0:p1, q0:q1] >= 0.5
            edge = inner_edge(inside, width)[crop]
            colour = np.asarray(chunk.colour, np.float32) / 255.0 * alpha
            layer[edge] = _to_uint8(np.array([*colour, alpha], np.float32))
        assert self.outline is not None
        self.outline[r0:r1, c0:c1] = layer


def _nonzero_box(values: np.ndarray) -> BBox | None:
    """The smallest box holding every non-zero value, None when all are zero."""
    rows = np.flatnonzero(values.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(values[rows[0]:rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _clip(box: BBox, size: int, grow: int) -> BBox:
    r0, c0, r1, c1 = box
    return (max(r0 - grow, 0), max(c0 - grow, 0), min(r1 + grow, size), min(c1 + grow, size))
