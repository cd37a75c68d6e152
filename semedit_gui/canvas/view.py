"""The image canvas: the photo, the chunks painted over it, and the tools that paint them.

`CanvasView` is the view: it shows the layers (`layers.CanvasLayers`), zooms and pans,
keeps the chunk overlay in step with the document, and turns mouse events into
`ToolEvent`s for one tool object (`tools/`): the active tool, the pan tool (middle
button, Space held) or the split-divider tool (a press on the divider). It is over
550 lines because it is the one widget: every method the window calls and every Qt
event handler lives here, each a few lines that hand over to the layers, zoom or tools.

Scene coordinates are the aligned image's pixels (pixel (r, c) covers [c, c + 1) ×
[r, r + 1)); in the whole-photo view they are the full photo's pixels instead. Everything
here runs on the UI thread and is quick: overlays are numpy, only the changed region of a
brush dab is rebuilt, and Segment Anything is run by the main window, not the canvas.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterable, Mapping

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QLabel, QWidget

from core.errors import InvalidInputError
from core.project.document import Chunk
from core.segment.brush import Brush
from core.segment.chunk_set import ChunkSetEvent
from semedit_gui.canvas.heat_legend import HeatLegend
from semedit_gui.canvas.items import stretch_over
from semedit_gui.canvas.layers import CanvasLayers, checked_quad, checked_rgb
from semedit_gui.canvas.overlay import ChunkOverlay
from semedit_gui.canvas.refine_notes import RefineNotes
from semedit_gui.canvas.tools import (
    CanvasTool,
    Press,
    SamPrompt,
    ToolBox,
    ToolEvent,
    resized_brush,
)
from semedit_gui.canvas.zoomable import ViewState, ZoomableView
from semedit_gui.session import EditorSession

__all__ = ["CanvasView"]


class CanvasView(ZoomableView):
    """Shows the display image with chunk overlays and runs the painting tools.

    Signals (besides ZoomableView's zoom_changed):
        brush_changed(Brush): the brush changed (`set_brush`, `[` and `]`).
        tool_changed(str): the tool changed.
        message(str): a sentence for the status bar (why a click did nothing).
        sam_prompt_changed(points, labels, box): every Segment Anything prompt so far,
            in core pixel coordinates (pixel centre at x = column, y = row).
        split_changed(float): the split divider moved (fraction of the width).
        cursor_moved(int, int, str): the image pixel under the pointer and the name of the
            chunk on top there ('' for none); (-1, -1, '') when the pointer leaves the image.
        refine_note_changed(str): `refine_note` changed ('' when no chunk is marked).
    """

    brush_changed = Signal(object)
    tool_changed = Signal(str)
    message = Signal(str)
    sam_prompt_changed = Signal(object, object, object)
    split_changed = Signal(float)
    cursor_moved = Signal(int, int, str)
    refine_note_changed = Signal(str)

    DEFAULT_OVERLAY_OPACITY = 0.45

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self._session: EditorSession | None = None
        self._brush = Brush()
        self._overlay_opacity = self.DEFAULT_OVERLAY_OPACITY
        self._show_before = False
        self._peeking = False  # backslash held
        self._split: float | None = None
        self._photo_view = False
        self._heat_map = False  # the display image is the Differences heat map
        self._photo_outlined = False  # the whole-photo view has a face outline to show
        self._photo_label = QLabel(self)  # what the whole-photo view shows, in words
        self._photo_label.setObjectName("photoViewLabel")
        self._photo_label.setStyleSheet("QLabel { background: rgba(0, 0, 0, 170); "
                                        "color: white; padding: 4px 8px; }")
        self._photo_label.hide()
        self.heat_legend = HeatLegend(self)  # the Differences map's key, while it shows
        self._aligned_state: ViewState | None = None
        self._image_rect = QRectF()  # the aligned frame in scene coordinates
        self._pointer_inside = False
        self._last_report: tuple[int, int, str] | None = None

        self.layers = CanvasLayers(self.scene(), self._overlay_opacity)
        self.refine_notes = RefineNotes(self.layers.aligned, CanvasLayers.Z_NOTES)
        self.toolbox = ToolBox(self, self.layers.aligned, CanvasLayers.Z_SAM,
                                self._emit_prompt, self.layers.divider)
        self.set_scene_rect(QRectF())
        self._update_cursor()

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
        self.toolbox.cancel()
        if self._session is not None:
            old = self._session
            for signal, slot in ((old.chunks_changed, self._on_chunks_changed),
                                 (old.selection_changed, self._on_selection_changed)):
                with contextlib.suppress(RuntimeError, TypeError):  # gone with its QObject
                    signal.disconnect(slot)
        self._session = session
        self.clear_sam_prompt()
        self.set_masks_changed_since_inversion(())
        self.set_photo_view(None, None)
        layers = self.layers
        self._heat_map = False
        self.heat_legend.show_for(False)
        if session is None:
            layers.display.set_buffer(None)
            layers.before.set_buffer(None)
        else:
            session.chunks_changed.connect(self._on_chunks_changed)
            session.selection_changed.connect(self._on_selection_changed)
            layers.display.set_rgb(checked_rgb(session.doc.aligned, "The aligned photo"))
            layers.before.set_rgb(checked_rgb(session.doc.aligned, "The aligned photo"))
        self._redraw_chunks()
        self._relayout()
        if session is not None:
            self.zoom_to_fit()  # a new document starts fitted, whatever its size

    def _on_chunks_changed(self, event: ChunkSetEvent) -> None:
        session = self._session
        if session is None:
            return
        if event.kind == "mask" and event.bbox is not None:
            self.layers.redraw_chunk_region(session.doc.resolution, session.doc.chunks,
                                            session.selected, event.bbox)
        else:
            self._redraw_chunks()
        if self.refine_notes.on_chunks_changed(event, session.doc.chunks):
            self.refine_note_changed.emit(self.refine_note)

    def _on_selection_changed(self, _chunk) -> None:
        session = self._session
        if session is not None:
            self.layers.redraw_outlines(session.doc.resolution, session.doc.chunks,
                                        session.selected)

    def _redraw_chunks(self) -> None:
        session = self._session
        self.layers.redraw_chunks(None if session is None else session.doc.resolution,
                                  [] if session is None else session.doc.chunks,
                                  None if session is None else session.selected)

    @property
    def overlay(self) -> ChunkOverlay:
        """The overlay layers (numpy buffers shared with what is drawn)."""
        return self.layers.overlay

    # ================================================================== changed since inversion

    def set_masks_changed_since_inversion(self, chunks: Iterable[Chunk | str | int]) -> None:
        """Mark these chunks (objects, names or indices of the open document) as having
        masks that changed since their inversion: each gets a badge on the canvas and
        `refine_note` names them. An empty list removes the marks; removing a chunk drops
        its mark. Raises the document's error for a chunk it does not have."""
        refs = list(chunks)
        if refs and self._session is None:
            raise InvalidInputError("No document is open: there is no chunk to mark.")
        if self.refine_notes.set_chunks([self._session.doc.chunk(ref) for ref in refs]):
            self.refine_note_changed.emit(self.refine_note)

    @property
    def masks_changed_since_inversion(self) -> list[str]:
        """Names of the chunks marked by `set_masks_changed_since_inversion`."""
        return [chunk.name for chunk in self.refine_notes.chunks]

    @property
    def refine_note(self) -> str:
        """One sentence naming the marked chunks, for the status bar ('' for none)."""
        return self.refine_notes.sentence

    # ================================================================== images

    def set_image(self, rgb: np.ndarray, *, heat_map: bool = False) -> None:
        """Show this RGB uint8 [H, W, 3] image (the aligned photo or the edited preview;
        `heat_map`: the Differences heat map, shown with its key).

        It is stretched over the aligned frame when its size differs from the document's
        resolution. Zoom and pan stay as they are unless the frame's size changes.
        """
        self.layers.display.set_rgb(checked_rgb(rgb, "The display image"))
        self._heat_map = heat_map
        self.heat_legend.show_for(heat_map and not self._photo_view)
        self._relayout()

    @property
    def displayed_image(self) -> np.ndarray | None:
        """A copy of the current (after) image, RGB uint8 (checks and tests)."""
        return self.layers.display.rgb_copy()

    def set_compare_image(self, rgb: np.ndarray | None) -> None:
        """The "before" image for the before/after toggle and the split view."""
        if rgb is None:
            self.layers.before.set_buffer(None)
        else:
            self.layers.before.set_rgb(checked_rgb(rgb, "The compare image"))
        self._relayout()

    @property
    def image_rect(self) -> QRectF:
        """The aligned frame in scene coordinates (empty when nothing is shown)."""
        return QRectF(self._image_rect)

    def _aligned_size(self) -> tuple[int, int] | None:
        if self._session is not None:
            r = self._session.doc.resolution
            return r, r
        return self.layers.display.image_size or self.layers.before.image_size

    def _relayout(self) -> None:
        """Stretch every aligned layer over the frame; refit when the frame's size changed."""
        size = self._aligned_size()
        rect = QRectF(0, 0, *size) if size else QRectF()
        self.layers.stretch_images(rect)
        self.toolbox.sam.fit_to(rect)
        changed = rect != self._image_rect
        self._image_rect = rect
        self._update_compare_layers()
        self._update_brush_cursor()
        if not self._photo_view:
            self.set_scene_rect(rect)
            if changed:
                self.zoom_to_fit()

    # ================================================================== overlays

    @property
    def overlay_opacity(self) -> float:
        return self._overlay_opacity

    def set_overlay_opacity(self, opacity: float) -> None:
        """How strongly chunks tint the image, 0…1 (outlines are always drawn in full)."""
        opacity = min(max(float(opacity), 0.0), 1.0)
        self._overlay_opacity = opacity
        self.layers.fill.setOpacity(opacity)

    @property
    def overlays_visible(self) -> bool:
        return self.layers.chunks_visible

    def set_overlays_visible(self, visible: bool) -> None:
        self.layers.set_chunks_visible(bool(visible))
        self.layers.quad.setVisible(bool(visible) and self._photo_view and self._photo_outlined)

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
        self.layers.show_compare(self._image_rect, self._show_before or self._peeking,
                                 self._split)

    # ================================================================== whole-photo view

    @property
    def photo_view_active(self) -> bool:
        return self._photo_view

    def set_photo_view(self, photo_rgb: np.ndarray | None, quad: np.ndarray | None, *,
                       label: str = "", photo_size: tuple[int, int] | None = None) -> None:
        """Show a full photo with the aligned face region (`quad`, 4×2 corner points in
        photo pixels) outlined and `label` in the view's corner; (None, None) returns to
        the aligned view. `photo_size` (width, height): the photo's own size when
        `photo_rgb` is a smaller copy of it, so scene coordinates stay photo pixels.
        Painting is off in this view; the outline follows the chunk overlays' switch."""
        if photo_rgb is None:
            self._photo_label.hide()
            if not self._photo_view:
                return
            self._photo_view = False
            self.heat_legend.show_for(self._heat_map)
            self.layers.show_aligned()
            self.set_scene_rect(self._image_rect)
            state, self._aligned_state = self._aligned_state, None
            self.restore_view_state(state)
        else:
            corners = checked_quad(quad)
            entering = not self._photo_view
            if entering:
                self.toolbox.cancel()
                self._aligned_state = self.view_state()
            self.layers.show_photo(photo_rgb, corners)
            self._photo_outlined = corners is not None
            self.layers.quad.setVisible(self._photo_outlined and self.overlays_visible)
            self._photo_view = True
            self.heat_legend.show_for(False)
            height, width = np.shape(photo_rgb)[:2]
            frame = QRectF(0, 0, *(photo_size or (width, height)))
            stretch_over(self.layers.photo, frame)
            resized = frame != self.scene().sceneRect()
            self.set_scene_rect(frame)
            if entering or resized:
                self.zoom_to_fit()
            self._show_photo_label(label)
        self._last_report = None
        self._update_cursor()
        self._update_brush_cursor()

    def show_photo_view(self, view) -> None:
        """`set_photo_view` from a `controllers.photo_view.PhotoView` (None: leave it)."""
        if view is None:
            self.set_photo_view(None, None)
        else:
            self.set_photo_view(view.image, view.quad, label=view.label,
                                photo_size=view.photo_size)

    @property
    def photo_view_label(self) -> str:
        """The words over the whole-photo view ('' when none are shown)."""
        return self._photo_label.text() if self._photo_label.isVisibleTo(self) else ""

    @property
    def photo_view_image(self) -> np.ndarray | None:
        """A copy of the whole-photo view's pixels (checks and tests)."""
        return self.layers.photo.rgb_copy() if self._photo_view else None

    def _show_photo_label(self, text: str) -> None:
        label = self._photo_label
        label.setText(text)
        label.setVisible(bool(text))
        label.adjustSize()
        # A child of the view, not of the viewport, so scrolling never moves it.
        label.move(self.viewport().geometry().topLeft() + QPoint(10, 10))
        label.raise_()

    # ================================================================== tools and brush

    @property
    def tool(self) -> str:
        return self.toolbox.active.name

    @property
    def tools(self) -> Mapping[str, CanvasTool]:
        """The tool objects by name (the names in TOOLS)."""
        return self.toolbox.tools

    def set_tool(self, name: str) -> None:
        """One of "brush", "eraser", "fill", "sam", "pan"."""
        if self.toolbox.set_active(name):
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
        self.layers.brush_cursor.set_screen_size(brush.size * self.zoom_factor)
        self.brush_changed.emit(brush)

    def grow_brush(self) -> None:
        self.set_brush(resized_brush(self._brush, grow=True))

    def shrink_brush(self) -> None:
        self.set_brush(resized_brush(self._brush, grow=False))

    @property
    def painting(self) -> bool:
        """True while a brush or eraser stroke is under way (undo should wait for it)."""
        return self.toolbox.painting

    def say(self, sentence: str) -> None:
        """Tell the user why a press did nothing (emits `message`)."""
        self.message.emit(sentence)

    def _zoom_applied(self, zoom: float) -> None:
        self.layers.brush_cursor.set_screen_size(self._brush.size * zoom)

    def _update_cursor(self) -> None:
        self.viewport().setCursor(self.toolbox.cursor(self._photo_view))

    def _update_brush_cursor(self, scene_pos: QPointF | None = None) -> None:
        cursor = self.layers.brush_cursor
        if scene_pos is not None:
            cursor.setPos(scene_pos)
        cursor.setVisible(self.toolbox.wants_brush_cursor() and self._pointer_inside
                          and not self._photo_view and not self._image_rect.isEmpty())

    # ================================================================== Segment Anything

    @property
    def sam_prompt(self) -> SamPrompt:
        """A copy of the current prompt."""
        return self.toolbox.sam.prompt

    def clear_sam_prompt(self) -> None:
        """Forget every point and the box and remove the preview; emits the empty prompt
        when there was one."""
        self.toolbox.forget_drag_of(self.toolbox.sam)  # a box being drawn goes too
        self.toolbox.sam.clear()

    def set_sam_preview(self, mask: np.ndarray | None) -> None:
        """Draw a candidate mask (float [0, 1] or bool, any size, stretched over the frame)
        tinted on top, or nothing."""
        self.toolbox.sam.set_preview(mask)

    def _emit_prompt(self, prompt: SamPrompt) -> None:
        self.sam_prompt_changed.emit(prompt.points, prompt.labels, prompt.box)

    # ================================================================== mouse

    def _tool_event(self, event, button: Qt.MouseButton | None = None) -> ToolEvent:
        pos = QPointF(event.position())
        return ToolEvent(event.button() if button is None else button, pos,
                         self.view_to_scene(pos))

    def mousePressEvent(self, event) -> None:
        answer = self.toolbox.press(self._tool_event(event))
        if answer is Press.IGNORED:
            super().mousePressEvent(event)
            return
        if answer is Press.GRAB:
            self._update_cursor()
            self._update_brush_cursor()
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        self._pointer_inside = True
        if self.toolbox.move(self._tool_event(event, Qt.MouseButton.NoButton)):
            self._update_cursor()
        scene = self.view_to_scene(event.position())  # after a pan, a new point is under it
        self._update_brush_cursor(scene)
        self._report_cursor(scene)
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if self.toolbox.release(self._tool_event(event)):
            self._update_cursor()
            self._update_brush_cursor()
        event.accept()

    def mouseDoubleClickEvent(self, event) -> None:
        # A double click is two clicks for the tools (two SAM points, two fills).
        self.mousePressEvent(event)

    def wheelEvent(self, event) -> None:
        super().wheelEvent(event)  # zooms about the pointer
        if event.isAccepted():
            scene = self.view_to_scene(event.position())
            self._update_brush_cursor(scene)
            self._report_cursor(scene)

    def viewportEvent(self, event) -> bool:
        # Enter and Leave reach the viewport only, not the view's handlers.
        if event.type() == QEvent.Type.Leave:
            self._pointer_inside = False
            self.toolbox.set_hover(False)
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
            if not event.isAutoRepeat() and self.toolbox.set_space_held(True):
                self._update_cursor()
                self._update_brush_cursor()
        elif key == Qt.Key.Key_Backslash:
            if not event.isAutoRepeat():
                self._peeking = True
                self._update_compare_layers()
        elif not self.toolbox.active.key_press(key):
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event) -> None:
        if event.isAutoRepeat():
            event.accept()
            return
        if event.key() == Qt.Key.Key_Space:
            self.toolbox.set_space_held(False)
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
        self.toolbox.set_space_held(False)
        if self._peeking:
            self._peeking = False
            self._update_compare_layers()
        self.toolbox.cancel()
        self._update_cursor()
        super().focusOutEvent(event)
