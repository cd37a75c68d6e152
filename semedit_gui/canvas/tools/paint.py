"""The tools that change the selected chunk's mask: brush, eraser (one `StrokeTool` each)
and fill, with the rules they share (which chunk may be painted, brush size steps)."""

from __future__ import annotations

import dataclasses
import math

from core.errors import SemeditError
from core.project.document import Chunk
from core.segment.brush import MAX_BRUSH_SIZE, Brush
from core.segment.bucket import DEFAULT_TOLERANCE
from core.segment.chunk_set import PaintStroke
from semedit_gui.canvas.tools.base import (
    PHOTO_VIEW_REFUSAL,
    CanvasTool,
    Press,
    ToolEvent,
    ToolHost,
    scene_to_pixel,
)

__all__ = ["FillTool", "StrokeTool", "paint_refusal", "resized_brush"]

_BRUSH_STEP = 1.1  # `[` / `]` change the size by 10 %, at least one pixel

_VERBS = {"brush": "paint on", "eraser": "erase", "fill": "fill"}


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
    """Why `tool` cannot change the selected chunk now, as a sentence; None when it can
    (with no chunks at all the brush and fill make one, as Krita and GIMP make a layer).

    `chunks` is None when no document is open.
    """
    verb = _VERBS.get(tool, "change")
    if chunks is None:
        return "Open a photo first: there is nothing to paint on yet."
    if not chunks:
        if tool == "eraser":
            return ("There is nothing to erase yet: paint with the Brush or click with Fill "
                    "first, and that makes the first chunk.")
        return None
    if selected is None:
        return f"Select a chunk in the chunk list to {verb} it."
    if selected.locked:
        return f"Chunk '{selected.name}' is locked; unlock it to {verb} it."
    if not selected.visible:
        return f"Chunk '{selected.name}' is hidden; show it to {verb} it."
    return None


_NEW_CHUNK = object()  # `_paint_target`'s answer when the document has no chunk yet


def _paint_target(tool: str, host: ToolHost) -> Chunk | object | None:
    """The chunk `tool` may change now, `_NEW_CHUNK` when the document has none yet (the
    tool makes one), or None after telling the user why not."""
    if host.photo_view_active:
        host.say(PHOTO_VIEW_REFUSAL)
        return None
    session = host.session
    reason = paint_refusal(tool, None if session is None else session.doc.chunks,
                           None if session is None else session.selected)
    if reason is not None:
        host.say(reason)
        return None
    return session.selected if session.doc.chunks else _NEW_CHUNK


class StrokeTool(CanvasTool):
    """Brush (`erase=False`) or eraser: a left-button drag paints the selected chunk along
    the pointer's path, recorded as one undo step when the button is released."""

    shows_brush_cursor = True

    def __init__(self, host: ToolHost, erase: bool):
        super().__init__(host)
        self.erase = erase
        self.name = "eraser" if erase else "brush"
        self.tip = ("Eraser (E): drag to remove paint from the selected chunk." if erase else
                    "Brush (P): drag to paint the selected chunk ([ and ] change the size). "
                    "With no chunk yet, the first stroke makes Chunk 1.")
        self._stroke: PaintStroke | None = None

    @property
    def painting(self) -> bool:
        """True while a stroke is under way (undo should wait for it)."""
        return self._stroke is not None

    def press(self, event: ToolEvent) -> Press:
        if not event.left:
            return Press.IGNORED
        chunk = _paint_target(self.name, self.host)
        if chunk is None:
            return Press.HANDLED
        brush = dataclasses.replace(self.host.brush, erase=self.erase)
        session = self.host.session
        try:
            if chunk is _NEW_CHUNK:
                self._stroke = session.chunk_set.begin_stroke_in_new_chunk(brush)
                session.select(self._stroke.chunk)
            else:
                self._stroke = session.chunk_set.begin_stroke(chunk, brush)
        except SemeditError as exc:
            self.host.say(str(exc))
            return Press.HANDLED
        self._paint_to(event)
        return Press.GRAB if self._stroke is not None else Press.HANDLED

    def move(self, event: ToolEvent) -> None:
        self._paint_to(event)

    def release(self, event: ToolEvent) -> None:
        self._end()

    def cancel(self) -> None:
        self._end()  # what was painted stays, as one step

    def _paint_to(self, event: ToolEvent) -> None:
        if self._stroke is None:
            return
        try:
            self._stroke.add_point(*scene_to_pixel(event.scene.x(), event.scene.y()))
        except SemeditError as exc:
            self.host.say(str(exc))
            self._end()

    def _end(self) -> None:
        stroke, self._stroke = self._stroke, None
        if stroke is not None:
            try:
                stroke.end()  # one undo step for the whole stroke
            except SemeditError as exc:
                self.host.say(str(exc))


class FillTool(CanvasTool):
    """A left click adds to the selected chunk, as one undo step, the region of similar
    photo colour around the clicked pixel (within `tolerance`, 0–255), or, inside an
    outline the chunk itself encloses, the whole enclosed area (`core.segment.bucket`)."""

    name = "fill"
    tip = ("Fill (G): click to add the region of similar colour around the pointer to the "
           "chunk (Fill tolerance in the brush bar sets how similar); inside an outline you "
           "painted, fills the enclosed area. With no chunk yet, makes Chunk 1.")

    def __init__(self, host: ToolHost):
        super().__init__(host)
        self.tolerance = DEFAULT_TOLERANCE

    def press(self, event: ToolEvent) -> Press:
        if not event.left:
            return Press.IGNORED
        chunk = _paint_target(self.name, self.host)
        if chunk is None or not self.host.image_rect.contains(event.scene):
            return Press.HANDLED
        session = self.host.session
        x, y = scene_to_pixel(event.scene.x(), event.scene.y())
        try:
            if chunk is _NEW_CHUNK:
                chunk, result = session.chunk_set.fill_new_chunk(x, y, tolerance=self.tolerance)
                session.select(chunk)
            else:
                result = session.chunk_set.fill(chunk, x, y, tolerance=self.tolerance)
        except SemeditError as exc:
            self.host.say(str(exc))
            return Press.HANDLED
        if result.pixels == 0:
            self.host.say(f"Fill changed nothing: that area is already in '{chunk.name}'.")
        return Press.HANDLED
