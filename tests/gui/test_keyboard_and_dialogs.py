"""The keyboard, the face dialog, quitting and the welcome page as a new artist meets them
(issue #19, "first hour without dead ends"): shortcuts work from text fields, Enter takes
the chosen face, chunks and the inversion have menu entries with keys, quitting says
what it stops, file dialogs start in the user's folders, nothing document-only is on
before a document is open."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QDialog

from semedit_gui.dialogs.face_dialog import FaceCropDialog
from tests.gui.test_editor_workflow import WAIT_MS, make_window, open_photo
from tests.gui.test_first_hour import drag_in

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(path)
    return path


class LinuxLineEditKeys(QObject):
    """What QLineEdit does with Linux's key bindings (the xcb platform; offscreen has
    none): it claims Ctrl+E (end of line) and Ctrl+U before any shortcut sees them."""

    def eventFilter(self, watched, event) -> bool:
        if (event.type() == QEvent.Type.ShortcutOverride and event.modifiers() == CTRL
                and event.key() in (Qt.Key.Key_E, Qt.Key.Key_U)):
            event.accept()
            return True
        return False


def focus(qtbot, window, widget) -> None:
    window.activateWindow()
    widget.setFocus()
    qtbot.waitUntil(lambda: widget.hasFocus(), timeout=5000)


def recorded(action) -> list:
    """The action's triggers, instead of its slot (Export would open a modal dialog)."""
    action.triggered.disconnect()
    calls: list = []
    action.triggered.connect(lambda *_args: calls.append(1))
    return calls


# ================================================================ shortcuts from fields

def test_ctrl_e_exports_while_a_spin_box_or_text_field_has_the_focus(qtbot, tmp_path, photo):
    window = make_window(qtbot, tmp_path)
    open_photo(qtbot, window, photo)
    window.ask_unsaved_changes = lambda: "discard"
    exports = recorded(window.commands.export)
    steps, search = window.inversion_panel.steps, window.edits_panel.search_edit
    linux_keys = LinuxLineEditKeys()
    for field in (steps, steps.lineEdit(), search):
        field.installEventFilter(linux_keys)
    for field in (steps, search):
        focus(qtbot, window, field)
        before = len(exports)
        qtbot.keyClick(field, Qt.Key.Key_E, CTRL)
        assert len(exports) == before + 1, type(field).__name__
    window.close_discarding()


def test_every_enabled_ctrl_shortcut_of_the_window_beats_a_field_but_editing_keys(
        qtbot, tmp_path, photo):
    from PySide6.QtGui import QAction, QKeyEvent, QKeySequence

    from semedit_gui.window.shortcuts import window_takes

    window = make_window(qtbot, tmp_path)
    open_photo(qtbot, window, photo)
    session = window.session
    for name in ("a", "b"):  # Undo and the chunk commands on too
        session.chunk_set.add(np.ones((session.doc.resolution,) * 2, np.float32), name=name)
    checked = 0
    for action in window.findChildren(QAction):
        for keys in action.shortcuts() if action.isEnabled() else ():
            combo = keys[0]
            if not combo.keyboardModifiers() & (CTRL | Qt.KeyboardModifier.AltModifier):
                continue
            event = QKeyEvent(QEvent.Type.ShortcutOverride, combo.key(),
                              combo.keyboardModifiers())
            editing = event.matches(QKeySequence.StandardKey.Undo) or event.matches(
                QKeySequence.StandardKey.Redo)
            assert window_takes(window, event) is not editing, (action.text(), keys)
            checked += 1
    assert checked >= 15
    typed = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_E, Qt.KeyboardModifier.NoModifier)
    assert not window_takes(window, typed)  # E is the eraser, and a letter in a field
    window.close_discarding()


def test_text_fields_keep_their_editing_keys_and_typed_letters(qtbot, tmp_path, photo):
    window = make_window(qtbot, tmp_path)
    open_photo(qtbot, window, photo)
    window.ask_unsaved_changes = lambda: "discard"
    session = window.session
    session.chunk_set.add(np.ones((session.doc.resolution,) * 2, np.float32), name="all")
    assert window.commands.undo.isEnabled()  # Ctrl+Z would undo the new chunk
    search = window.edits_panel.search_edit
    focus(qtbot, window, search)
    qtbot.keyClicks(search, "pe")  # E is the eraser, P the brush: typing is typing
    assert search.text() == "pe" and window.canvas.tool == "brush"
    qtbot.keyClick(search, Qt.Key.Key_A, CTRL)  # select all in the field
    assert search.selectedText() == "pe"
    qtbot.keyClick(search, Qt.Key.Key_Z, CTRL)  # the field's undo, not the document's
    assert search.text() != "pe" and len(session.doc.chunks) == 1
    window.close_discarding()


