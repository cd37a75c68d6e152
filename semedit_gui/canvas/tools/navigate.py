"""Tools that change what is seen, never the document: pan and the split divider."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QGraphicsLineItem

from semedit_gui.canvas.tools.base import CanvasTool, Press, ToolEvent, ToolHost

__all__ = ["DividerTool", "PanTool"]


class PanTool(CanvasTool):
    """Drag the image around: the "pan" tool's left button, and the middle button or
    Space + left button whatever tool is active."""

    name = "pan"
    drag_cursor = Qt.CursorShape.ClosedHandCursor

    def __init__(self, host: ToolHost):
        super().__init__(host)
        self._last: QPointF | None = None

    def cursor(self, photo_view: bool) -> Qt.CursorShape:
        return Qt.CursorShape.OpenHandCursor

    def press(self, event: ToolEvent) -> Press:
        if event.button not in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            return Press.IGNORED
        self._last = QPointF(event.pos)
        return Press.GRAB

    def move(self, event: ToolEvent) -> None:
        if self._last is not None:
            self.host.pan_by(event.pos - self._last)
            self._last = QPointF(event.pos)

    def release(self, event: ToolEvent) -> None:
        self._last = None

    def cancel(self) -> None:
        self._last = None


class DividerTool(CanvasTool):
    """Drag the split view's divider (`divider`, a line in scene coordinates) sideways; the
    canvas routes a left press here when `hit` says it is on the divider."""

    name = "divider"
    drag_cursor = Qt.CursorShape.SplitHCursor
    GRAB_PX = 6  # how near (screen pixels) a press must be to take the divider

    def __init__(self, host: ToolHost, divider: QGraphicsLineItem):
        super().__init__(host)
        self._divider = divider

    def hit(self, pos: QPointF) -> bool:
        """Whether viewport position `pos` is on the visible divider."""
        if self.host.photo_view_active or not self._divider.isVisible():
            return False
        line = self._divider.line()
        top = self.host.scene_to_view(line.p1())
        bottom = self.host.scene_to_view(line.p2())
        return (abs(pos.x() - top.x()) <= self.GRAB_PX
                and top.y() - self.GRAB_PX <= pos.y() <= bottom.y() + self.GRAB_PX)

    def press(self, event: ToolEvent) -> Press:
        return Press.GRAB if event.left else Press.IGNORED

    def move(self, event: ToolEvent) -> None:
        rect = self.host.image_rect
        if not rect.isEmpty():
            self.host.set_split((event.scene.x() - rect.left()) / rect.width())
