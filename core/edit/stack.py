"""Per-chunk edit stacks as an artist changes them: every change is one undo step.

`EditStacks` wraps the `edits` lists of a `Document`'s chunks and records each change in
`doc.history`; views observe it through listeners (`EditStackEvent`), and undo and redo
emit the same events as the original change, as `ChunkSet` does for masks.

A slider drag is one undo step: call `set_strength` as often as the slider moves between
`begin_drag(label)` and `end_drag()` (or inside `with stacks.drag(label):` or any
`doc.history.group(...)`); consecutive strength changes of one edit then collapse into a
single change from the value before the drag to the last one.

Order within a stack: the edits we have are linear moves of the chunk's code, so they add
up and their order does not change the image (up to float rounding). `move` exists so the
artist can arrange the list; it is recorded like any other change.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import InvalidInputError
from core.observable import Observable
from core.project.document import Chunk, Document, Edit
from core.project.history import ValueChange

ChunkRef = Chunk | str | int


@dataclass(frozen=True)
class EditStackEvent:
    """What changed: kind "strength" or "enabled" (edit `index` of `chunk`), or "list"
    (edits of `chunk` added, removed, reordered or cleared; `index` is None)."""

    kind: str
    chunk: Chunk
    index: int | None = None


class EditStacks(Observable[EditStackEvent]):
    """Undoable, observable editing of every chunk's edit stack in `doc`.

    `directions`, when given, says which direction names exist (a container of names or a
    mapping, or a look-up such as `DirectionLibrary.get` that raises KeyError or
    InvalidInputError for unknown names): adding an edit with another name is refused at
    once instead of when the preview renders.
    """

    def __init__(self, doc: Document, *,
                 directions: Container[str] | Callable[[str], object] | None = None):
        self.doc = doc
        self.directions = directions

    # ----------------------------------------------------------------- reading

    def get(self, ref: ChunkRef) -> Chunk:
        """A chunk given itself, its name or its index (as `Document.chunk`)."""
        return self.doc.chunk(ref)

    def edits(self, ref: ChunkRef) -> list[Edit]:
        """The chunk's edits, bottom of the list first (a copy of the list, same Edit objects)."""
        return list(self.get(ref).edits)

    def edit(self, ref: ChunkRef, index: int) -> Edit:
        chunk = self.get(ref)
        return chunk.edits[self._index(chunk, index)]

    def is_edited(self, ref: ChunkRef) -> bool:
        """True when some enabled edit of the chunk has a non-zero strength."""
        return any(e.enabled and e.strength != 0 for e in self.get(ref).edits)

    # ----------------------------------------------------------------- changes

    def add(self, ref: ChunkRef, direction_name: str, strength: float = 0.0) -> int:
        """Append an edit along `direction_name`; returns its index in the chunk's stack."""
        chunk = self.get(ref)
        if not isinstance(direction_name, str) or not direction_name.strip():
            raise InvalidInputError("An edit needs a direction name.")
        if self.directions is not None and not self._known(direction_name):
            raise InvalidInputError(f"There is no direction called {direction_name!r} in the "
                                    "direction library.")
        edit = Edit(direction_name, _strength(strength, direction_name))
        before = tuple(chunk.edits)
        chunk.edits.append(edit)
        self._record_list(chunk, before, f"Add {direction_name} to {chunk.name}")
        return len(chunk.edits) - 1

    def set_strength(self, ref: ChunkRef, index: int, value: float) -> None:
        """Move one edit's slider; consecutive calls inside a drag or group are one step."""
        chunk = self.get(ref)
        edit = chunk.edits[self._index(chunk, index)]
        new = _strength(value, edit.direction)
        old = edit.strength
        if new == old:
            return
        self._apply_strength(chunk, edit, new)
        self.doc.history.push(ValueChange(
            lambda v: self._apply_strength(chunk, edit, v), old, new,
            f"{edit.direction} on {chunk.name}", key=("edit strength", id(chunk), id(edit))))

    def set_enabled(self, ref: ChunkRef, index: int, enabled: bool) -> None:
        """Switch one edit on or off without losing its strength."""
        chunk = self.get(ref)
        edit = chunk.edits[self._index(chunk, index)]
        if not isinstance(enabled, bool | np.bool_):
            raise InvalidInputError(f"'enabled' must be true or false, not {enabled!r}.")
        enabled = bool(enabled)
        if edit.enabled == enabled:
            return
        self._apply_enabled(chunk, edit, enabled)
        label = f"{'Enable' if enabled else 'Disable'} {edit.direction} on {chunk.name}"
        self.doc.history.push(ValueChange(
            lambda v: self._apply_enabled(chunk, edit, v), not enabled, enabled, label))

    def remove(self, ref: ChunkRef, index: int) -> Edit:
        chunk = self.get(ref)
        i = self._index(chunk, index)
        before = tuple(chunk.edits)
        edit = chunk.edits.pop(i)
        self._record_list(chunk, before, f"Remove {edit.direction} from {chunk.name}")
        return edit

    def move(self, ref: ChunkRef, index: int, new_index: int) -> None:
        """Reorder the stack (for the artist's overview: linear edits commute)."""
        chunk = self.get(ref)
        i, j = self._index(chunk, index), self._index(chunk, new_index)
        if i == j:
            return
        before = tuple(chunk.edits)
        chunk.edits.insert(j, chunk.edits.pop(i))
        self._record_list(chunk, before, f"Reorder edits of {chunk.name}")

    def clear(self, ref: ChunkRef) -> None:
        """Remove every edit of the chunk (one undo step)."""
        chunk = self.get(ref)
        if not chunk.edits:
            return
        before = tuple(chunk.edits)
        chunk.edits.clear()
        self._record_list(chunk, before, f"Clear edits of {chunk.name}")

    # ----------------------------------------------------------------- drags

    def begin_drag(self, label: str = "Adjust edit") -> None:
        """Start a slider drag: strength changes until `end_drag` become one undo step."""
        self.doc.history.begin_group(label)

    def end_drag(self) -> None:
        self.doc.history.end_group()

    @contextlib.contextmanager
    def drag(self, label: str = "Adjust edit") -> Iterator[EditStacks]:
        self.begin_drag(label)
        try:
            yield self
        finally:
            self.end_drag()

    # ----------------------------------------------------------------- internals

    def _known(self, name: str) -> bool:
        if callable(self.directions):
            try:
                return self.directions(name) is not None
            except (KeyError, InvalidInputError):
                return False
        return name in self.directions  # type: ignore[operator]

    def _index(self, chunk: Chunk, index: Any) -> int:
        count = len(chunk.edits)
        if isinstance(index, bool) or not isinstance(index, int | np.integer) \
                or not 0 <= int(index) < count:
            has = "has no edits" if not count else f"has edits 0–{count - 1}"
            raise InvalidInputError(f"Chunk {chunk.name!r} has no edit number {index!r}; it {has}.")
        return int(index)

    def _apply_strength(self, chunk: Chunk, edit: Edit, value: float) -> None:
        edit.strength = value
        self._emit(EditStackEvent("strength", chunk, self._position(chunk, edit)))

    def _apply_enabled(self, chunk: Chunk, edit: Edit, value: bool) -> None:
        edit.enabled = value
        self._emit(EditStackEvent("enabled", chunk, self._position(chunk, edit)))

    @staticmethod
    def _position(chunk: Chunk, edit: Edit) -> int | None:
        return next((i for i, e in enumerate(chunk.edits) if e is edit), None)

    def _record_list(self, chunk: Chunk, before: tuple[Edit, ...], label: str) -> None:
        # The same Edit objects come back on undo, so later strength changes still find them.
        def setter(value: tuple[Edit, ...]) -> None:
            chunk.edits[:] = list(value)
            self._emit(EditStackEvent("list", chunk))

        self.doc.history.push(ValueChange(setter, before, tuple(chunk.edits), label))
        self._emit(EditStackEvent("list", chunk))


def _strength(value: Any, direction: str) -> float:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_)
    if not ok or not math.isfinite(float(value)):
        raise InvalidInputError(f"The strength of {direction!r} must be a finite number, "
                                f"not {value!r}.")
    return float(value)
