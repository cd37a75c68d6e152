"""A document without chunks is no dead end: the first brush stroke or Fill click makes
'Chunk 1', selects it and paints into it, as one undo step (as Krita and GIMP make a
layer); Fill takes similar photo colour with the brush bar's tolerance (offscreen)."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QMainWindow

from core.project import Document
from core.segment.brush import Brush
from core.segment.bucket import DEFAULT_TOLERANCE
from semedit_gui.brush_bar import BrushBar
from semedit_gui.session import EditorSession
from tests.gui.test_canvas import HORIZONTAL, R, click, drag

NEAR, FAR, BLUE = (100, 100, 100), (130, 100, 100), (40, 40, 200)


def three_bands() -> np.ndarray:
    """Grey left of column 20, a slightly redder grey to column 40, then blue."""
    image = np.empty((R, R, 3), np.uint8)
    image[:, :20], image[:, 20:40], image[:, 40:] = NEAR, FAR, BLUE
    return image


def empty_session(view) -> EditorSession:
    session = EditorSession(Document(aligned=three_bands()))
    view.set_session(session)
    return session


def test_the_first_brush_stroke_makes_chunk_1_as_one_step(qtbot, view, messages):
    session = empty_session(view)
    selected = []
    session.selection_changed.connect(selected.append)
    view.set_brush(Brush(size=6, hardness=1.0))
    drag(qtbot, view, HORIZONTAL)
    chunks = session.doc.chunks
    assert [c.name for c in chunks] == ["Chunk 1"] and messages == []
    assert session.selected is chunks[0] and selected[-1] is chunks[0]
    mask = chunks[0].mask
    assert (mask[32, 11:50] > 0.99).all() and mask[10, 30] == 0
    history = session.doc.history
    assert history.labels == ["Brush stroke on new Chunk 1"] and not history.in_group
    history.undo()
    assert session.doc.chunks == [] and session.selected is None
    history.redo()
    assert session.doc.chunks == chunks and (mask[32, 11:50] > 0.99).all()
    # The second stroke goes into the chunk made by the first.
    drag(qtbot, view, [(x, 10.5) for x in range(10, 51, 5)])
    assert len(session.doc.chunks) == 1 and (mask[10, 11:50] > 0.99).all()
    assert history.labels == ["Brush stroke on new Chunk 1", "Brush stroke"]


def test_the_first_fill_makes_chunk_1_with_the_clicked_colour(qtbot, view):
    session = empty_session(view)
    view.set_tool("fill")
    click(qtbot, view, 50.5, 10.5)  # on the blue
    chunk = session.doc.chunks[0]
    assert chunk.name == "Chunk 1" and session.selected is chunk
    assert (chunk.mask[:, 40:] == 1.0).all() and not chunk.mask[:, :40].any()
    assert session.doc.history.labels == ["Fill new Chunk 1"]
    session.doc.history.undo()
    assert session.doc.chunks == []


def test_the_eraser_with_no_chunk_says_how_to_start(qtbot, view, messages):
    session = empty_session(view)
    view.set_tool("eraser")
    drag(qtbot, view, HORIZONTAL)
    assert session.doc.chunks == [] and session.doc.history.labels == []
    assert messages and messages[0].startswith("There is nothing to erase yet")


def test_the_brush_bar_sets_the_fill_tolerance(qtbot, view):
    window = QMainWindow()  # the bar lives in a window, as in the app
    qtbot.addWidget(window)
    bar = BrushBar(view, window)
    fill = view.tools["fill"]
    assert bar.tolerance.value() == round(DEFAULT_TOLERANCE) == round(fill.tolerance)
    assert not any(action.isVisible() for action in bar.fill_options)  # the brush's bar
    session = empty_session(view)
    view.set_tool("fill")
    assert all(action.isVisible() for action in bar.fill_options)
    assert bar.actions()[1] is bar.fill_options[1]  # first in the bar: never in the overflow
    bar.tolerance.setValue(5)  # below the step between the two greys (about 15)
    click(qtbot, view, 5.5, 30.5)
    mask = session.doc.chunks[0].mask
    assert (mask[:, :20] == 1.0).all() and not mask[:, 20:].any()
    bar.tolerance.setValue(40)
    click(qtbot, view, 5.5, 30.5)
    assert (mask[:, :40] == 1.0).all() and not mask[:, 40:].any()


def test_a_fill_that_changes_nothing_says_so(qtbot, view, messages):
    session = empty_session(view)
    view.set_tool("fill")
    click(qtbot, view, 50.5, 10.5)
    click(qtbot, view, 50.5, 10.5)
    assert messages == ["Fill changed nothing: that area is already in 'Chunk 1'."]
    assert len(session.doc.history.labels) == 1


def test_the_tools_say_what_they_do(view):
    fill_tip, brush_tip = view.tools["fill"].tip, view.tools["brush"].tip
    assert "similar colour" in fill_tip and "enclosed area" in fill_tip
    assert "Fill tolerance" in fill_tip and "Chunk 1" in fill_tip and "Chunk 1" in brush_tip