# ================================================================ menus with keys

def test_chunk_menu_keys_add_duplicate_move_and_delete(qtbot, tmp_path, photo):
    window = make_window(qtbot, tmp_path)
    assert not any(a.isEnabled() for a in window.commands.chunk_actions)  # no document
    open_photo(qtbot, window, photo)
    window.ask_unsaved_changes = lambda: "discard"
    session, canvas = window.session, window.canvas
    focus(qtbot, window, canvas)
    names = lambda: [chunk.name for chunk in session.doc.chunks]  # noqa: E731
    qtbot.keyClick(canvas, Qt.Key.Key_N, CTRL | SHIFT)
    assert len(session.doc.chunks) == 1
    first = session.doc.chunks[0]
    first.mask[:8, :8] = 1.0
    qtbot.keyClick(canvas, Qt.Key.Key_J, CTRL)  # duplicate: a copy above, selected
    assert len(session.doc.chunks) == 2 and session.selected is session.doc.chunks[1]
    assert np.array_equal(session.doc.chunks[1].mask, first.mask)
    copy = session.selected.name
    qtbot.keyClick(canvas, Qt.Key.Key_BracketLeft, CTRL)  # move down
    assert names() == [copy, first.name]
    steps = window.inversion_panel.steps  # and up again, from a spin box
    focus(qtbot, window, steps)
    qtbot.keyClick(steps, Qt.Key.Key_BracketRight, CTRL)
    assert names() == [first.name, copy]
    qtbot.keyClick(steps, Qt.Key.Key_Delete, SHIFT)  # in a field: Cut, as in any field
    assert names() == [first.name, copy]
    focus(qtbot, window, canvas)
    qtbot.keyClick(canvas, Qt.Key.Key_Delete, SHIFT)
    assert names() == [first.name]
    move_up, move_down = window.commands.chunk_actions[3:5]
    assert not move_up.isEnabled() and not move_down.isEnabled()  # one chunk: nowhere
    window.close_discarding()


def test_inversion_menu_runs_and_stops_and_follows_the_buttons(qtbot, tmp_path, photo):
    from semedit_gui.dialogs.help_dialogs import shortcut_rows

    window = make_window(qtbot, tmp_path)
    run, stop, resume, _quick = window.commands.inversion_actions
    assert not run.isEnabled() and not stop.isEnabled()
    open_photo(qtbot, window, photo)
    window.ask_unsaved_changes = lambda: "discard"
    session = window.session
    assert not run.isEnabled()  # no chunk yet: the Run button is off too
    session.chunk_set.add(np.ones((session.doc.resolution,) * 2, np.float32), name="all")
    assert run.isEnabled() == window.inversion_panel.run_button.isEnabled() is True
    panel = window.inversion_panel
    panel.loss.setCurrentIndex(panel.loss.findData("l2"))
    panel.steps.setValue(100_000)
    focus(qtbot, window, window.canvas)
    qtbot.keyClick(window.canvas, Qt.Key.Key_R, CTRL)
    assert window.inversion.state == "running"
    assert stop.isEnabled() and not run.isEnabled() and not resume.isEnabled()
    progressed = []
    window.inversion.progress.connect(lambda *args: progressed.append(args))
    qtbot.waitUntil(lambda: len(progressed) >= 2, timeout=WAIT_MS)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Period, CTRL)
    assert window.inversion.state in ("stopping", "idle")
    qtbot.waitUntil(lambda: window.inversion.state == "idle", timeout=WAIT_MS)
    assert session.inverted and resume.isEnabled() and run.isEnabled()
    rows = dict(shortcut_rows(window))  # the shortcuts sheet lists them
    for name, keys in (("Run Inversion", "Ctrl+R"), ("Stop Inversion", "Ctrl+."),
                       ("Continue Inversion", "Ctrl+Shift+R"), ("New Chunk", "Ctrl+Shift+N"),
                       ("Duplicate Chunk", "Ctrl+J"), ("Delete Chunk", "Shift+Del"),
                       ("Move Chunk Up", "Ctrl+]"), ("Move Chunk Down", "Ctrl+[")):
        assert rows.get(name) == keys, (name, rows.get(name))
    window.close_discarding()


