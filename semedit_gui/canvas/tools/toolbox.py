"""Which tool gets each mouse event, and the pointer shape that says so.

A press goes to the pan tool for the middle button or while Space is held, to the
split-divider tool when it lands on the divider (unless the pan tool is active: then
the image moves), else to the active tool. A tool that answers `Press.GRAB` gets that
button's moves and release; presses of other buttons meanwhile are swallowed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem, QGraphicsLineItem

from semedit_gui.canvas.tools.base import CanvasTool, Press, ToolEvent, ToolHost
from semedit_gui.canvas.tools.navigate import DividerTool, PanTool
from semedit_gui.canvas.tools.paint import FillTool, StrokeTool
from semedit_gui.canvas.tools.sam import SamPrompt, SamPromptTool

__all__ = ["TOOLS", "ToolBox"]

# The tools a user picks (toolbar, shortcuts); the divider tool is reached by pressing on
# the split view's divider whatever tool is active.
TOOLS: tuple[str, ...] = ("brush", "eraser", "fill", "sam", "pan")


@dataclass(frozen=True)
class _Grab:
    """A drag under way: the tool that receives it and the button that started it."""

    tool: CanvasTool
    button: Qt.MouseButton


class ToolBox:
    """The canvas's tool objects, the active one, Space (pan while held) and the drag
    under way. The SAM tool draws under `aligned` from z value `sam_z` and reports its
    prompt to `on_prompt`; `divider` is the split view's divider line."""

    def __init__(self, host: ToolHost, aligned: QGraphicsItem, sam_z: float,
                 on_prompt: Callable[[SamPrompt], None], divider: QGraphicsLineItem):
        self.sam = SamPromptTool(host, aligned, sam_z, on_prompt)
        self.pan = PanTool(host)
        self.divider = DividerTool(host, divider)
        self._tools: dict[str, CanvasTool] = {
            "brush": StrokeTool(host, erase=False), "eraser": StrokeTool(host, erase=True),
            "fill": FillTool(host), "sam": self.sam, "pan": self.pan}
        self.active: CanvasTool = self._tools["brush"]
        self._grab: _Grab | None = None
        self.space_held = False
        self.hover_divider = False

    @property
    def tools(self) -> Mapping[str, CanvasTool]:
        return MappingProxyType(self._tools)

    @property
    def dragging(self) -> CanvasTool | None:
        """The tool holding a drag, if any."""
        return None if self._grab is None else self._grab.tool

    @property
    def painting(self) -> bool:
        """True while a brush or eraser stroke is under way."""
        return any(isinstance(tool, StrokeTool) and tool.painting
                   for tool in self._tools.values())

    def set_active(self, name: str) -> bool:
        """Make `name` (one of TOOLS) the active tool, ending any drag; True if it changed."""
        if name not in TOOLS:
            raise ValueError(f"Unknown canvas tool {name!r}; use one of {', '.join(TOOLS)}.")
        if name == self.active.name:
            return False
        self.cancel()
        self.active.deactivate()
        self.active = self._tools[name]
        self.active.activate()
        return True

    def set_space_held(self, held: bool) -> bool:
        """Space pressed (ignored during a drag) or released; True if that changed it."""
        if held and self._grab is not None:
            return False
        changed = held != self.space_held
        self.space_held = held
        return changed

    # ------------------------------------------------------------------ mouse

    def press(self, event: ToolEvent) -> Press:
        if self._grab is not None:  # another button during a drag
            return Press.HANDLED
        if event.button == Qt.MouseButton.MiddleButton or (event.left and self.space_held):
            tool = self.pan
        elif event.left and self.active is not self.pan and self.divider.hit(event.pos):
            tool = self.divider
        else:
            tool = self.active
        answer = tool.press(event)
        if answer is Press.GRAB:
            self._grab = _Grab(tool, event.button)
        return answer

    def move(self, event: ToolEvent) -> bool:
        """Give a move to the dragging tool (as from the button that started the drag), or
        note whether the pointer hovers the divider; True when the pointer shape may
        have to change."""
        if self._grab is not None:
            self._grab.tool.move(dataclasses.replace(event, button=self._grab.button))
            return False
        return self.set_hover(self.active is not self.pan and self.divider.hit(event.pos))

    def set_hover(self, on_divider: bool) -> bool:
        changed = on_divider != self.hover_divider
        self.hover_divider = on_divider
        return changed

    def release(self, event: ToolEvent) -> bool:
        """Hand the release of the drag's button to its tool; True when a drag ended."""
        grab = self._grab
        if grab is None or event.button != grab.button:
            return False
        self._grab = None
        grab.tool.release(event)
        return True

    def cancel(self) -> None:
        """End the drag under way without a release (its tool keeps what was done)."""
        grab, self._grab = self._grab, None
        if grab is not None:
            grab.tool.cancel()

    def forget_drag_of(self, tool: CanvasTool) -> None:
        """Drop `tool`'s drag without telling it (it ended the drag itself)."""
        if self._grab is not None and self._grab.tool is tool:
            self._grab = None

    # ------------------------------------------------------------------ pointer

    def cursor(self, photo_view: bool) -> Qt.CursorShape:
        dragging = self.dragging
        if dragging is not None and dragging.drag_cursor is not None:
            return dragging.drag_cursor
        if self.space_held:
            return self.pan.cursor(photo_view)
        if self.hover_divider:
            return self.divider.drag_cursor
        return self.active.cursor(photo_view)

    def wants_brush_cursor(self) -> bool:
        """Whether the brush outline belongs at the pointer (when it is over the image)."""
        dragging = self.dragging
        return (self.active.shows_brush_cursor and not self.space_held
                and not self.hover_divider and (dragging is None or dragging is self.active))
