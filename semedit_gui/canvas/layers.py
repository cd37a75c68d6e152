"""The graphics items the canvas stacks in its scene, and how they are laid out.

Bottom to top, under one parent that the whole-photo view hides: the display image, the
"before" image (whole, or clipped left of the split divider), the chunk fill and outline
layers, the Segment Anything preview, box and markers (the SAM tool's own items), the
split divider, and the refine badges. Beside that parent: the whole photo with the
aligned face's outline, and the brush cursor above everything.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
)

from core.project.document import Chunk
from semedit_gui.canvas.items import BrushCursorItem, DashedOutlineItem, ImageItem, stretch_over
from semedit_gui.canvas.overlay import BBox, ChunkOverlay

__all__ = ["CanvasLayers", "checked_quad", "checked_rgb"]


def checked_rgb(rgb: np.ndarray, what: str) -> np.ndarray:
    """`rgb` as an array, or a ValueError naming `what` when it is not RGB uint8."""
    array = np.asarray(rgb)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape:
        raise ValueError(f"{what} must be an RGB uint8 array [H, W, 3], not "
                         f"{array.dtype} {array.shape}.")
    return array


def checked_quad(quad: np.ndarray | None) -> list[tuple[float, float]] | None:
    """Four (x, y) corners from a 4×2 array, or a ValueError."""
    if quad is None:
        return None
    corners = np.asarray(quad, dtype=np.float64)
    if corners.shape != (4, 2) or not np.isfinite(corners).all():
        raise ValueError(f"The face quad must be 4×2 finite corner points, not {corners.shape}.")
    return [(float(x), float(y)) for x, y in corners]


class CanvasLayers:
    """Builds the canvas's items in `scene` and keeps their geometry in step; `overlay`
    holds the chunk layers' buffers that `fill` and `outline` draw."""

    Z_SAM = 4.0  # preview, box and markers: 4, 5, 6
    Z_DIVIDER = 6.0
    Z_NOTES = 8.0

    def __init__(self, scene: QGraphicsScene, overlay_opacity: float):
        # Everything of the aligned frame hangs under one parent, hidden in the photo view.
        self.aligned = QGraphicsRectItem()
        self.aligned.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        scene.addItem(self.aligned)
        self.overlay = ChunkOverlay()
        self.display = ImageItem(self.aligned)
        self.before = ImageItem(self.aligned)
        self.fill = ImageItem(self.aligned)
        self.fill.setOpacity(overlay_opacity)
        self.outline = ImageItem(self.aligned)
        for z, item in enumerate((self.display, self.before, self.fill, self.outline)):
            item.setZValue(z)
        self.before.hide()

        self.divider = QGraphicsLineItem(self.aligned)
        self._divider_shadow = QGraphicsLineItem(self.divider)
        self._divider_shadow.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
        for line, colour, width in ((self.divider, QColor(255, 255, 255), 2.0),
                                    (self._divider_shadow, QColor(0, 0, 0, 150), 4.0)):
            pen = QPen(colour, width)
            pen.setCosmetic(True)
            line.setPen(pen)
        self.divider.setZValue(self.Z_DIVIDER)
        self.divider.hide()
        # "Before" and "After" beside the divider, at screen size whatever the zoom.
        self.split_labels = []
        for text in ("Before", "After"):
            label = QGraphicsSimpleTextItem(text, self.divider)
            label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            label.setBrush(QColor(255, 255, 255))
            backing = QGraphicsRectItem(label.boundingRect().adjusted(-4, -2, 4, 2), label)
            backing.setBrush(QColor(0, 0, 0, 170))
            backing.setPen(QPen(QColor(0, 0, 0, 0)))
            backing.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
            self.split_labels.append(label)

        self.photo = ImageItem()
        self.quad = DashedOutlineItem()
        self.quad.setZValue(1)
        self.brush_cursor = BrushCursorItem()
        self.brush_cursor.setZValue(100)
        for item in (self.photo, self.quad, self.brush_cursor):
            item.hide()
            scene.addItem(item)

    def stretch_images(self, rect: QRectF) -> None:
        """Stretch the display and "before" images over the aligned frame `rect`."""
        for item in (self.display, self.before):
            stretch_over(item, rect)

    # ------------------------------------------------------------------ chunks

    def redraw_chunks(self, resolution: int | None, chunks: Sequence[Chunk],
                      selected: Chunk | None) -> None:
        """Rebuild the chunk layers everywhere (None: no document, nothing drawn)."""
        if resolution is None:
            self.overlay.clear()
        else:
            self.overlay.rebuild(resolution, chunks, selected)
        self.fill.set_image(self.overlay.fill_image)
        self.outline.set_image(self.overlay.outline_image)

    def redraw_chunk_region(self, resolution: int, chunks: Sequence[Chunk],
                            selected: Chunk | None, bbox: BBox) -> None:
        """Masks changed inside `bbox` only (a brush dab): redo and repaint just that."""
        if self.overlay.size != resolution:
            self.redraw_chunks(resolution, chunks, selected)
            return
        rect = QRectF(self.overlay.update_region(chunks, selected, bbox))
        self.fill.update(rect)
        self.outline.update(rect)

    def redraw_outlines(self, resolution: int, chunks: Sequence[Chunk],
                        selected: Chunk | None) -> None:
        """The selection changed: the selected outline is drawn differently."""
        if self.overlay.size != resolution:
            self.redraw_chunks(resolution, chunks, selected)
            return
        self.overlay.rebuild_outline(chunks, selected)
        self.outline.update()

    @property
    def chunks_visible(self) -> bool:
        return self.fill.isVisibleTo(self.aligned)

    def set_chunks_visible(self, visible: bool) -> None:
        self.fill.setVisible(visible)
        self.outline.setVisible(visible)

    # ------------------------------------------------------------------ images

    def show_compare(self, rect: QRectF, whole: bool, split: float | None) -> None:
        """The "before" image over all of `rect` (`whole`), left of the divider at
        `split`·width, or not at all; the divider drawn where it splits."""
        has_before = self.before.image_size is not None
        self.before.setVisible(has_before and (whole or split is not None))
        self.before.set_clip_fraction(None if whole else split)
        splitting = has_before and not whole and split is not None
        self.divider.setVisible(splitting)
        if splitting:
            x = rect.left() + split * rect.width()
            line = QLineF(x, rect.top(), x, rect.bottom())
            self.divider.setLine(line)
            self._divider_shadow.setLine(line)
            before, after = self.split_labels
            for label in self.split_labels:
                label.setPos(x, rect.top())
            # Offsets in screen pixels (the labels ignore the zoom).
            before.setTransform(QTransform.fromTranslate(
                -before.boundingRect().width() - 10, 8))
            after.setTransform(QTransform.fromTranslate(10, 8))

    def show_photo(self, rgb: np.ndarray, corners: list[tuple[float, float]] | None) -> bool:
        """The whole-photo view: the photo and the face's outline instead of the aligned
        frame. True when the photo's size changed."""
        resized = self.photo.set_rgb(checked_rgb(rgb, "The photo"))
        self.quad.set_polygon(corners)
        self.quad.setVisible(corners is not None)
        self.photo.show()
        self.aligned.hide()
        return resized

    def show_aligned(self) -> None:
        self.photo.hide()
        self.quad.hide()
        self.aligned.show()