def test_tab_walks_the_edits_panel_through_each_rows_buttons(qtbot, tmp_path, photo):
    window = make_window(qtbot, tmp_path)
    open_photo(qtbot, window, photo)
    window.ask_unsaved_changes = lambda: "discard"  # a failing test must not hang on close
    session, panel = window.session, window.edits_panel
    chunk = session.chunk_set.add(np.ones((session.doc.resolution,) * 2, np.float32),
                                  name="all")
    session.select(chunk)
    for name in ("pc0", "pc1"):
        session.edit_stacks.add(chunk, name, 0.0)
    first, second = panel.rows
    qtbot.waitUntil(lambda: second.spin.isVisible(), timeout=5000)  # shown by the layout
    focus(qtbot, window, panel.search_edit)
    reached = []
    while len(reached) < 30 and panel.clear_button not in reached:
        qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Tab)
        reached.append(window.focusWidget())
    # In the panel's order, before Clear all and nothing outside the panel in between.
    expected = [first.enabled_box, first.reset_button, first.down_button,
                first.remove_button, first.slider, first.spin, second.enabled_box,
                second.reset_button, second.up_button, second.remove_button, second.slider,
                second.spin, panel.clear_button]
    assert [w for w in reached if w in expected] == expected
    assert all(panel.isAncestorOf(w) for w in reached), [type(w).__name__ for w in reached]
    window.close_discarding()


# ================================================================ the face dialog

def photo_array() -> np.ndarray:
    return skimage.data.coffee()  # 600 x 400, no face


def open_dialog(qtbot, boxes=()) -> FaceCropDialog:
    dialog = FaceCropDialog(photo_array(), boxes, no_face=not boxes)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    return dialog


