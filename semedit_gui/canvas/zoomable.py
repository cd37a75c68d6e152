"""A graphics view that zooms and pans like a photo editor.

No scroll bars: the viewport keeps its size when zooming (so "fit" stays stable) and
panning is by hand. The wheel zooms about the pointer; until the user zooms, the view
stays fitted when it is resized. An image larger than the view may be panned until its
edge reaches the middle of the view, so that edges can be worked on centred.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QTransform
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

__all__ = ["ViewState", "ZoomableView"]

_BACKGROUND = QColor(38, 38, 40)

# What `view_state` saves: zoom, the scene point at the centre, and whether it was fitted.
ViewState = tuple[float, QPointF, bool]


class ZoomableView(QGraphicsView):
    """Zoom (fit, 100 %, steps, wheel) and pan of a scene whose rect is `set_scene_rect`.

    Signals:
        zoom_changed(float): screen pixels per image pixel, after any zoom change.
    """

    zoom_changed = Signal(float)

    MIN_ZOOM = 0.02
    MAX_ZOOM = 64.0
    ZOOM_LEVELS = (0.05, 1 / 12, 1 / 8, 1 / 6, 0.25, 1 / 3, 0.5, 2 / 3, 1.0, 1.5, 2.0, 3.0,
                   4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0)
    SMOOTH_UP_TO_ZOOM = 2.0  # above this, pixels are shown as crisp squares
    _WHEEL_NOTCHES_PER_DOUBLING = 4.0
    _FIT_MARGIN_PX = 12

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(_BACKGROUND)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self._fit_mode = True  # refit when the window is resized until the user zooms

    # ------------------------------------------------------------------ zoom

    @property
    def zoom_factor(self) -> float:
        """Screen pixels per image pixel (1.0 = 100 %)."""
        return self.transform().m11()

    def zoom_to_fit(self) -> None:
        """Show the whole image, centred; stays fitted when the window is resized."""
        self._fit_mode = True
        rect = self.scene().sceneRect()
        viewport = self.viewport()
        width = viewport.width() - 2 * self._FIT_MARGIN_PX
        height = viewport.height() - 2 * self._FIT_MARGIN_PX
        if rect.isEmpty() or width <= 0 or height <= 0:
            return
        self._apply_zoom(min(width / rect.width(), height / rect.height()))
        self.centerOn(rect.center())

    def zoom_actual(self) -> None:
        """100 %: one image pixel per screen pixel, around the centre of the view."""
        self._zoom_about(1.0, None)

    def zoom_in(self) -> None:
        """The next zoom level up (25 %, 33 %, 50 %, 67 %, 100 %, 150 %, 200 %…)."""
        current = self.zoom_factor
        self._zoom_about(next((z for z in self.ZOOM_LEVELS if z > current * 1.001),
                              self.MAX_ZOOM), None)

    def zoom_out(self) -> None:
        current = self.zoom_factor
        self._zoom_about(next((z for z in reversed(self.ZOOM_LEVELS) if z < current / 1.001),
                              self.MIN_ZOOM), None)

    def set_zoom(self, zoom: float) -> None:
        """Zoom to `zoom` around the centre of the view."""
        self._zoom_about(zoom, None)

    def view_state(self) -> ViewState:
        return self.zoom_factor, self._view_centre(), self._fit_mode

    def restore_view_state(self, state: ViewState | None) -> None:
        """Zoom and centre as saved (fitted again when it was fitted, or for None)."""
        if state is None or state[2]:
            self.zoom_to_fit()
            return
        zoom, centre, _fit = state
        self._apply_zoom(zoom)
        self.centerOn(centre)
        self._fit_mode = False

    def _zoom_about(self, zoom: float, anchor: QPointF | None) -> None:
        """Zoom keeping the scene point under `anchor` (viewport pixels) where it is."""
        self._fit_mode = False
        viewport = self.viewport()
        centre = QPointF(viewport.width() / 2.0, viewport.height() / 2.0)
        anchor = centre if anchor is None else anchor
        fixed = self.view_to_scene(anchor)
        zoom = self._apply_zoom(zoom)
        self.centerOn(fixed + (centre - anchor) / zoom)

    def _apply_zoom(self, zoom: float) -> float:
        zoom = min(max(float(zoom), self.MIN_ZOOM), self.MAX_ZOOM)
        old = self.zoom_factor
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self._update_pan_range()
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                           zoom <= self.SMOOTH_UP_TO_ZOOM)
        self._zoom_applied(zoom)
        if not math.isclose(old, zoom, rel_tol=1e-9):
            self.zoom_changed.emit(zoom)
        return zoom

    def _zoom_applied(self, zoom: float) -> None:
        """Hook: items sized in screen pixels follow the zoom here."""

    # ------------------------------------------------------------------ coordinates and pan

    def view_to_scene(self, pos: QPointF) -> QPointF:
        """Viewport position → scene point, without rounding to whole screen pixels."""
        inverse, _ok = self.viewportTransform().inverted()
        return inverse.map(QPointF(pos))

    def scene_to_view(self, point: QPointF) -> QPointF:
        """Scene point → viewport position, without rounding."""
        return self.viewportTransform().map(QPointF(point))

    def _view_centre(self) -> QPointF:
        viewport = self.viewport()
        return self.view_to_scene(QPointF(viewport.width() / 2.0, viewport.height() / 2.0))

    def pan_by(self, delta: QPointF) -> None:
        """Move the image by `delta` screen pixels (within the pan range)."""
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - round(delta.x()))
        v.setValue(v.value() - round(delta.y()))

    def set_scene_rect(self, rect: QRectF) -> None:
        """The image's extent in the scene (what "fit" shows)."""
        # A null rect would make the scene grow to fit its items (the brush cursor).
        self.scene().setSceneRect(rect if not rect.isEmpty() else QRectF(0, 0, 1, 1))
        self._update_pan_range()

    def _update_pan_range(self) -> None:
        rect = self.scene().sceneRect()
        zoom = self.zoom_factor
        viewport = self.viewport()
        mx = viewport.width() / 2.0 / zoom if rect.width() * zoom > viewport.width() else 0.0
        my = viewport.height() / 2.0 / zoom if rect.height() * zoom > viewport.height() \
            else 0.0
        self.setSceneRect(rect.adjusted(-mx, -my, mx, my))

    # ------------------------------------------------------------------ events

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y()
        if delta == 0:
            event.ignore()
            return
        factor = 2.0 ** (delta / 120.0 / self._WHEEL_NOTCHES_PER_DOUBLING)
        self._zoom_about(self.zoom_factor * factor, event.position())
        event.accept()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._update_pan_range()
        if self._fit_mode:
            self.zoom_to_fit()
