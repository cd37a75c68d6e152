"""The graphics items the canvas stacks in its scene.

Image layers draw a QImage that shares memory with a numpy buffer, so a region rewritten in
the buffer is repainted with `update(rect)` and nothing is converted or copied. Markers and
the brush cursor ignore the view's zoom where their size is a screen size.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QTransform,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem

from semedit_gui.canvas.overlay import rgba_qimage, rgbx_from_rgb

__all__ = [
    "BrushCursorItem",
    "DashedOutlineItem",
    "ImageItem",
    "NoteBadgeItem",
    "PromptMarkerItem",
    "stretch_over",
]

_DARK = QColor(0, 0, 0, 170)
_LIGHT = QColor(255, 255, 255, 235)


class ImageItem(QGraphicsItem):
    """A raster layer at the origin; item coordinates are the image's pixels.

    `set_clip_fraction(f)` draws only the left part (columns below f·width): the "before"
    half of a split view.
    """

    def __init__(self, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self._image = QImage()
        self._buffer: np.ndarray | None = None
        self._clip_fraction: float | None = None

    # ------------------------------------------------------------------ content

    def set_rgb(self, rgb: np.ndarray) -> bool:
        """Show an RGB uint8 [H, W, 3] image (copied). Returns True when the size changed."""
        height, width = rgb.shape[:2]
        same_size = self._buffer is not None and self._buffer.shape[:2] == (height, width) \
            and self._image.format() == QImage.Format.Format_RGBX8888
        if same_size:
            rgbx_from_rgb(rgb, out=self._buffer)  # in place: the QImage sees it
            self.update()
            return False
        self.set_buffer(rgbx_from_rgb(rgb), QImage.Format.Format_RGBX8888)
        return True

    def rgb_copy(self) -> np.ndarray | None:
        """A copy of the RGB pixels shown (None when nothing or a foreign QImage is)."""
        return None if self._buffer is None else self._buffer[..., :3].copy()

    def set_buffer(self, buffer: np.ndarray | None, fmt: QImage.Format | None = None) -> None:
        """Draw a uint8 [H, W, 4] buffer in `fmt` without copying it (None: draw nothing)."""
        self.prepareGeometryChange()
        self._buffer = buffer
        self._image = QImage() if buffer is None else rgba_qimage(buffer, fmt)
        self.update()

    def set_image(self, image: QImage) -> None:
        """Draw a QImage that already wraps a buffer someone else keeps (the overlay's)."""
        self.prepareGeometryChange()
        self._buffer = None
        self._image = image
        self.update()

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(width, height), or None when empty."""
        return None if self._image.isNull() else (self._image.width(), self._image.height())

    def set_clip_fraction(self, fraction: float | None) -> None:
        if fraction != self._clip_fraction:
            self._clip_fraction = fraction
            self.update()

    # ------------------------------------------------------------------ QGraphicsItem

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget=None) -> None:
        if self._image.isNull():
            return
        if self._clip_fraction is not None:
            painter.setClipRect(
                QRectF(0, 0, self._clip_fraction * self._image.width(), self._image.height()),
                Qt.ClipOperation.IntersectClip)
        # The whole image: the view already clips painting to the exposed region.
        painter.drawImage(QPointF(0, 0), self._image)


def stretch_over(item: ImageItem, rect: QRectF) -> None:
    """Scale an image layer so that it covers `rect` whatever its own pixel size."""
    size = item.image_size
    if size is None or rect.isEmpty():
        item.setTransform(QTransform())
        return
    item.setTransform(QTransform.fromScale(rect.width() / size[0], rect.height() / size[1]))


class BrushCursorItem(QGraphicsItem):
    """The brush outline at the pointer: a circle of the brush's diameter in image pixels.

    It ignores the view's transformation and is sized in screen pixels by `set_screen_size`
    (diameter × zoom), so its line stays one pixel wide at any zoom. A dark and a light
    circle keep it visible on any photo; a small cross marks the centre of tiny brushes.
    """

    _MARGIN = 3.0

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._diameter = 1.0

    @property
    def screen_diameter(self) -> float:
        return self._diameter

    def set_screen_size(self, diameter: float) -> None:
        diameter = max(float(diameter), 1.0)
        if diameter != self._diameter:
            self.prepareGeometryChange()
            self._diameter = diameter

    def boundingRect(self) -> QRectF:
        r = max(self._diameter / 2.0, 6.0) + self._MARGIN
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        r = self._diameter / 2.0
        for colour, width in ((_DARK, 3.0), (_LIGHT, 1.0)):
            painter.setPen(QPen(colour, width))
            painter.drawEllipse(QPointF(0, 0), r, r)
            if r < 6.0:  # too small to aim by: add a cross
                painter.drawLine(QPointF(-6, 0), QPointF(-r - 2, 0))
                painter.drawLine(QPointF(r + 2, 0), QPointF(6, 0))
                painter.drawLine(QPointF(0, -6), QPointF(0, -r - 2))
                painter.drawLine(QPointF(0, r + 2), QPointF(0, 6))


class PromptMarkerItem(QGraphicsItem):
    """A Segment Anything click: a green (+) or red (−) dot of constant screen size."""

    RADIUS = 7.0

    def __init__(self, include: bool) -> None:
        super().__init__()
        self.include = include
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:
        r = self.RADIUS + 2.0
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(40, 200, 70) if self.include else QColor(225, 45, 45)
        painter.setPen(QPen(QColor(255, 255, 255), 1.5))
        painter.setBrush(QBrush(fill))
        r = self.RADIUS
        painter.drawEllipse(QPointF(0, 0), r, r)
        painter.setPen(QPen(QColor(255, 255, 255), 2.0, Qt.PenStyle.SolidLine,
                            Qt.PenCapStyle.RoundCap))
        arm = r * 0.55
        painter.drawLine(QPointF(-arm, 0), QPointF(arm, 0))
        if self.include:
            painter.drawLine(QPointF(0, -arm), QPointF(0, arm))


class DashedOutlineItem(QGraphicsPathItem):
    """A closed outline drawn as white dashes over a dark line, one screen pixel wide at
    any zoom (the SAM box, the face region in the whole-photo view)."""

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._under = QGraphicsPathItem(self)  # the dark line under the dashes
        under_pen = QPen(_DARK, 3.0)
        under_pen.setCosmetic(True)
        self._under.setPen(under_pen)
        self._under.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
        pen = QPen(_LIGHT, 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.setPen(pen)

    def set_polygon(self, points: list[tuple[float, float]] | None) -> None:
        path = QPainterPath()
        if points:
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in points]))
            path.closeSubpath()
        self.setPath(path)
        self._under.setPath(path)

    def set_rect(self, rect: QRectF | None) -> None:
        if rect is None:
            self.set_polygon(None)
            return
        self.set_polygon([(rect.left(), rect.top()), (rect.right(), rect.top()),
                          (rect.right(), rect.bottom()), (rect.left(), rect.bottom())])


class NoteBadgeItem(QGraphicsItem):
    """A short line of dark text on an amber label, its top-left corner at the item's
    position, of constant screen size (a note pinned to a place in the image)."""

    FILL = QColor(255, 196, 40, 240)
    _PAD = 4.0

    def __init__(self, text: str, parent: QGraphicsItem | None = None):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._text = ""
        self._rect = QRectF()
        self.set_text(text)

    @property
    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        if text == self._text:
            return
        self.prepareGeometryChange()
        self._text = text
        metrics = QFontMetricsF(QFont())  # the application's font, as `paint` uses
        self._rect = QRectF(0, 0, metrics.horizontalAdvance(text) + 2 * self._PAD,
                            metrics.height() + 2 * self._PAD)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(_DARK, 1.0))
        painter.setBrush(QBrush(self.FILL))
        painter.drawRoundedRect(self._rect, 3.0, 3.0)
        painter.setPen(QColor(20, 20, 20))
        painter.setFont(QFont())
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self._text)
