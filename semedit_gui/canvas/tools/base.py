"""What every canvas tool shares: the event it is given, its answer to a press, and the
few things of the canvas it may use.

A tool is an object with `press`, `move`, `release` and `cancel`. The canvas turns each
mouse event into a `ToolEvent` and hands it to one tool: the active one, or the pan tool
(middle button, Space held) or the split-divider tool (a press on the divider). A press
answered with `Press.GRAB` sends that button's moves and its release to the same tool;
`cancel` ends such a drag without a release (focus lost, tool, view or document changed).

Coordinates: the canvas scene is in image pixels with pixel (row r, col c) covering
[c, c + 1) × [r, r + 1); core (brush, fill, Segment Anything) puts that pixel's centre at
x = c, y = r. `scene_to_pixel` converts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QPointF, QRectF, Qt

if TYPE_CHECKING:
    from core.segment.brush import Brush
    from semedit_gui.session import EditorSession

__all__ = [
    "PHOTO_VIEW_REFUSAL",
    "CanvasTool",
    "Press",
    "ToolEvent",
    "ToolHost",
    "scene_to_pixel",
]

PHOTO_VIEW_REFUSAL = ("The whole-photo view is for looking only; switch back to the "
                      "aligned face to edit chunks.")


def scene_to_pixel(x: float, y: float) -> tuple[float, float]:
    """A scene point in core's pixel-centre coordinates."""
    return x - 0.5, y - 0.5


class Press(enum.Enum):
    """A tool's answer to a mouse press."""

    IGNORED = "ignored"  # not this tool's button: the view passes the event on
    HANDLED = "handled"  # done with the press itself (a fill, a refusal, an exclude point)
    GRAB = "grab"  # a drag: this button's moves and release come to this tool


@dataclass(frozen=True)
class ToolEvent:
    """A mouse event as tools see it: the button (the one pressed or released; for a move,
    the one that started the drag), the viewport position and the scene point under it."""

    button: Qt.MouseButton
    pos: QPointF
    scene: QPointF

    @property
    def left(self) -> bool:
        return self.button == Qt.MouseButton.LeftButton


class ToolHost(Protocol):
    """The part of the canvas that tools use (CanvasView provides it)."""

    @property
    def session(self) -> EditorSession | None: ...

    @property
    def brush(self) -> Brush: ...

    @property
    def image_rect(self) -> QRectF:
        """The aligned frame in scene coordinates (empty when nothing is shown)."""

    @property
    def photo_view_active(self) -> bool: ...

    def say(self, sentence: str) -> None:
        """Tell the user why a press did nothing (the canvas's `message` signal)."""

    def pan_by(self, delta: QPointF) -> None: ...

    def set_split(self, fraction: float | None) -> None: ...

    def scene_to_view(self, point: QPointF) -> QPointF: ...


class CanvasTool:
    """The base of the tools: ignores every button and has nothing to end."""

    name = ""
    tip = ""  # what the tool does, for its toolbar button's tooltip and status hint
    shows_brush_cursor = False
    drag_cursor: Qt.CursorShape | None = None  # while it holds a drag; None: the usual one

    def __init__(self, host: ToolHost):
        self.host = host

    def cursor(self, photo_view: bool) -> Qt.CursorShape:
        """The pointer shown over the image while this tool is the active one."""
        return Qt.CursorShape.ArrowCursor if photo_view else Qt.CursorShape.CrossCursor

    def press(self, event: ToolEvent) -> Press:
        return Press.IGNORED

    def move(self, event: ToolEvent) -> None:
        """The pointer moved during this tool's drag."""

    def release(self, event: ToolEvent) -> None:
        """The button that started this tool's drag was released."""

    def cancel(self) -> None:
        """End a drag without a release; the tool keeps what was done so far."""

    def activate(self) -> None:
        """This tool became the active one."""

    def deactivate(self) -> None:
        """Another tool became the active one (any drag was cancelled before)."""

    def key_press(self, key: Qt.Key) -> bool:
        """A key the canvas does not use itself; True when this tool used it."""
        return False
