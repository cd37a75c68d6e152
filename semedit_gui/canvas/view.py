"""The image canvas: the photo, the chunks painted over it, and the tools that paint them.

Scene coordinates are the aligned image's pixels (pixel (r, c) covers [c, c + 1) ×
[r, r + 1)); in the whole-photo view they are the full photo's pixels instead. Everything
here runs on the UI thread and is quick: overlays are numpy, only the changed region of a
brush dab is rebuilt, and Segment Anything is run by the main window, not the canvas.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math

import numpy as np
from PySide6.QtCore import QEvent, QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from core.errors import SemeditError
from core.segment.brush import Brush
from core.segment.chunk_set import ChunkSetEvent, PaintStroke
from semedit_gui.canvas.items import (
    BrushCursorItem,
    DashedOutlineItem,
    ImageItem,
    PromptMarkerItem,
)
from semedit_gui.canvas.overlay import ChunkOverlay, premultiplied_tint
from semedit_gui.canvas.tools import TOOLS, SamPrompt, paint_refusal, resized_brush, scene_to_pixel
from semedit_gui.session import EditorSession

__all__ = ["CanvasView"]

_PHOTO_VIEW_REFUSAL = ("The whole-photo view is for looking only; switch back to the "
                       "aligned face to edit chunks.")
_SAM_TINT = (0, 230, 255)  # cyan: distinct from every chunk colour in the palette
_BACKGROUND = QColor(38, 38, 40)


class CanvasView(QGraphicsView):
    """Shows the display image with chunk overlays and runs the painting tools.

    Signals:
        zoom_changed(float): screen pixels per image pixel, after any zoom change.
        brush_changed(Brush): the brush changed (`set_brush`, `[` and `]`).
        tool_changed(str): the tool changed.
        message(str): a sentence for the status bar (why a click did nothing).
        sam_prompt_changed(points, labels, box): every Segment Anything prompt so far,
            in core pixel coordinates (pixel centre at x = column, y = row).
        split_changed(float): the split divider moved (fraction of the width).
        cursor_moved(int, int, str): the image pixel under the pointer and the name of the
            chunk on top there ('' for none); (-1, -1, '') when the pointer leaves the image.
    """

    zoom_changed = Signal(float)
    brush_changed = Signal(object)
    tool_changed = Signal(str)
    message = Signal(str)
    sam_prompt_changed = Signal(object, object, object)
    split_changed = Signal(float)
    cursor_moved = Signal(int, int, str)

    DEFAULT_OVERLAY_OPACITY = 0.45
    MIN_ZOOM = 0.02
    MAX_ZOOM = 64.0
    ZOOM_LEVELS = (0.05, 1 / 12, 1 / 8, 1 / 6, 0.25, 1 / 3, 0.5, 2 / 3, 1.0, 1.5, 2.0, 3.0,
                   4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0)
    SMOOTH_UP_TO_ZOOM = 2.0  # above this, pixels are shown as crisp squares
    _WHEEL_NOTCHES_PER_DOUBLING = 4.0
    _FIT_MARGIN_PX = 12
    _BOX_DRAG_PX = 4  # a SAM press that moves further than this draws a box
    _DIVIDER_GRAB_PX = 6

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(_BACKGROUND)
        self.setFrameShape(QFrame.Shape.NoFrame)
        # No scroll bars: the viewport keeps its size when zooming (fit stays stable) and
        # panning is by hand, as in photo editors.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)

        self._session: EditorSession | None = None
        self._tool = "brush"
        self._brush = Brush()
        self._overlay = ChunkOverlay()
        self._overlay_opacity = self.DEFAULT_OVERLAY_OPACITY
        self._show_before = False
        self._peeking = False  # backslash held
        self._split: float | None = None
        self._photo_view = False
        self._aligned_state: tuple[float, QPointF, bool] | None = None
        self._fit_mode = True  # refit when the window is resized until the user zooms
        self._image_rect = QRectF()  # the aligned frame in scene coordinates
        self._prompt = SamPrompt()
        self._markers: list[PromptMarkerItem] = []

        self._drag: str | None = None  # "pan", "stroke", "split" or "sam"
        self._drag_button = Qt.MouseButton.NoButton
        self._stroke: PaintStroke | None = None
        self._last_view_pos = QPointF()
        self._press_view_pos = QPointF()
        self._press_scene = QPointF()
        self._sam_boxing = False
        self._space_held = False
        self._pointer_inside = False
        self._hover_divider = False
        self._last_report: tuple[int, int, str] | None = None

        self._build_items()
        self._update_cursor()

    def _build_items(self) -> None:
        scene = self.scene()
        # Everything of the aligned frame hangs under one parent, hidden in the photo view.
        self._aligned_layer = QGraphicsRectItem()
        self._aligned_layer.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        scene.addItem(self._aligned_layer)
        self._display = ImageItem(self._aligned_layer)
        self._before = ImageItem(self._aligned_layer)
        self._fill = ImageItem(self._aligned_layer)
        self._fill.setOpacity(self._overlay_opacity)
        self._outline = ImageItem(self._aligned_layer)
        self._sam_preview = ImageItem(self._aligned_layer)
        self._sam_box = DashedOutlineItem()
        self._sam_box.setParentItem(self._aligned_layer)
        self._divider = QGraphicsLineItem(self._aligned_layer)
        shadow = QGraphicsLineItem(self._divider)
        shadow.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)
        for line, colour, width in ((self._divider, QColor(255, 255, 255), 2.0),
                                    (shadow, QColor(0, 0, 0, 150), 4.0)):
            pen = QPen(colour, width)
            pen.setCosmetic(True)
            line.setPen(pen)
        self._divider_shadow = shadow
        for z, item in enumerate((self._display, self._before, self._fill, self._outline,
                                  self._sam_preview, self._sam_box, self._divider)):
            item.setZValue(z)
        self._before.hide()
        self._divider.hide()
        self._update_sam_items()

        self._photo = ImageItem()
        self._quad = DashedOutlineItem()
        self._quad.setZValue(1)
        self._brush_cursor = BrushCursorItem()
        self._brush_cursor.setZValue(100)
        for item in (self._photo, self._quad, self._brush_cursor):
            item.hide()
            scene.addItem(item)
        self._set_scene_rect(QRectF())

    # ================================================================== session

    @property
    def session(self) -> EditorSession | None:
        return self._session

    def set_session(self, session: EditorSession | None) -> None:
        """Show another document (None: nothing), fitted to the view. The canvas shows the
        document's aligned photo, as display and "before" image, until `set_image` gives a
        preview, so call `set_image` after this."""
        if session is self._session:
            return
        self._finish_drag()
        if self._session is not None:
            old = self._session
            for signal, slot in ((old.chunks_changed, self._on_chunks_changed),
                                 (old.selection_changed, self._on_selection_changed)):
                with contextlib.suppress(RuntimeError, TypeError):  # gone with its QObject
                    signal.disconnect(slot)
        self._session = session
        self.clear_sam_prompt()
        self.set_photo_view(None, None)
        if session is None:
            self._display.set_buffer(None)
            self._before.set_buffer(None)
            self._overlay.clear()
        else:
            session.chunks_changed.connect(self._on_chunks_changed)
            session.selection_changed.connect(self._on_selection_changed)
            self._display.set_rgb(_check_rgb(session.doc.aligned, "The aligned photo"))
            self._before.set_rgb(_check_rgb(session.doc.aligned, "The aligned photo"))
        self._rebuild_overlay()
        self._relayout()
        if session is not None:
            self.zoom_to_fit()  # a new document starts fitted, whatever its size

    def _on_chunks_changed(self, event: ChunkSetEvent) -> None:
        session = self._session
        if session is None:
            return
        if (event.kind == "mask" and event.bbox is not None
                and self._overlay.size == session.doc.resolution):
            rect = QRectF(self._overlay.update_region(session.doc.chunks, session.selected,
                                                      event.bbox))
            self._fill.update(rect)
            self._outline.update(rect)
        else:
            self._rebuild_overlay()

    def _on_selection_changed(self, _chunk) -> None:
        session = self._session
        if session is None or self._overlay.size != session.doc.resolution:
            self._rebuild_overlay()
            return
        self._overlay.rebuild_outline(session.doc.chunks, session.selected)
        self._outline.update()  # the selected outline is drawn differently

    def _rebuild_overlay(self) -> None:
        session = self._session
        if session is None:
            self._overlay.clear()
        else:
            self._overlay.rebuild(session.doc.resolution, session.doc.chunks, session.selected)
        self._fill.set_image(self._overlay.fill_image)
        self._outline.set_image(self._overlay.outline_image)

    @property
    def overlay(self) -> ChunkOverlay:
        """The overlay layers (numpy buffers shared with what is drawn)."""
        return self._overlay

    # ================================================================== images

    def set_image(self, rgb: np.ndarray) -> None:
        """Show this RGB uint8 [H, W, 3] image (the aligned photo or the edited preview).

        It is stretched over the aligned frame when its size differs from the document's
        resolution. Zoom and pan stay as they are unless the frame's size changes.
        """
        self._display.set_rgb(_check_rgb(rgb, "The display image"))
        self._relayout()

    @property
    def displayed_image(self) -> np.ndarray | None:
        """A copy of the current (after) image, RGB uint8 (checks and tests)."""
        return self._display.rgb_copy()

    def set_compare_image(self, rgb: np.ndarray | None) -> None:
        """The "before" image for the before/after toggle and the split view."""
        if rgb is None:
            self._before.set_buffer(None)
        else:
            self._before.set_rgb(_check_rgb(rgb, "The compare image"))
        self._relayout()

    def _aligned_size(self) -> tuple[int, int] | None:
        if self._session is not None:
            r = self._session.doc.resolution
            return r, r
        return self._display.image_size or self._before.image_size

    def _relayout(self) -> None:
        """Stretch every aligned layer over the frame; refit when the frame's size changed."""
        size = self._aligned_size()
        rect = QRectF(0, 0, *size) if size else QRectF()
        for item in (self._display, self._before, self._sam_preview):
            _stretch(item, rect)
        changed = rect != self._image_rect
        self._image_rect = rect
        self._update_compare_layers()
        self._update_brush_cursor()
        if not self._photo_view:
            self._set_scene_rect(rect)
            if changed:
                self.zoom_to_fit()

    def _set_scene_rect(self, rect: QRectF) -> None:
        # A null rect would make the scene grow to fit its items (the brush cursor).
        self.scene().setSceneRect(rect if not rect.isEmpty() else QRectF(0, 0, 1, 1))
        self._update_pan_range()

    def _update_pan_range(self) -> None:
        """An image wider (taller) than the view may be panned until its edge reaches the
        middle of the view, so edges can be painted centred; a smaller one stays centred."""
        rect = self.scene().sceneRect()
        zoom = self.zoom_factor
        viewport = self.viewport()
        mx = viewport.width() / 2.0 / zoom if rect.width() * zoom > viewport.width() else 0.0
        my = viewport.height() / 2.0 / zoom if rect.height() * zoom > viewport.height() \
            else 0.0
        self.setSceneRect(rect.adjusted(-mx, -my, mx, my))

    # ================================================================== overlays

    @property
    def overlay_opacity(self) -> float:
        return self._overlay_opacity

    def set_overlay_opacity(self, opacity: float) -> None:
        """How strongly chunks tint the image, 0…1 (outlines are always drawn in full)."""
        opacity = min(max(float(opacity), 0.0), 1.0)
        self._overlay_opacity = opacity
        self._fill.setOpacity(opacity)

    @property
    def overlays_visible(self) -> bool:
        return self._fill.isVisibleTo(self._aligned_layer)

    def set_overlays_visible(self, visible: bool) -> None:
        self._fill.setVisible(bool(visible))
        self._outline.setVisible(bool(visible))

    # ================================================================== compare views

    @property
    def show_before(self) -> bool:
        return self._show_before

    def set_show_before(self, before: bool) -> None:
        """Show the "before" image instead of the current one."""
        self._show_before = bool(before)
        self._update_compare_layers()

    @property
    def split(self) -> float | None:
        return self._split

    def set_split(self, fraction: float | None) -> None:
        """Split view: "before" left of fraction·width, current right (None: off)."""
        if fraction is not None:
            fraction = min(max(float(fraction), 0.0), 1.0)
        changed = fraction != self._split
        self._split = fraction
        self._update_compare_layers()
        if changed and fraction is not None:
            self.split_changed.emit(fraction)

    def _update_compare_layers(self) -> None:
        has_before = self._before.image_size is not None
        whole = self._show_before or self._peeking
        self._before.setVisible(has_before and (whole or self._split is not None))
        self._before.set_clip_fraction(None if whole else self._split)
        splitting = has_before and not whole and self._split is not None
        self._divider.setVisible(splitting)
        if splitting:
            rect = self._image_rect
            x = rect.left() + self._split * rect.width()
            line = QLineF(x, rect.top(), x, rect.bottom())
            self._divider.setLine(line)
            self._divider_shadow.setLine(line)

    def _near_divider(self, pos: QPointF) -> bool:
        if self._photo_view or not self._divider.isVisible():
            return False
        line = self._divider.line()
        top = self._from_scene(line.p1())
        bottom = self._from_scene(line.p2())
        return (abs(pos.x() - top.x()) <= self._DIVIDER_GRAB_PX
                and top.y() - self._DIVIDER_GRAB_PX <= pos.y()
                <= bottom.y() + self._DIVIDER_GRAB_PX)

    # ================================================================== whole-photo view

    @property
    def photo_view_active(self) -> bool:
        return self._photo_view

    def set_photo_view(self, photo_rgb: np.ndarray | None, quad: np.ndarray | None) -> None:
        """Show the full original photo with the aligned face region (`quad`, 4×2 corner
        points in photo pixels) outlined; (None, None) returns to the aligned view.
        Painting is off in this view."""
        if photo_rgb is None:
            if not self._photo_view:
                return
            self._photo_view = False
            self._photo.hide()
            self._quad.hide()
            self._aligned_layer.show()
            self._set_scene_rect(self._image_rect)
            self._restore_aligned_state()
        else:
            rgb = _check_rgb(photo_rgb, "The photo")
            corners = _check_quad(quad)
            entering = not self._photo_view
            if entering:
                self._finish_drag()
                self._aligned_state = (self.zoom_factor, self._view_centre(), self._fit_mode)
            resized = self._photo.set_rgb(rgb)
            self._quad.set_polygon(corners)
            self._quad.setVisible(corners is not None)
            self._photo.show()
            self._aligned_layer.hide()
            self._photo_view = True
            height, width = rgb.shape[:2]
            self._set_scene_rect(QRectF(0, 0, width, height))
            if entering or resized:
                self.zoom_to_fit()
        self._last_report = None
        self._update_cursor()
        self._update_brush_cursor()

    def _restore_aligned_state(self) -> None:
        state, self._aligned_state = self._aligned_state, None
        if state is None or state[2]:
            self.zoom_to_fit()
            return
        zoom, centre, _fit = state
        self._apply_zoom(zoom)
        self.centerOn(centre)
        self._fit_mode = False

    # ================================================================== zoom

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

    def _zoom_about(self, zoom: float, anchor: QPointF | None) -> None:
        """Zoom keeping the scene point under `anchor` (viewport pixels) where it is."""
        self._fit_mode = False
        viewport = self.viewport()
        centre = QPointF(viewport.width() / 2.0, viewport.height() / 2.0)
        anchor = centre if anchor is None else anchor
        fixed = self._to_scene(anchor)
        zoom = self._apply_zoom(zoom)
        self.centerOn(fixed + (centre - anchor) / zoom)

    def _apply_zoom(self, zoom: float) -> float:
        zoom = min(max(float(zoom), self.MIN_ZOOM), self.MAX_ZOOM)
        old = self.zoom_factor
        self.setTransform(QTransform.fromScale(zoom, zoom))
        self._update_pan_range()
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                           zoom <= self.SMOOTH_UP_TO_ZOOM)
        self._brush_cursor.set_screen_size(self._brush.size * zoom)
        if not math.isclose(old, zoom, rel_tol=1e-9):
            self.zoom_changed.emit(zoom)
        return zoom

    def _view_centre(self) -> QPointF:
        viewport = self.viewport()
        return self._to_scene(QPointF(viewport.width() / 2.0, viewport.height() / 2.0))

    def _to_scene(self, pos: QPointF) -> QPointF:
        """Viewport position → scene point, without rounding to whole screen pixels."""
        inverse, _ok = self.viewportTransform().inverted()
        return inverse.map(QPointF(pos))

    def _from_scene(self, point: QPointF) -> QPointF:
        return self.viewportTransform().map(QPointF(point))

    def _pan_by(self, delta: QPointF) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - round(delta.x()))
        v.setValue(v.value() - round(delta.y()))

    # ================================================================== tools and brush

    @property
    def tool(self) -> str:
        return self._tool

    def set_tool(self, name: str) -> None:
        """One of "brush", "eraser", "fill", "sam", "pan"."""
        if name not in TOOLS:
            raise ValueError(f"Unknown canvas tool {name!r}; use one of {', '.join(TOOLS)}.")
        if name == self._tool:
            return
        self._finish_drag()
        self._tool = name
        self._update_sam_items()
        self._update_cursor()
        self._update_brush_cursor()
        self.tool_changed.emit(name)

    @property
    def brush(self) -> Brush:
        """Size (diameter in image pixels), hardness and opacity of the brush and eraser."""
        return self._brush

    def set_brush(self, brush: Brush) -> None:
        if not isinstance(brush, Brush):
            raise TypeError(f"set_brush needs a Brush, not {type(brush).__name__}.")
        brush = dataclasses.replace(brush, erase=False)  # the tool decides paint or erase
        if brush == self._brush:
            return
        self._brush = brush
        self._brush_cursor.set_screen_size(brush.size * self.zoom_factor)
        self.brush_changed.emit(brush)

    def grow_brush(self) -> None:
        self.set_brush(resized_brush(self._brush, grow=True))

    def shrink_brush(self) -> None:
        self.set_brush(resized_brush(self._brush, grow=False))

    def _update_cursor(self) -> None:
        if self._drag == "pan":
            shape = Qt.CursorShape.ClosedHandCursor
        elif self._space_held or self._tool == "pan":
            shape = Qt.CursorShape.OpenHandCursor
        elif self._hover_divider:
            shape = Qt.CursorShape.SplitHCursor
        elif self._photo_view:
            shape = Qt.CursorShape.ArrowCursor
        else:
            shape = Qt.CursorShape.CrossCursor
        self.viewport().setCursor(shape)

    def _update_brush_cursor(self, scene_pos: QPointF | None = None) -> None:
        if scene_pos is not None:
            self._brush_cursor.setPos(scene_pos)
        self._brush_cursor.setVisible(
            self._tool in ("brush", "eraser") and self._pointer_inside
            and not self._photo_view and not self._image_rect.isEmpty()
            and not self._space_held and self._drag not in ("pan", "split")
            and not self._hover_divider)

    # ================================================================== painting

    @property
    def painting(self) -> bool:
        """True while a brush or eraser stroke is under way (undo should wait for it)."""
        return self._stroke is not None

    def _paint_target(self):
        """The chunk the brush, eraser or fill may change now, or None (after saying why)."""
        if self._photo_view:
            self.message.emit(_PHOTO_VIEW_REFUSAL)
            return None
        session = self._session
        reason = paint_refusal(self._tool, None if session is None else session.doc.chunks,
                               None if session is None else session.selected)
        if reason is not None:
            self.message.emit(reason)
            return None
        return session.selected

    def _begin_stroke(self, scene: QPointF) -> None:
        chunk = self._paint_target()
        if chunk is None:
            return
        brush = dataclasses.replace(self._brush, erase=self._tool == "eraser")
        try:
            self._stroke = self._session.chunk_set.begin_stroke(chunk, brush)
        except SemeditError as exc:
            self.message.emit(str(exc))
            return
        self._drag = "stroke"
        self._stroke_to(scene)

    def _stroke_to(self, scene: QPointF) -> None:
        if self._stroke is None:
            return
        try:
            self._stroke.add_point(*scene_to_pixel(scene.x(), scene.y()))
        except SemeditError as exc:
            self.message.emit(str(exc))
            self._end_stroke()

    def _end_stroke(self) -> None:
        stroke, self._stroke = self._stroke, None
        if self._drag == "stroke":
            self._drag = None
        if stroke is not None:
            try:
                stroke.end()  # one undo step for the whole stroke
            except SemeditError as exc:
                self.message.emit(str(exc))

    def _fill_at(self, scene: QPointF) -> None:
        chunk = self._paint_target()
        if chunk is None:
            return
        if not self._image_rect.contains(scene):
            return
        try:
            self._session.chunk_set.fill(chunk, *scene_to_pixel(scene.x(), scene.y()))
        except SemeditError as exc:
            self.message.emit(str(exc))

    # ================================================================== Segment Anything

    @property
    def sam_prompt(self) -> SamPrompt:
        """A copy of the current prompt."""
        return SamPrompt(list(self._prompt.points), list(self._prompt.labels), self._prompt.box)

    def clear_sam_prompt(self) -> None:
        """Forget every point and the box and remove the preview; emits the empty prompt
        when there was one."""
        had_prompt = not self._prompt.empty
        self._prompt.clear()
        self._sam_boxing = False
        if self._drag == "sam":
            self._drag = None
        self.set_sam_preview(None)
        self._sync_prompt_items()
        if had_prompt:
            self._emit_prompt()

    def set_sam_preview(self, mask: np.ndarray | None) -> None:
        """Draw a candidate mask (float [0, 1] or bool, any size, stretched over the frame)
        tinted on top, or nothing."""
        if mask is None:
            self._sam_preview.set_buffer(None)
            return
        array = np.asarray(mask)
        if array.ndim != 2 or 0 in array.shape:
            raise ValueError(f"A SAM preview must be a 2-D mask, not shape {array.shape}.")
        tint = premultiplied_tint(array.astype(np.float32), _SAM_TINT, 0.5)
        self._sam_preview.set_buffer(tint, QImage.Format.Format_RGBA8888_Premultiplied)
        _stretch(self._sam_preview, self._image_rect)

    def _sam_press(self, button: Qt.MouseButton, pos: QPointF, scene: QPointF) -> None:
        if self._photo_view:
            self.message.emit(_PHOTO_VIEW_REFUSAL)
            return
        if self._image_rect.isEmpty():
            return
        if button == Qt.MouseButton.RightButton:
            self._add_sam_point(scene, include=False)
            return
        self._drag = "sam"
        self._press_view_pos = QPointF(pos)
        self._press_scene = QPointF(scene)
        self._sam_boxing = False

    def _sam_drag(self, pos: QPointF) -> None:
        if not self._sam_boxing:
            moved = pos - self._press_view_pos
            if abs(moved.x()) + abs(moved.y()) <= self._BOX_DRAG_PX:
                return
            self._sam_boxing = True
        self._sam_box.set_rect(self._drag_box(self._to_scene(pos)))

    def _sam_release(self, scene: QPointF) -> None:
        self._drag = None
        if not self._sam_boxing:
            self._add_sam_point(scene, include=True)
            return
        self._sam_boxing = False
        rect = self._drag_box(scene)
        if rect.width() >= 1.0 and rect.height() >= 1.0:
            x0, y0 = self._to_pixel(rect.topLeft())
            x1, y1 = self._to_pixel(rect.bottomRight())
            self._prompt.box = (x0, y0, x1, y1)
            self._emit_prompt()
        self._sync_prompt_items()

    def _drag_box(self, scene: QPointF) -> QRectF:
        return QRectF(self._press_scene, scene).normalized().intersected(self._image_rect)

    def _add_sam_point(self, scene: QPointF, include: bool) -> None:
        if not self._image_rect.contains(scene):
            return
        self._prompt.add_point(*self._to_pixel(scene), include=include)
        self._sync_prompt_items()
        self._emit_prompt()

    def _to_pixel(self, scene: QPointF) -> tuple[float, float]:
        """Core pixel coordinates, kept on the image (SAM refuses points outside it)."""
        x, y = scene_to_pixel(scene.x(), scene.y())
        rect = self._image_rect
        return (min(max(x, 0.0), rect.width() - 1.0), min(max(y, 0.0), rect.height() - 1.0))

    def _emit_prompt(self) -> None:
        self.sam_prompt_changed.emit(list(self._prompt.points), list(self._prompt.labels),
                                     self._prompt.box)

    def _sync_prompt_items(self) -> None:
        """Markers and the box drawn from the prompt (a handful of items: simply remade)."""
        scene = self.scene()
        for marker in self._markers:
            scene.removeItem(marker)
        self._markers = []
        for (x, y), label in zip(self._prompt.points, self._prompt.labels, strict=True):
            marker = PromptMarkerItem(include=label == 1)
            marker.setParentItem(self._aligned_layer)
            marker.setPos(x + 0.5, y + 0.5)
            marker.setZValue(6)
            self._markers.append(marker)
        box = self._prompt.box
        self._sam_box.set_rect(None if box is None else
                               QRectF(QPointF(box[0] + 0.5, box[1] + 0.5),
                                      QPointF(box[2] + 0.5, box[3] + 0.5)))
        self._update_sam_items()

    def _update_sam_items(self) -> None:
        visible = self._tool == "sam"
        for item in (*self._markers, self._sam_box, self._sam_preview):
            item.setVisible(visible)

    # ================================================================== mouse

    def mousePressEvent(self, event) -> None:
        button = event.button()
        pos = event.position()
        scene = self._to_scene(pos)
        self._last_view_pos = QPointF(pos)
        if self._drag is not None:  # another button during a drag
            event.accept()
            return
        left = button == Qt.MouseButton.LeftButton
        if button == Qt.MouseButton.MiddleButton or (
                left and (self._space_held or self._tool == "pan")):
            self._start_drag("pan", button)
        elif left and self._near_divider(pos):
            self._start_drag("split", button)
        elif self._tool == "sam" and button in (Qt.MouseButton.LeftButton,
                                                Qt.MouseButton.RightButton):
            self._sam_press(button, pos, scene)
            if self._drag == "sam":
                self._drag_button = button
        elif left and self._tool in ("brush", "eraser"):
            self._begin_stroke(scene)
            if self._drag == "stroke":
                self._drag_button = button
        elif left and self._tool == "fill":
            self._fill_at(scene)
        else:
            super().mousePressEvent(event)
            return
        event.accept()

    def _start_drag(self, kind: str, button: Qt.MouseButton) -> None:
        self._drag = kind
        self._drag_button = button
        self._update_cursor()
        self._update_brush_cursor()

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        scene = self._to_scene(pos)
        self._pointer_inside = True
        if self._drag == "pan":
            self._pan_by(pos - self._last_view_pos)
            scene = self._to_scene(pos)
        elif self._drag == "stroke":
            self._stroke_to(scene)
        elif self._drag == "split":
            rect = self._image_rect
            self.set_split((scene.x() - rect.left()) / rect.width())
        elif self._drag == "sam":
            self._sam_drag(pos)
        else:
            hover = self._near_divider(pos)
            if hover != self._hover_divider:
                self._hover_divider = hover
                self._update_cursor()
        self._last_view_pos = QPointF(pos)
        self._update_brush_cursor(scene)
        self._report_cursor(scene)
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if self._drag is None or event.button() != self._drag_button:
            event.accept()
            return
        if self._drag == "sam":
            self._sam_release(self._to_scene(event.position()))
        else:
            self._finish_drag()
        self._update_cursor()
        self._update_brush_cursor()
        event.accept()

    def mouseDoubleClickEvent(self, event) -> None:
        # A double click is two clicks for the tools (two SAM points, two fills).
        self.mousePressEvent(event)

    def _finish_drag(self) -> None:
        """End whatever the mouse was doing (release, focus lost, tool or view changed)."""
        if self._drag == "stroke" or self._stroke is not None:
            self._end_stroke()
        if self._drag == "sam":
            self._sam_boxing = False
            self._sync_prompt_items()  # drop an unfinished box outline
        self._drag = None
        self._drag_button = Qt.MouseButton.NoButton

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y()
        if delta == 0:
            event.ignore()
            return
        notches = delta / 120.0
        factor = 2.0 ** (notches / self._WHEEL_NOTCHES_PER_DOUBLING)
        self._zoom_about(self.zoom_factor * factor, event.position())
        scene = self._to_scene(event.position())
        self._update_brush_cursor(scene)
        self._report_cursor(scene)
        event.accept()

    def viewportEvent(self, event) -> bool:
        # Enter and Leave reach the viewport only, not the view's handlers.
        if event.type() == QEvent.Type.Leave:
            self._pointer_inside = False
            self._hover_divider = False
            self._update_brush_cursor()
            self._report(-1, -1, "")
        elif event.type() == QEvent.Type.Enter:
            self._pointer_inside = True
        return super().viewportEvent(event)

    def _report_cursor(self, scene: QPointF) -> None:
        rect = self.scene().sceneRect() if self._photo_view else self._image_rect
        if rect.isEmpty() or not rect.contains(scene):
            self._report(-1, -1, "")
            return
        x, y = math.floor(scene.x()), math.floor(scene.y())
        name = ""
        if self._session is not None and not self._photo_view:
            chunk = self._session.chunk_set.chunk_at(x, y)
            name = "" if chunk is None else chunk.name
        self._report(x, y, name)

    def _report(self, x: int, y: int, name: str) -> None:
        if (x, y, name) != self._last_report:
            self._last_report = (x, y, name)
            self.cursor_moved.emit(x, y, name)

    # ================================================================== keys

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key == Qt.Key.Key_BracketLeft:
            self.shrink_brush()
        elif key == Qt.Key.Key_BracketRight:
            self.grow_brush()
        elif key == Qt.Key.Key_Space:
            if not event.isAutoRepeat() and self._drag is None:
                self._space_held = True
                self._update_cursor()
                self._update_brush_cursor()
        elif key == Qt.Key.Key_Backslash:
            if not event.isAutoRepeat():
                self._peeking = True
                self._update_compare_layers()
        elif key == Qt.Key.Key_Escape and self._tool == "sam":
            self.clear_sam_prompt()
        elif key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete) and self._tool == "sam":
            if self._prompt.remove_last_point():
                self._sync_prompt_items()
                self._emit_prompt()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event) -> None:
        if event.isAutoRepeat():
            event.accept()
            return
        if event.key() == Qt.Key.Key_Space:
            self._space_held = False
            self._update_cursor()
            self._update_brush_cursor()
        elif event.key() == Qt.Key.Key_Backslash:
            self._peeking = False
            self._update_compare_layers()
        else:
            super().keyReleaseEvent(event)
            return
        event.accept()

    def focusOutEvent(self, event) -> None:
        # Keys released elsewhere never reach us: forget held keys and open drags.
        self._space_held = False
        if self._peeking:
            self._peeking = False
            self._update_compare_layers()
        self._finish_drag()
        self._update_cursor()
        super().focusOutEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._update_pan_range()
        if self._fit_mode:
            self.zoom_to_fit()


# ====================================================================== helpers


def _check_rgb(rgb: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(rgb)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3 or 0 in array.shape:
        raise ValueError(f"{what} must be an RGB uint8 array [H, W, 3], not "
                         f"{array.dtype} {array.shape}.")
    return array


def _check_quad(quad: np.ndarray | None) -> list[tuple[float, float]] | None:
    if quad is None:
        return None
    corners = np.asarray(quad, dtype=np.float64)
    if corners.shape != (4, 2) or not np.isfinite(corners).all():
        raise ValueError(f"The face quad must be 4×2 finite corner points, not {corners.shape}.")
    return [(float(x), float(y)) for x, y in corners]


def _stretch(item: ImageItem, rect: QRectF) -> None:
    """Scale an image layer so that it covers `rect` whatever its own pixel size."""
    size = item.image_size
    if size is None or rect.isEmpty():
        item.setTransform(QTransform())
        return
    item.setTransform(QTransform.fromScale(rect.width() / size[0], rect.height() / size[1]))
