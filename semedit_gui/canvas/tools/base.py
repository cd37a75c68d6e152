"""What the canvas tools need besides Qt: names, brush steps, refusals, the SAM prompt.

Coordinates: the canvas scene is in image pixels with pixel (row r, col c) covering
[c, c + 1) × [r, r + 1); core (brush, fill, Segment Anything) puts that pixel's centre at
x = c, y = r. `scene_to_pixel` converts.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from core.project.document import Chunk
from core.segment.brush import MAX_BRUSH_SIZE, Brush

__all__ = [
    "PAINT_TOOLS",
    "TOOLS",
    "SamPrompt",
    "paint_refusal",
    "resized_brush",
    "scene_to_pixel",
]

TOOLS: tuple[str, ...] = ("brush", "eraser", "fill", "sam", "pan")
PAINT_TOOLS: frozenset[str] = frozenset({"brush", "eraser", "fill"})

_BRUSH_STEP = 1.1  # `[` / `]` change the size by 10 %, at least one pixel

_VERBS = {"brush": "paint on", "eraser": "erase", "fill": "fill"}


def scene_to_pixel(x: float, y: float) -> tuple[float, float]:
    """A scene point in core's pixel-centre coordinates."""
    return x - 0.5, y - 0.5


def resized_brush(brush: Brush, grow: bool) -> Brush:
    """The next size up (`grow`) or down: ×1.1 or ÷1.1 but by at least one pixel, kept
    within 1…MAX_BRUSH_SIZE and rounded to whole pixels (sizes artists read back)."""
    size = brush.size
    if grow:
        new = max(size * _BRUSH_STEP, size + 1.0)
        new = min(float(math.floor(new + 0.5)), MAX_BRUSH_SIZE)
    else:
        new = min(size / _BRUSH_STEP, size - 1.0)
        new = max(float(math.floor(new + 0.5)), 1.0)
    return dataclasses.replace(brush, size=new)


def paint_refusal(tool: str, chunks: list[Chunk] | None, selected: Chunk | None) -> str | None:
    """Why `tool` cannot change the selected chunk now, as a sentence; None when it can.

    `chunks` is None when no document is open.
    """
    verb = _VERBS.get(tool, "change")
    if chunks is None:
        return "Open a photo first: there is nothing to paint on yet."
    if not chunks:
        return "Add a chunk first: painting needs a chunk to paint on."
    if selected is None:
        return f"Select a chunk in the chunk list to {verb} it."
    if selected.locked:
        return f"Chunk '{selected.name}' is locked; unlock it to {verb} it."
    if not selected.visible:
        return f"Chunk '{selected.name}' is hidden; show it to {verb} it."
    return None


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
