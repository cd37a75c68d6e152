"""Undo and redo, in the style of napari's labels layer.

An item is any object with `undo()`, `redo()`, `label` and `nbytes`. Items are pushed
*after* the change is made: pushing records, it does not apply. Mask edits store only the
bounding box of what changed (`MaskDiff`), so hundreds of brush strokes on 1024² masks cost
megabytes, not gigabytes. A memory bound drops the oldest steps beyond it.

Groups turn many pushes into one step: everything pushed between `begin_group` and
`end_group` (or inside `with history.group("Brush stroke"):`) becomes one `CompoundItem`.

Listeners are plain callables taking a `HistoryEvent`, so a Qt panel can observe the history
without `core` knowing about Qt.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from core.errors import InvalidInputError
from core.observable import Observable

DEFAULT_MAX_BYTES = 512 * 1024 * 1024

# (row0, col0, row1, col1), half-open like Python slices.
BBox = tuple[int, int, int, int]


@runtime_checkable
class HistoryItem(Protocol):
    label: str

    @property
    def nbytes(self) -> int: ...

    def undo(self) -> None: ...

    def redo(self) -> None: ...


# --------------------------------------------------------------------- items


class MaskDiff:
    """A change to a rectangle of a 2-D array: only the old and new patches are kept.

    `notify`, if given, is called after every undo and redo (for instance to redraw the
    chunk whose mask changed).
    """

    def __init__(
        self,
        mask_array: np.ndarray,
        bbox: BBox,
        old_patch: np.ndarray,
        new_patch: np.ndarray,
        label: str = "Paint",
        *,
        notify: Callable[[], None] | None = None,
    ):
        if not isinstance(mask_array, np.ndarray) or mask_array.ndim != 2:
            raise InvalidInputError("A mask change needs a 2-D array to act on.")
        self.target = mask_array
        self.bbox = _checked_bbox(bbox, mask_array.shape)
        shape = (self.bbox[2] - self.bbox[0], self.bbox[3] - self.bbox[1])
        # Own copies: a view would keep (and track) the whole mask it came from.
        self.old_patch = np.array(old_patch, dtype=mask_array.dtype, copy=True)
        self.new_patch = np.array(new_patch, dtype=mask_array.dtype, copy=True)
        if self.old_patch.shape != shape or self.new_patch.shape != shape:
            raise InvalidInputError(
                f"Mask patches must have the bounding box's shape {shape}, not "
                f"{self.old_patch.shape} and {self.new_patch.shape}."
            )
        self.label = label
        self.notify = notify

    @classmethod
    def from_change(
        cls,
        mask_before: np.ndarray,
        mask_after: np.ndarray,
        target_array: np.ndarray,
        label: str = "Paint",
        *,
        notify: Callable[[], None] | None = None,
    ) -> MaskDiff | None:
        """The diff between two versions of a mask, or None when nothing changed.

        `target_array` is the array undo and redo will write into (usually the live mask,
        which normally already equals `mask_after`).
        """
        if mask_before.shape != mask_after.shape or mask_before.shape != target_array.shape:
            raise InvalidInputError(
                f"Mask shapes differ: before {mask_before.shape}, after {mask_after.shape}, "
                f"target {target_array.shape}."
            )
        bbox = changed_bbox(mask_before, mask_after)
        if bbox is None:
            return None
        region = _slices(bbox)
        return cls(target_array, bbox, mask_before[region], mask_after[region], label,
                   notify=notify)

    @property
    def nbytes(self) -> int:
        return int(self.old_patch.nbytes + self.new_patch.nbytes)

    def undo(self) -> None:
        self.target[_slices(self.bbox)] = self.old_patch
        if self.notify is not None:
            self.notify()

    def redo(self) -> None:
        self.target[_slices(self.bbox)] = self.new_patch
        if self.notify is not None:
            self.notify()

    def __repr__(self) -> str:
        return f"MaskDiff({self.label!r}, bbox={self.bbox}, nbytes={self.nbytes})"


class ValueChange:
    """A value replaced through a setter: undo calls setter(old), redo calls setter(new).

    Arrays are copied so later in-place changes cannot alter the history. Consecutive
    changes with the same non-None `key` in one group collapse into one (a slider drag
    keeps only its first old and last new value).
    """

    def __init__(
        self,
        setter: Callable[[Any], None],
        old: Any,
        new: Any,
        label: str,
        *,
        key: object = None,
    ):
        self.setter = setter
        self.old = _frozen_copy(old)
        self.new = _frozen_copy(new)
        self.label = label
        self.key = key

    @property
    def nbytes(self) -> int:
        return _value_nbytes(self.old) + _value_nbytes(self.new)

    def undo(self) -> None:
        self.setter(_thawed_copy(self.old))

    def redo(self) -> None:
        self.setter(_thawed_copy(self.new))

    def merged_with(self, later: ValueChange) -> ValueChange | None:
        """One change doing self then `later`, or None when they do not combine."""
        if self.key is None or later.key != self.key:
            return None
        return ValueChange(self.setter, self.old, later.new, self.label, key=self.key)

    def __repr__(self) -> str:
        return f"ValueChange({self.label!r}, {self.old!r} -> {self.new!r})"


class CompoundItem:
    """Several items as one step: undo runs them backwards, redo forwards."""

    def __init__(self, items: Sequence[HistoryItem], label: str):
        self.items: list[HistoryItem] = list(items)
        self.label = label

    @property
    def nbytes(self) -> int:
        return sum(int(item.nbytes) for item in self.items)

    def undo(self) -> None:
        for item in reversed(self.items):
            item.undo()

    def redo(self) -> None:
        for item in self.items:
            item.redo()

    def __repr__(self) -> str:
        return f"CompoundItem({self.label!r}, {len(self.items)} items)"


# --------------------------------------------------------------------- history


@dataclass(frozen=True)
class HistoryEvent:
    """What happened: kind is "push", "undo", "redo", "drop" (oldest dropped) or "clear"."""

    kind: str
    item: HistoryItem | None = None


class History(Observable[HistoryEvent]):
    """A linear undo stack with a memory bound, groups and listeners."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self._items: list[HistoryItem] = []
        self._index = 0  # items[:index] are done, items[index:] can be redone
        self._max_bytes = _checked_max_bytes(max_bytes)
        self._group_items: list[HistoryItem] = []
        self._group_label = ""
        self._group_depth = 0
        self._applying = False

    # --- recording

    def push(self, item: HistoryItem) -> None:
        """Record a change that has already been made.

        Pushes while an undo or redo is running are ignored, so setters that record history
        themselves cannot corrupt it.
        """
        if self._applying:
            return
        if not isinstance(item, HistoryItem):
            raise InvalidInputError(
                f"{item!r} is not a history item (it needs undo, redo, label and nbytes)."
            )
        if self._group_depth:
            self._group_items.append(item)
            return
        self._record(item)

    def _record(self, item: HistoryItem) -> None:
        del self._items[self._index:]
        self._items.append(item)
        self._index = len(self._items)
        self._emit(HistoryEvent("push", item))
        self._enforce_bound()

    def begin_group(self, label: str) -> None:
        """Start collecting pushes into one step. Nested groups join the outermost one."""
        if self._group_depth == 0:
            self._group_items = []
            self._group_label = label
        self._group_depth += 1

    def end_group(self) -> None:
        """Close the group opened last; the outermost one records a single step."""
        if self._group_depth == 0:
            raise InvalidInputError("end_group() was called without a matching begin_group().")
        self._group_depth -= 1
        if self._group_depth:
            return
        items = _coalesce(self._group_items)
        self._group_items = []
        if items:
            self._record(CompoundItem(items, self._group_label))

    @contextlib.contextmanager
    def group(self, label: str) -> Iterator[History]:
        """`with history.group("Brush stroke"):` makes everything pushed inside one step.

        The group is closed even if the body raises: what was already changed stays
        recorded, so it can still be undone.
        """
        self.begin_group(label)
        try:
            yield self
        finally:
            self.end_group()

    @property
    def in_group(self) -> bool:
        return self._group_depth > 0

    # --- moving

    @property
    def can_undo(self) -> bool:
        return self._index > 0 and not self._group_depth

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._items) and not self._group_depth

    def undo(self) -> HistoryItem | None:
        """Undo the last step and return it, or None when there is nothing to undo."""
        self._refuse_inside_group("undo")
        if self._index == 0:
            return None
        item = self._items[self._index - 1]
        self._apply(item.undo)
        self._index -= 1
        self._emit(HistoryEvent("undo", item))
        return item

    def redo(self) -> HistoryItem | None:
        """Redo the next step and return it, or None when there is nothing to redo."""
        self._refuse_inside_group("redo")
        if self._index == len(self._items):
            return None
        item = self._items[self._index]
        self._apply(item.redo)
        self._index += 1
        self._emit(HistoryEvent("redo", item))
        return item

    def go_to(self, index: int) -> None:
        """Undo or redo until exactly `index` steps are done (a click in a History panel)."""
        if not 0 <= index <= len(self._items):
            raise InvalidInputError(
                f"History position {index} is outside 0–{len(self._items)}."
            )
        while self._index > index:
            self.undo()
        while self._index < index:
            self.redo()

    def _apply(self, action: Callable[[], None]) -> None:
        self._applying = True
        try:
            action()
        finally:
            self._applying = False

    def _refuse_inside_group(self, what: str) -> None:
        if self._group_depth:
            raise InvalidInputError(f"Cannot {what} while a change is still being recorded.")

    # --- panel and memory

    @property
    def labels(self) -> list[str]:
        """Labels of all steps, oldest first; the first `index` of them are done."""
        return [item.label for item in self._items]

    @property
    def index(self) -> int:
        """How many steps are done (the current position in `labels`)."""
        return self._index

    def __len__(self) -> int:
        return len(self._items)

    @property
    def last_done(self) -> HistoryItem | None:
        """The step undo would revert next (None at the start): an editor compares it with
        the one recorded at saving time to know whether there are unsaved changes."""
        return self._items[self._index - 1] if self._index else None

    @property
    def nbytes(self) -> int:
        return sum(int(item.nbytes) for item in self._items)

    @property
    def max_bytes(self) -> int:
        return self._max_bytes

    @max_bytes.setter
    def max_bytes(self, value: int) -> None:
        self._max_bytes = _checked_max_bytes(value)
        self._enforce_bound()

    def clear(self) -> None:
        """Forget every step (the document itself is not touched)."""
        self._items.clear()
        self._index = 0
        self._group_items = []
        self._group_depth = 0
        self._emit(HistoryEvent("clear"))

    def _enforce_bound(self) -> None:
        # The newest step is always kept: the change just made must stay undoable.
        total = self.nbytes
        while total > self._max_bytes and len(self._items) > 1:
            if self._index == 0:
                # Everything is undone; the oldest redo step goes first from the far end.
                dropped = self._items.pop()
            else:
                dropped = self._items.pop(0)
                self._index -= 1
            total -= int(dropped.nbytes)
            self._emit(HistoryEvent("drop", dropped))


