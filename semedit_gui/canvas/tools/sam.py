"""The Segment Anything tool: clicks and a box that make the prompt, drawn on the canvas.

Left click: an include point; right click: an exclude point; a left drag further than a
few screen pixels: the box. Escape forgets the prompt, Backspace/Delete the last point.
Every change of the prompt is reported through `on_change`; running the model (and
calling `set_preview` with its answer) is the main window's business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QGraphicsItem

from semedit_gui.canvas.items import DashedOutlineItem, ImageItem, PromptMarkerItem, stretch_over
from semedit_gui.canvas.overlay import premultiplied_tint
from semedit_gui.canvas.tools.base import (
    PHOTO_VIEW_REFUSAL,
    CanvasTool,
    Press,
    ToolEvent,
    ToolHost,
    scene_to_pixel,
)

__all__ = ["SamPrompt", "SamPromptTool"]

_TINT = (0, 230, 255)  # cyan: distinct from every chunk colour in the palette


@dataclass
class SamPrompt:
    """The clicks and box given to Segment Anything so far, in core pixel coordinates."""

    points: list[tuple[float, float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)  # 1 include, 0 exclude
    box: tuple[float, float, float, float] | None = None

    @property
    def empty(self) -> bool:
        return not self.points and self.box is None

    def add_point(self, x: float, y: float, include: bool) -> None:
        self.points.append((float(x), float(y)))
        self.labels.append(1 if include else 0)

    def remove_last_point(self) -> bool:
        if not self.points:
            return False
        self.points.pop()
        self.labels.pop()
        return True

    def clear(self) -> None:
        self.points.clear()
        self.labels.clear()
        self.box = None

    def copy(self) -> SamPrompt:
        return SamPrompt(list(self.points), list(self.labels), self.box)


class SamPromptTool(CanvasTool):
    """Builds the prompt from clicks and drags and draws it: markers, the box and the
    candidate mask, all under `parent` (the aligned frame's layer) from z value `z` up."""

    name = "sam"
    BOX_DRAG_PX = 4  # a press that moves further than this (screen pixels) draws a box

    def __init__(self, host: ToolHost, parent: QGraphicsItem, z: float,
                 on_change: Callable[[SamPrompt], None]):
        super().__init__(host)
        self._parent = parent
        self._z = z
        self._on_change = on_change
        self._prompt = SamPrompt()
        self.preview_item = ImageItem(parent)
        self.preview_item.setZValue(z)
        self.box_item = DashedOutlineItem()
        self.box_item.setParentItem(parent)
        self.box_item.setZValue(z + 1)
        self.markers: list[PromptMarkerItem] = []
        self._active = False
        self._pressed: ToolEvent | None = None  # the left press of a click or a box
        self._boxing = False
        self._show_items()

    @property
    def prompt(self) -> SamPrompt:
        """A copy of the current prompt."""
        return self._prompt.copy()

    # ------------------------------------------------------------------ mouse and keys

    def press(self, event: ToolEvent) -> Press:
        if event.button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            return Press.IGNORED
        if self.host.photo_view_active:
            self.host.say(PHOTO_VIEW_REFUSAL)
            return Press.HANDLED
        if self.host.image_rect.isEmpty():
            return Press.HANDLED
        if not event.left:
            self._add_point(event.scene, include=False)
            return Press.HANDLED
        self._pressed = event
        self._boxing = False
        return Press.GRAB

    def move(self, event: ToolEvent) -> None:
        if self._pressed is None:
            return
        if not self._boxing:
            moved = event.pos - self._pressed.pos
            if abs(moved.x()) + abs(moved.y()) <= self.BOX_DRAG_PX:
                return
            self._boxing = True
        self.box_item.set_rect(self._drag_box(event.scene))

    def release(self, event: ToolEvent) -> None:
        if self._pressed is None:  # the prompt was cleared during the drag
            return
        if not self._boxing:
            self._pressed = None
            self._add_point(event.scene, include=True)
            return
        rect = self._drag_box(event.scene)
        self._pressed = None
        self._boxing = False
        if rect.width() >= 1.0 and rect.height() >= 1.0:
            x0, y0 = self._to_pixel(rect.topLeft())
            x1, y1 = self._to_pixel(rect.bottomRight())
            self._prompt.box = (x0, y0, x1, y1)
            self._changed()
        self._sync_items()

    def cancel(self) -> None:
        self._pressed = None
        self._boxing = False
        self._sync_items()  # drop an unfinished box outline

    def key_press(self, key: Qt.Key) -> bool:
        if key == Qt.Key.Key_Escape:
            self.clear()
            return True
        if key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            if self._prompt.remove_last_point():
                self._sync_items()
                self._changed()
            return True
        return False

    def activate(self) -> None:
        self._active = True
        self._show_items()

    def deactivate(self) -> None:
        self._active = False
        self._show_items()

    # ------------------------------------------------------------------ prompt and preview

    def clear(self) -> None:
        """Forget every point and the box and remove the preview; reports the empty prompt
        when there was one."""
        had_prompt = not self._prompt.empty
        self._prompt.clear()
        self._pressed = None
        self._boxing = False
        self.set_preview(None)
        self._sync_items()
        if had_prompt:
            self._changed()

    def set_preview(self, mask: np.ndarray | None) -> None:
        """Draw a candidate mask (float [0, 1] or bool, any size, stretched over the frame)
        tinted on top, or nothing."""
        if mask is None:
            self.preview_item.set_buffer(None)
            return
        array = np.asarray(mask)
        if array.ndim != 2 or 0 in array.shape:
            raise ValueError(f"A SAM preview must be a 2-D mask, not shape {array.shape}.")
        tint = premultiplied_tint(array.astype(np.float32), _TINT, 0.5)
        self.preview_item.set_buffer(tint, QImage.Format.Format_RGBA8888_Premultiplied)
        stretch_over(self.preview_item, self.host.image_rect)

    def fit_to(self, rect: QRectF) -> None:
        """The frame changed size: stretch the preview over it again."""
        stretch_over(self.preview_item, rect)

    # ------------------------------------------------------------------ helpers

    def _drag_box(self, scene: QPointF) -> QRectF:
        return QRectF(self._pressed.scene, scene).normalized().intersected(self.host.image_rect)

    def _add_point(self, scene: QPointF, include: bool) -> None:
        if not self.host.image_rect.contains(scene):
            return
        self._prompt.add_point(*self._to_pixel(scene), include=include)
        self._sync_items()
        self._changed()

    def _to_pixel(self, scene: QPointF) -> tuple[float, float]:
        """Core pixel coordinates, kept on the image (SAM refuses points outside it)."""
        x, y = scene_to_pixel(scene.x(), scene.y())
        rect = self.host.image_rect
        return (min(max(x, 0.0), rect.width() - 1.0), min(max(y, 0.0), rect.height() - 1.0))

    def _changed(self) -> None:
        self._on_change(self._prompt.copy())

    def _sync_items(self) -> None:
        """Markers and the box drawn from the prompt (a handful of items: simply remade)."""
        for marker in self.markers:
            marker.setParentItem(None)
            if marker.scene() is not None:
                marker.scene().removeItem(marker)
        self.markers = []
        for (x, y), label in zip(self._prompt.points, self._prompt.labels, strict=True):
            marker = PromptMarkerItem(include=label == 1)
            marker.setParentItem(self._parent)
            marker.setPos(x + 0.5, y + 0.5)
            marker.setZValue(self._z + 2)
            self.markers.append(marker)
        box = self._prompt.box
        self.box_item.set_rect(None if box is None else
                               QRectF(QPointF(box[0] + 0.5, box[1] + 0.5),
                                      QPointF(box[2] + 0.5, box[3] + 0.5)))
        self._show_items()

    def _show_items(self) -> None:
        for item in (*self.markers, self.box_item, self.preview_item):
            item.setVisible(self._active)
