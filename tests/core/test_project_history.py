"""Undo/redo: bounding-box mask diffs, value changes, groups, the memory bound, listeners."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.project import (
    CompoundItem,
    History,
    HistoryEvent,
    MaskDiff,
    ValueChange,
    changed_bbox,
)


def _paint(mask: np.ndarray, top: int, left: int, size: int, value: float) -> MaskDiff:
    """Paint a square the way a brush would and return its diff."""
    before = mask[top:top + size, left:left + size].copy()
    mask[top:top + size, left:left + size] = value
    bbox = (top, left, top + size, left + size)
    return MaskDiff(mask, bbox, before, mask[top:top + size, left:left + size], "Brush")


class Box:
    """A tiny model object with a setter, like a chunk's edit strength."""

    def __init__(self, value):
        self.value = value

    def set(self, value):
        self.value = value


# --------------------------------------------------------------------- MaskDiff


def test_two_hundred_brush_strokes_on_1024_masks_stay_small_and_undo_exactly():
    rng = np.random.default_rng(0)
    masks = [np.zeros((1024, 1024), dtype=np.float32) for _ in range(3)]
    originals = [m.copy() for m in masks]
    history = History()
    for i in range(200):
        mask = masks[i % 3]
        top, left = (int(v) for v in rng.integers(0, 1024 - 64, size=2))
        history.push(_paint(mask, top, left, 64, float(rng.random())))
    finals = [m.copy() for m in masks]

    assert len(history) == 200
    assert history.nbytes == 200 * 2 * 64 * 64 * 4  # ~6.5 MB, far under 100 MB
    assert history.nbytes < 100 * 1024 * 1024
    full_mask_bytes = masks[0].nbytes
    for item in history._items:
        assert item.nbytes < full_mask_bytes / 100
        for patch in (item.old_patch, item.new_patch):
            assert patch.shape == (64, 64)
            assert patch.base is None or patch.base.nbytes == patch.nbytes  # owns its data
            assert not any(np.shares_memory(patch, m) for m in masks)

    while history.can_undo:
        history.undo()
    assert all(np.array_equal(m, o) for m, o in zip(masks, originals, strict=True))
    while history.can_redo:
        history.redo()
    assert all(np.array_equal(m, f) for m, f in zip(masks, finals, strict=True))


def test_from_change_finds_the_tight_bounding_box():
    before = np.zeros((100, 80), dtype=np.float32)
    after = before.copy()
    after[10, 20] = 0.5
    after[30, 5] = 1.0
    live = after.copy()
    diff = MaskDiff.from_change(before, after, live, "Erase")
    assert diff is not None and diff.label == "Erase"
    assert diff.bbox == (10, 5, 31, 21)
    assert diff.old_patch.shape == (21, 16)
    diff.undo()
    assert np.array_equal(live, before)
    diff.redo()
    assert np.array_equal(live, after)


def test_from_change_returns_none_when_nothing_changed():
    mask = np.random.default_rng(1).random((32, 32)).astype(np.float32)
    assert MaskDiff.from_change(mask, mask.copy(), mask, "Paint") is None
    nan = np.full((4, 4), np.nan, dtype=np.float32)
    assert changed_bbox(nan, nan.copy()) is None


def test_mask_diff_refuses_bad_boxes_and_patches():
    mask = np.zeros((8, 8), dtype=np.float32)
    patch = np.zeros((2, 2), dtype=np.float32)
    with pytest.raises(InvalidInputError):
        MaskDiff(mask, (0, 0, 9, 2), patch, patch, "x")
    with pytest.raises(InvalidInputError):
        MaskDiff(mask, (2, 2, 2, 4), patch, patch, "x")
    with pytest.raises(InvalidInputError, match="shape"):
        MaskDiff(mask, (0, 0, 3, 3), patch, patch, "x")
    with pytest.raises(InvalidInputError):
        MaskDiff.from_change(mask, np.zeros((8, 9)), mask, "x")


def test_mask_diff_notifies_after_undo_and_redo():
    mask = np.zeros((8, 8), dtype=np.float32)
    after = mask.copy()
    after[1, 1] = 1
    calls = []
    diff = MaskDiff.from_change(mask, after, mask, "Paint", notify=lambda: calls.append(1))
    diff.redo()
    diff.undo()
    assert calls == [1, 1]


# --------------------------------------------------------------------- ValueChange


def test_value_change_undo_redo_and_array_copies():
    box = Box(np.zeros(4, dtype=np.float32))
    old = box.value
    new = np.ones(4, dtype=np.float32)
    box.set(new.copy())
    history = History()
    history.push(ValueChange(box.set, old, box.value, "Replace code"))
    new[:] = 7  # later changes to the caller's arrays do not reach the history
    box.value[:] = 5  # nor do in-place changes to the live value
    history.undo()
    assert np.array_equal(box.value, np.zeros(4))
    history.redo()
    assert np.array_equal(box.value, np.ones(4))
    box.value[:] = 3  # the setter got a copy: the stored value is untouched
    history.undo()
    history.redo()
    assert np.array_equal(box.value, np.ones(4))


def test_redo_is_cleared_by_a_new_push():
    box = Box(0)
    history = History()
    for value in (1, 2, 3):
        old, box.value = box.value, value
        history.push(ValueChange(box.set, old, value, f"Set {value}"))
    history.undo()
    history.undo()
    assert box.value == 1 and history.can_redo
    history.push(ValueChange(box.set, 1, 10, "Set 10"))
    assert not history.can_redo
    assert history.labels == ["Set 1", "Set 10"] and history.index == 2
    assert history.redo() is None