# --------------------------------------------------------------------- helpers


def changed_bbox(before: np.ndarray, after: np.ndarray) -> BBox | None:
    """Tight half-open box (row0, col0, row1, col1) around differing pixels, or None."""
    changed = before != after
    if changed.dtype != bool:  # comparing object arrays, just in case
        changed = changed.astype(bool)
    if before.dtype.kind == "f":
        # NaN != NaN, but a NaN that stayed NaN is no change.
        changed &= ~(np.isnan(before) & np.isnan(after))
    rows = np.flatnonzero(changed.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(changed[rows[0]:rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _slices(bbox: BBox) -> tuple[slice, slice]:
    return slice(bbox[0], bbox[2]), slice(bbox[1], bbox[3])


def _checked_bbox(bbox: Sequence[int], shape: tuple[int, ...]) -> BBox:
    if len(bbox) != 4:
        raise InvalidInputError(f"A bounding box has four numbers, not {bbox!r}.")
    r0, c0, r1, c1 = (int(v) for v in bbox)
    if not (0 <= r0 < r1 <= shape[0] and 0 <= c0 < c1 <= shape[1]):
        raise InvalidInputError(
            f"Bounding box {tuple(bbox)} is empty or outside the {shape[0]}×{shape[1]} mask."
        )
    return r0, c0, r1, c1


def _checked_max_bytes(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInputError(f"The history memory bound must be bytes ≥ 0, not {value!r}.")
    return value


def _frozen_copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        copy = value.copy()
        copy.flags.writeable = False
        return copy
    return value


def _thawed_copy(value: Any) -> Any:
    # The setter gets its own writable array, so the stored one is never aliased.
    return value.copy() if isinstance(value, np.ndarray) else value


def _value_nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, bytes | bytearray | str):
        return len(value)
    return 64  # a rough size for small Python objects


def _coalesce(items: list[HistoryItem]) -> list[HistoryItem]:
    """Merge consecutive ValueChanges with one key (a slider drag becomes one change)."""
    merged: list[HistoryItem] = []
    for item in items:
        previous = merged[-1] if merged else None
        if isinstance(previous, ValueChange) and isinstance(item, ValueChange):
            combined = previous.merged_with(item)
            if combined is not None:
                merged[-1] = combined
                continue
        merged.append(item)
    return merged
