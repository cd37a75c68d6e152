"""EditStacks: undoable, observable per-chunk edit lists; a slider drag is one undo step."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.edit.stack import EditStackEvent, EditStacks
from core.errors import InvalidInputError
from core.project import Document

R = 8


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def doc() -> Document:
    doc = Document(aligned=np.zeros((R, R, 3), np.uint8))
    doc.add_chunk(np.ones((R, R), np.float32), name="hair")
    doc.add_chunk(np.ones((R, R), np.float32), name="mouth")
    return doc


def _state(doc: Document, name: str) -> list[tuple[str, float, bool]]:
    return [(e.direction, e.strength, e.enabled) for e in doc.chunk(name).edits]


def test_add_returns_the_index_and_is_one_undo_step(doc):
    stacks = EditStacks(doc)
    assert stacks.add("hair", "smile") == 0
    assert stacks.add(1, "age", 0.5) == 0
    assert stacks.add("hair", "age", -1) == 1
    assert _state(doc, "hair") == [("smile", 0.0, True), ("age", -1.0, True)]
    assert len(doc.history) == 3
    edit = doc.chunk("hair").edits[1]
    doc.history.undo()
    assert _state(doc, "hair") == [("smile", 0.0, True)]
    doc.history.redo()
    assert doc.chunk("hair").edits[1] is edit  # the same object comes back
    with pytest.raises(InvalidInputError, match="no chunk called 'nose'"):
        stacks.add("nose", "smile")


def test_a_slider_drag_is_one_undo_step(doc):
    stacks = EditStacks(doc)
    stacks.add("hair", "smile", 0.25)
    steps = len(doc.history)
    stacks.begin_drag("Smile")
    for value in np.linspace(0.3, 2.0, 25):
        stacks.set_strength("hair", 0, float(value))
    stacks.end_drag()
    assert len(doc.history) == steps + 1 and doc.history.labels[-1] == "Smile"
    assert doc.chunk("hair").edits[0].strength == 2.0
    doc.history.undo()
    assert doc.chunk("hair").edits[0].strength == 0.25
    doc.history.redo()
    assert doc.chunk("hair").edits[0].strength == 2.0
    # Inside any history group too; outside one every call is its own step.
    with doc.history.group("Drag"):
        stacks.set_strength("hair", 0, 1.0)
        stacks.set_strength("hair", 0, 1.5)
    assert len(doc.history) == steps + 2
    stacks.set_strength("hair", 0, 0.5)
    stacks.set_strength("hair", 0, 0.5)  # no change, nothing recorded
    stacks.set_strength("hair", 0, 0.75)
    assert len(doc.history) == steps + 4
    doc.history.undo()
    doc.history.undo()
    doc.history.undo()
    assert doc.chunk("hair").edits[0].strength == 2.0


def test_enable_remove_move_and_clear_undo(doc):
    stacks = EditStacks(doc)
    for name, value in (("smile", 1.0), ("age", 2.0), ("pose", 3.0)):
        stacks.add("mouth", name, value)
    original = _state(doc, "mouth")
    stacks.set_enabled("mouth", 1, False)
    assert _state(doc, "mouth")[1] == ("age", 2.0, False)
    removed = stacks.remove("mouth", 0)
    assert removed.direction == "smile"
    stacks.move("mouth", 0, 1)
    assert [e[0] for e in _state(doc, "mouth")] == ["pose", "age"]
    stacks.clear("mouth")
    assert _state(doc, "mouth") == []
    stacks.clear("mouth")  # already empty: no step
    for _ in range(4):
        doc.history.undo()
    assert _state(doc, "mouth") == original
    for _ in range(4):
        doc.history.redo()
    assert _state(doc, "mouth") == []


def test_listeners_hear_changes_and_their_undo(doc):
    stacks = EditStacks(doc)
    events: list[EditStackEvent] = []
    stacks.add_listener(events.append)
    stacks.add("hair", "smile")
    stacks.set_strength("hair", 0, 1.0)
    stacks.set_enabled("hair", 0, False)
    doc.history.undo()
    doc.history.undo()
    hair = doc.chunk("hair")
    assert [(e.kind, e.chunk, e.index) for e in events] == [
        ("list", hair, None), ("strength", hair, 0), ("enabled", hair, 0),
        ("enabled", hair, 0), ("strength", hair, 0)]
    stacks.remove_listener(events.append)
    stacks.add("hair", "age")
    assert len(events) == 5


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "1", True, None])
def test_non_finite_or_non_numeric_strengths_are_refused(doc, value):
    stacks = EditStacks(doc)
    stacks.add("hair", "smile")
    with pytest.raises(InvalidInputError, match="finite number"):
        stacks.set_strength("hair", 0, value)
    with pytest.raises(InvalidInputError, match="finite number"):
        stacks.add("hair", "smile", value)
    assert doc.chunk("hair").edits[0].strength == 0.0 and len(doc.history) == 1


def test_bad_indices_names_and_unknown_directions(doc):
    stacks = EditStacks(doc, directions={"smile": object()})
    stacks.add("hair", "smile")
    with pytest.raises(InvalidInputError, match=r"'hair' has no edit number 3"):
        stacks.set_strength("hair", 3, 1.0)
    with pytest.raises(InvalidInputError, match=r"'mouth' has no edit number 0; it has no edits"):
        stacks.remove("mouth", 0)
    with pytest.raises(InvalidInputError, match="no direction called 'frown'"):
        stacks.add("hair", "frown")
    with pytest.raises(InvalidInputError, match="direction name"):
        stacks.add("hair", " ")
    with pytest.raises(InvalidInputError, match="true or false"):
        stacks.set_enabled("hair", 0, 1)
    def lookup(name):
        if name != "smile":
            raise InvalidInputError(f"There is no direction named {name!r}.")
        return object()

    assert EditStacks(doc, directions=lookup).add("mouth", "smile") == 0
    with pytest.raises(InvalidInputError, match="no direction called 'frown'"):
        EditStacks(doc, directions=lookup).add("mouth", "frown")
    assert stacks.is_edited("hair") is False
    stacks.set_strength(0, 0, 0.5)
    assert stacks.is_edited(doc.chunk("hair")) is True