# --------------------------------------------------------------------- groups


def test_group_makes_one_step_from_many_pushes():
    mask = np.zeros((64, 64), dtype=np.float32)
    history = History()
    with history.group("Brush stroke"):
        for i in range(20):
            history.push(_paint(mask, i, i, 8, 1.0))
    assert len(history) == 1 and history.labels == ["Brush stroke"]
    assert isinstance(history._items[0], CompoundItem)
    history.undo()
    assert not mask.any()
    history.redo()
    assert mask[0:27, 0:27].any() and mask[19:27, 19:27].all()


def test_slider_drag_collapses_into_one_value_change():
    box = Box(0.0)
    history = History()
    history.begin_group("Strength")
    for value in np.linspace(0.1, 2.0, 50):
        old, box.value = box.value, float(value)
        history.push(ValueChange(box.set, old, box.value, "Strength", key=("edit", 0)))
    history.end_group()
    assert len(history) == 1
    (only,) = history._items[0].items
    assert only.old == 0.0 and only.new == 2.0
    history.undo()
    assert box.value == 0.0
    history.redo()
    assert box.value == 2.0


def test_nested_and_empty_groups():
    box = Box(0)
    history = History()
    with history.group("Outer"):
        with history.group("Inner"):
            history.push(ValueChange(box.set, 0, 1, "a"))
        history.push(ValueChange(box.set, 1, 2, "b"))
        assert history.in_group and not history.can_undo
        with pytest.raises(InvalidInputError):
            history.undo()
    assert history.labels == ["Outer"]
    with history.group("Nothing"):
        pass
    assert len(history) == 1
    with pytest.raises(InvalidInputError):
        history.end_group()


def test_group_is_recorded_even_if_the_body_raises():
    box = Box(0)
    history = History()
    with pytest.raises(RuntimeError), history.group("Stroke"):
        history.push(ValueChange(box.set, 0, 1, "a"))
        raise RuntimeError("stylus unplugged")
    assert history.labels == ["Stroke"] and not history.in_group


# --------------------------------------------------------------------- memory


def test_memory_bound_drops_the_oldest_steps():
    mask = np.zeros((256, 256), dtype=np.float32)
    step_bytes = 2 * 32 * 32 * 4
    history = History(max_bytes=5 * step_bytes)
    events: list[HistoryEvent] = []
    history.add_listener(events.append)
    for i in range(8):
        history.push(_paint(mask, i * 32, 0, 32, 1.0))
        history._items[-1].label = f"Stroke {i}"
    assert history.labels == [f"Stroke {i}" for i in range(3, 8)]
    assert history.nbytes <= history.max_bytes
    assert [e.item.label for e in events if e.kind == "drop"] == ["Stroke 0", "Stroke 1",
                                                                  "Stroke 2"]
    history.max_bytes = 2 * step_bytes
    assert history.labels == ["Stroke 6", "Stroke 7"]


def test_memory_bound_keeps_the_newest_step_even_if_it_is_too_big():
    history = History(max_bytes=10)
    box = Box(np.zeros(100))
    history.push(ValueChange(box.set, np.zeros(100), np.ones(100), "Big"))
    assert len(history) == 1 and history.can_undo


# --------------------------------------------------------------------- panel and listeners


def test_labels_index_go_to_and_clear():
    box = Box(0)
    history = History()
    for value in (1, 2, 3, 4):
        history.push(ValueChange(box.set, value - 1, value, f"Set {value}"))
    box.value = 4
    history.go_to(1)
    assert box.value == 1 and history.index == 1
    history.go_to(4)
    assert box.value == 4
    history.go_to(0)
    assert box.value == 0 and not history.can_undo and history.can_redo
    with pytest.raises(InvalidInputError):
        history.go_to(5)
    history.clear()
    assert history.labels == [] and history.index == 0 and not history.can_redo


def test_listeners_see_every_change_and_can_be_removed():
    box = Box(0)
    history = History()
    seen: list[tuple[str, str | None]] = []

    def listener(event: HistoryEvent) -> None:
        seen.append((event.kind, event.item.label if event.item else None))

    history.add_listener(listener)
    history.push(ValueChange(box.set, 0, 1, "Set 1"))
    history.undo()
    history.redo()
    history.clear()
    assert seen == [("push", "Set 1"), ("undo", "Set 1"), ("redo", "Set 1"), ("clear", None)]
    history.remove_listener(listener)
    history.push(ValueChange(box.set, 1, 2, "Set 2"))
    assert len(seen) == 4


def test_pushes_during_undo_are_ignored():
    history = History()
    box = Box(0)

    def recording_setter(value):
        # A model setter that records its own history would otherwise corrupt the stack.
        history.push(ValueChange(box.set, box.value, value, "echo"))
        box.value = value

    history.push(ValueChange(recording_setter, 0, 1, "Set 1"))
    history.undo()
    history.redo()
    assert history.labels == ["Set 1"] and box.value == 1


def test_push_refuses_objects_that_are_not_items():
    with pytest.raises(InvalidInputError):
        History().push(object())
    with pytest.raises(InvalidInputError):
        History(max_bytes=-1)
