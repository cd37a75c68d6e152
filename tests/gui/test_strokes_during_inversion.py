"""Strokes painted while an inversion runs are never lost (issue #21): the result is
applied to the codes, the newer mask stays, the canvas marks the chunk and the status bar
says to Continue; a Continue refines to the new mask and clears the note. Stop shows
"Stopping…" at once and keeps the partial result."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.invert import InversionSettings
from core.segment.brush import Brush
from tests.gui.test_editor_workflow import drag, finish, make_window, open_photo, photo  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_stroke_painted_during_an_inversion_survives_and_continue_clears_the_note(
        qtbot, tmp_path, photo):  # noqa: F811
    window = make_window(qtbot, tmp_path)
    window.ask_unsaved_changes = lambda: "discard"  # closing at the end asks nothing
    open_photo(qtbot, window, photo)
    session = window.session
    hair = np.zeros((32, 32), np.float32)
    hair[:9, 4:28] = 1
    session.chunk_set.add(hair, name="hair")
    session.chunk_set.add(1 - hair, name="rest")
    notes = []
    window.canvas.refine_note_changed.connect(notes.append)

    task = window.inversion.run(InversionSettings(steps=100_000), "l2", 0)
    progressed = []
    window.inversion.progress.connect(lambda *args: progressed.append(args))
    qtbot.waitUntil(lambda: bool(progressed), timeout=60_000)  # it is optimising

    # Paint the hair chunk with the mouse while the inversion runs.
    session.select(session.doc.chunk("hair"))
    window.canvas.zoom_to_fit()
    window.set_tool("brush")
    window.canvas.set_brush(Brush(size=6, hardness=1.0))
    drag(qtbot, window, [(8, 20), (16, 20), (24, 20)])
    painted = session.doc.chunk("hair").mask.copy()
    assert painted[20, 16] == pytest.approx(1.0) and not task.finished

    panel = window.inversion_panel
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert panel.stop_button.text() == "Stopping…" and not panel.stop_button.isEnabled()
    finish(qtbot, task)
    assert task.state == "done"  # stopped, and the partial result kept
    assert session.doc.history.labels[-1] == "Inversion (stopped)"
    assert all(c.code is not None for c in session.doc.chunks)
    np.testing.assert_array_equal(session.doc.chunk("hair").mask, painted)  # the stroke stays
    assert window.canvas.masks_changed_since_inversion == ["hair"]
    assert notes and "'hair'" in notes[-1]
    assert window.note_label.text() == window.canvas.refine_note == notes[-1]  # status bar

    # Continue refines to the painted mask; the note goes.
    more = window.inversion.run(InversionSettings(steps=2), "l2", 0, resume=True)
    finish(qtbot, more)
    assert more.state == "done" and session.doc.history.labels[-1] == "Inversion"
    assert window.canvas.masks_changed_since_inversion == [] and notes[-1] == ""
    assert window.canvas.refine_note == "" and window.note_label.text() == ""
