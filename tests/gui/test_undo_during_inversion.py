"""Undo and Redo wait while an inversion runs (issue #19, screenshots 17-18): Ctrl+Z used
to remove the chunks being fitted, the live preview went on painting over the photo and
Stop threw the run away. Now the actions and the History panel are disabled with the
reason as tooltip, Ctrl+Z puts it on the status line, and after the run they work again."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.invert import InversionSettings
from semedit_gui.controllers.inversion import HISTORY_PAUSED
from tests.gui.test_editor_workflow import finish, make_window, open_photo, photo  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_undo_waits_for_the_inversion_and_the_run_is_kept(qtbot, tmp_path, photo):  # noqa: F811
    window = make_window(qtbot, tmp_path)
    window.ask_unsaved_changes = lambda: "discard"
    open_photo(qtbot, window, photo)
    session, undo, redo = window.session, window.commands.undo, window.commands.redo
    panel = window.history_panel
    session.chunk_set.add(np.ones((32, 32), np.float32), name="face")  # the step Ctrl+Z undid
    assert undo.isEnabled() and undo.toolTip() != HISTORY_PAUSED

    task = window.inversion.run(InversionSettings(steps=100_000), "l2", 0)
    progressed = []
    window.inversion.progress.connect(lambda *args: progressed.append(args))
    qtbot.waitUntil(lambda: bool(progressed), timeout=60_000)
    assert not undo.isEnabled() and not redo.isEnabled()
    assert undo.toolTip() == redo.toolTip() == HISTORY_PAUSED
    assert not panel.list.isEnabled() and not panel.undo_button.isEnabled()
    assert panel.undo_button.toolTip() == panel.list.toolTip() == HISTORY_PAUSED

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [c.name for c in session.doc.chunks] == ["face"]  # not undone
    assert window.statusBar().currentMessage() == HISTORY_PAUSED
    window.statusBar().clearMessage()
    panel.go_to(0)  # a click in the list, were it enabled
    assert [c.name for c in session.doc.chunks] == ["face"]
    assert window.statusBar().currentMessage() == HISTORY_PAUSED
    assert not task.finished

    window.inversion.stop()
    assert not undo.isEnabled()  # "stopping": the result is not applied yet
    finish(qtbot, task)
    assert task.state == "done" and session.doc.history.labels[-1] == "Inversion (stopped)"
    assert all(c.code is not None for c in session.doc.chunks)  # the run's work is kept
    assert window.message_bar.text() == ""
    assert undo.isEnabled() and undo.toolTip() != HISTORY_PAUSED and panel.list.isEnabled()
    assert panel.undo_button.isEnabled() and panel.undo_button.toolTip() == ""

    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert session.doc.history.index == 1 and session.doc.chunks[0].code is None