@pytest.mark.parametrize("focused", ["view", "cancel"])
def test_enter_takes_the_square_never_cancel(qtbot, focused):
    dialog = open_dialog(qtbot)
    assert dialog.use_button.isDefault() and not dialog.whole_button.isDefault()
    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # nothing chosen yet: Enter does nothing
    assert dialog.isVisible() and dialog.result() == 0 and dialog.choice is None
    drag_in(qtbot, dialog.view, (150, 60), (330, 200))
    square = dialog.square
    assert square is not None
    widget = dialog.view if focused == "view" else dialog.buttons.button(
        dialog.buttons.StandardButton.Cancel)
    widget.setFocus()
    qtbot.keyClick(widget, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.choice is not None and dialog.choice.square == square


def test_enter_takes_the_face_picked_in_a_group_photo(qtbot):
    boxes = [(40, 40, 140, 140), (300, 100, 420, 220)]
    dialog = open_dialog(qtbot, boxes)
    drag_in(qtbot, dialog.view, (360, 160), (361, 161))  # a click on the second face
    assert dialog.selected_face == 1
    qtbot.keyClick(dialog.view, Qt.Key.Key_Enter)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.choice.face_index == 1 and dialog.choice.square is None


def test_escape_still_cancels_the_face_dialog(qtbot):
    dialog = open_dialog(qtbot)
    drag_in(qtbot, dialog.view, (150, 60), (330, 200))
    qtbot.keyClick(dialog.view, Qt.Key.Key_Escape)
    assert dialog.result() == QDialog.DialogCode.Rejected and dialog.choice is None


# ================================================================ the welcome page

def test_no_document_turns_document_commands_and_brush_readouts_off(qtbot, tmp_path, photo):
    window = make_window(qtbot, tmp_path)
    commands = window.commands
    view_and_tools = (commands.before_after, commands.split, commands.difference,
                      commands.photo_view, commands.overlays, commands.zoom_in,
                      commands.zoom_fit, *commands.tools.values(), commands.larger_brush)
    assert not any(action.isEnabled() for action in view_and_tools)
    bar = commands.brush_bar
    assert not bar.isEnabled() and bar.on_screen.text() == ""
    open_photo(qtbot, window, photo)
    window.ask_unsaved_changes = lambda: "discard"
    assert all(action.isEnabled() for action in view_and_tools)
    assert bar.isEnabled() and bar.on_screen.text().endswith("px on screen")
    window.render_label.setText("full render 82 ms")  # what the last render said
    commands.split.setChecked(True)
    commands.close.trigger()  # back to the welcome page
    assert window.session is None
    assert not any(action.isEnabled() for action in view_and_tools)
    assert not commands.split.isChecked() and window.canvas.split is None
    assert window.render_label.text() == "" and bar.on_screen.text() == ""
    window.canvas.zoom_in()  # the zoom changing meanwhile says nothing either
    assert bar.on_screen.text() == ""
    window.close_discarding()


# ================================================================ quitting during work

def test_quitting_during_an_inversion_says_so_and_save_keeps_its_steps(qtbot, tmp_path, photo):
    from core.project import load_project
    from semedit_gui.window import prompts

    window = make_window(qtbot, tmp_path)
    open_photo(qtbot, window, photo)
    session = window.session
    session.chunk_set.add(np.ones((session.doc.resolution,) * 2, np.float32), name="all")
    panel = window.inversion_panel
    panel.loss.setCurrentIndex(panel.loss.findData("l2"))
    panel.steps.setValue(100_000)
    asked = []

    def answer() -> str:  # the real question's words and buttons, answered "save"
        box = prompts.unsaved_changes_box(window, window.session.title)
        asked.append((box.text(), box.informativeText(),
                      sorted(button.text() for button in box.buttons())))
        box.deleteLater()
        return "save"

    window.ask_unsaved_changes = answer
    target = tmp_path / "kept.semedit"
    window.ask_save_path = lambda suggested: target
    progressed = []
    window.inversion.progress.connect(lambda *args: progressed.append(args))
    panel.run_button.click()
    qtbot.waitUntil(lambda: len(progressed) >= 3, timeout=WAIT_MS)
    window.close()
    assert window.close_state == "closed"
    (text, detail, labels), = asked
    assert text.startswith("Inverting (") and "steps done) is still running" in text
    assert "Quitting stops it." in text and "steps so far" in detail
    assert labels == ["Cancel", "Quit without Saving", "Stop and Save"]
    doc = load_project(target)  # the steps done before quitting are in the project
    assert doc.chunks[0].code is not None
    assert 1 <= doc.inversion["metrics"]["steps"] < 100_000


def test_the_unsaved_question_is_unchanged_when_nothing_runs(qtbot, tmp_path, photo):
    from semedit_gui.window import prompts

    window = make_window(qtbot, tmp_path)
    open_photo(qtbot, window, photo)
    session = window.session
    session.chunk_set.add(np.ones((session.doc.resolution,) * 2, np.float32), name="all")
    window.close_state = "asking"  # as while quitting
    box = prompts.unsaved_changes_box(window, session.title)
    window.close_state = "open"
    assert box.text() == f"Save the changes to {session.title}?"
    assert sorted(b.text() for b in box.buttons()) == ["Cancel", "Discard", "Save"]
    box.deleteLater()
    window.close_discarding()


# ================================================================ where file dialogs start

def test_file_dialogs_start_in_the_users_folders(qtbot, tmp_path, photo, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from semedit_gui.window.recipe_actions import apply_recipe_to_photos

    window = make_window(qtbot, tmp_path)
    saved_in = tmp_path / "elsewhere"
    saved_in.mkdir()
    window.settings.recent_files = [str(saved_in / "portrait.semedit")]
    starts = []
    picked = {"recipe": "", "photos": []}

    def open_one(_parent, caption, folder, _filter):
        starts.append((caption, Path(folder)))
        return (picked["recipe"] if "Recipe" in caption else ""), ""

    def open_many(_parent, caption, folder, _filter):
        starts.append((caption, Path(folder)))
        return picked["photos"], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(open_one))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(open_many))
    window.choose_and_open()  # after saving elsewhere: Open starts there
    assert starts[-1] == ("Open a photo or project", saved_in)
    apply_recipe_to_photos(window)  # never the program's folder (the working folder)
    recipe_start = starts[-1][1]
    assert recipe_start == window.documents.default_folder("project")
    assert recipe_start != Path.cwd() and recipe_start.is_dir()
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    picked["recipe"] = str(recipes / "smile.json")
    apply_recipe_to_photos(window)  # the recipe chosen; no photos chosen: stops there
    assert starts[-1][0] == "Photos to Make with the Recipe"
    assert starts[-1][1] == window.documents.default_folder("image")
    picked["recipe"] = ""
    apply_recipe_to_photos(window)  # the folder last used for recipes
    assert starts[-1] == ("Apply Which Recipe?", recipes)
    window.close_discarding()
