"""The Chunks, Edits and History dock panels act on a real session (offscreen)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QLineEdit

from core.project import Document
from semedit_gui.panels import ChunksPanel, EditsPanel, HistoryPanel
from semedit_gui.panels.chunks_panel import (
    COLUMN_CODE,
    COLUMN_COLOUR,
    COLUMN_LOCKED,
    COLUMN_NAME,
    COLUMN_SPACE,
    COLUMN_VISIBLE,
)
from semedit_gui.panels.edits_panel import NO_CHUNK_TEXT
from semedit_gui.panels.history_panel import OPENED_LABEL
from semedit_gui.session import EditorSession

W_DIM = 8
NAMES = ("face", "hair", "mouth")


def make_doc(coded: tuple[bool, ...] = (True, False, False)) -> Document:
    doc = Document(aligned=np.zeros((32, 32, 3), np.uint8))
    for i, (name, has_code) in enumerate(zip(NAMES, coded, strict=False)):
        mask = np.zeros((32, 32), np.float32)
        mask[8:16, 4 + 6 * i:12 + 6 * i] = 1.0
        doc.add_chunk(mask, name=name, space="w",
                      code=np.zeros(W_DIM, np.float32) if has_code else None)
    return doc


@pytest.fixture
def session():
    s = EditorSession(make_doc(), directions=["smile", "age", "pc3"])
    yield s
    s.close()


@pytest.fixture
def directions():
    from core.edit.directions import Direction  # loads torch: only the tests that need it

    def direction(name, source, description):
        return Direction(name, "w", np.ones(W_DIM, np.float32), 1.0, source=source,
                         description=description)

    return [direction("smile", "supervised", "Smile more or less"),
            direction("pc3", "ganspace", "Third principal component"),
            direction("age", "supervised", "Older or younger")]


def chunks_panel(qtbot, session) -> ChunksPanel:
    panel = ChunksPanel(session)
    qtbot.addWidget(panel)
    return panel


def edits_panel(qtbot, session, directions) -> EditsPanel:
    panel = EditsPanel(session)
    qtbot.addWidget(panel)
    panel.set_directions(directions)
    return panel


def row_names(panel: ChunksPanel) -> list[str]:
    model = panel.model
    return [model.index(r, COLUMN_NAME).data() for r in range(model.rowCount())]


def messages_of(panel) -> list[str]:
    received: list[str] = []
    panel.message.connect(received.append)
    return received


# --------------------------------------------------------------------- chunks panel


def test_chunks_are_listed_top_first_with_their_properties(qtbot, session):
    panel = chunks_panel(qtbot, session)
    model = panel.model
    assert row_names(panel) == ["mouth", "hair", "face"]
    face = model.index(2, 0)
    assert model.index(2, COLUMN_CODE).data() == "●"  # face is inverted
    assert model.index(0, COLUMN_CODE).data() == ""
    assert model.index(2, COLUMN_SPACE).data() == "W"  # the Inversion panel's name
    assert QColor(model.index(2, COLUMN_COLOUR).data(Qt.ItemDataRole.DecorationRole)) \
        == QColor(*session.doc.chunks[0].colour)
    assert model.index(face.row(), COLUMN_VISIBLE).data(Qt.ItemDataRole.CheckStateRole) \
        == Qt.CheckState.Checked
    # An inverted chunk's space is fixed.
    assert "fixed" in model.index(2, COLUMN_SPACE).data(Qt.ItemDataRole.ToolTipRole)


def test_space_column_sets_the_space_of_chunks_without_a_code(qtbot, session):
    model = chunks_panel(qtbot, session).model
    assert not model.flags(model.index(2, COLUMN_SPACE)) & Qt.ItemFlag.ItemIsEditable  # coded
    hair = model.index(1, COLUMN_SPACE)
    assert model.flags(hair) & Qt.ItemFlag.ItemIsEditable
    assert model.setData(hair, "s")
    assert session.doc.chunk("hair").space == "s"
    session.doc.history.undo()
    assert session.doc.chunk("hair").space == "w"


def test_row_selection_and_session_selection_follow_each_other(qtbot, session):
    panel = chunks_panel(qtbot, session)
    assert panel.view.currentIndex().row() == 0  # the session starts on the top chunk
    panel.view.setCurrentIndex(panel.model.index(2, COLUMN_NAME))
    assert session.selected is session.doc.chunks[0]
    session.select(session.doc.chunks[1])
    assert panel.view.currentIndex().row() == 1
    assert panel.view.selectionModel().isRowSelected(1)


def test_rename_in_the_editor_renames_and_is_undoable(qtbot, session):
    panel = chunks_panel(qtbot, session)
    panel.show()
    qtbot.waitExposed(panel)
    index = panel.model.index(0, COLUMN_NAME)
    panel.view.setCurrentIndex(index)
    qtbot.keyClick(panel.view, Qt.Key.Key_F2)
    editor = panel.view.viewport().findChild(QLineEdit)
    assert editor is not None and editor.text() == "mouth"
    editor.setText("lips")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the delegate commits on the next loop turn
    qtbot.waitUntil(lambda: session.doc.chunks[2].name == "lips", timeout=2000)
    assert row_names(panel)[0] == "lips"
    session.doc.history.undo()
    assert session.doc.chunks[2].name == "mouth"
    assert row_names(panel)[0] == "mouth"


def test_refused_rename_reports_and_keeps_the_name(qtbot, session):
    panel = chunks_panel(qtbot, session)
    messages = messages_of(panel)
    assert not panel.model.setData(panel.model.index(0, COLUMN_NAME), "face")
    assert messages and "already" in messages[0]
    assert session.doc.chunks[2].name == "mouth"
    assert row_names(panel)[0] == "mouth"
    assert len(session.doc.history) == 0


def test_visibility_and_lock_toggles_are_single_undo_steps(qtbot, session):
    panel = chunks_panel(qtbot, session)
    model, chunk = panel.model, session.doc.chunks[2]
    unchecked = Qt.CheckState.Unchecked.value
    assert model.setData(model.index(0, COLUMN_VISIBLE), unchecked,
                         Qt.ItemDataRole.CheckStateRole)
    assert chunk.visible is False and len(session.doc.history) == 1
    assert model.index(0, COLUMN_VISIBLE).data(Qt.ItemDataRole.CheckStateRole) \
        == Qt.CheckState.Unchecked
    assert model.setData(model.index(0, COLUMN_LOCKED), Qt.CheckState.Checked,
                         Qt.ItemDataRole.CheckStateRole)
    assert chunk.locked is True and len(session.doc.history) == 2
    assert not model.flags(model.index(0, COLUMN_NAME)) & Qt.ItemFlag.ItemIsEditable
    session.doc.history.undo()
    assert chunk.locked is False and chunk.visible is False
    assert model.index(0, COLUMN_LOCKED).data(Qt.ItemDataRole.CheckStateRole) \
        == Qt.CheckState.Unchecked


def test_locked_chunk_refuses_mask_operations_with_a_message(qtbot, session):
    panel = chunks_panel(qtbot, session)
    messages = messages_of(panel)
    chunk = session.selected
    session.chunk_set.set_locked(chunk, True)
    assert not panel.grow_action.isEnabled() and not panel.clear_mask_action.isEnabled()
    before = chunk.mask.copy()
    panel.grow()
    assert np.array_equal(chunk.mask, before)
    assert messages and "locked" in messages[0]
    assert len(session.doc.history) == 1  # only the lock


def test_mask_operations_change_the_selected_mask(qtbot, session):
    panel = chunks_panel(qtbot, session)
    chunk = session.selected
    area = chunk.mask.sum()
    panel.radius_spin.setValue(2)
    panel.grow_action.trigger()
    grown = chunk.mask.sum()
    assert grown > area
    panel.shrink()
    assert chunk.mask.sum() < grown
    session.doc.history.undo()
    assert chunk.mask.sum() == grown
    hair = session.doc.chunks[1]
    before = chunk.mask.sum()
    panel.combine(hair, "union")
    assert chunk.mask.sum() > before
    assert session.doc.history.labels[-1] == "Union with hair"
    panel.clear_mask()
    assert chunk.mask.sum() == 0


def test_combine_menu_lists_the_other_chunks(qtbot, session):
    panel = chunks_panel(qtbot, session)
    panel._fill_combine_menu()  # what opening the menu does
    submenus = [a.menu() for a in panel.combine_menu.actions()]
    assert [m.title() for m in submenus] == ["Add another chunk", "Subtract another chunk",
                                             "Intersect with another chunk"]
    intersect = submenus[2].actions()
    assert [a.text() for a in intersect] == ["hair", "face"]
    intersect[0].trigger()
    assert session.doc.history.labels[-1] == "Intersect with hair"


def test_add_duplicate_delete_and_undo(qtbot, session):
    panel = chunks_panel(qtbot, session)
    panel.add_action.trigger()
    assert row_names(panel)[0] == "Chunk 4"
    assert session.selected is session.doc.chunks[-1]
    session.select(session.doc.chunks[0])
    panel.duplicate_action.trigger()
    assert row_names(panel) == ["Chunk 4", "mouth", "hair", "face copy", "face"]
    assert session.selected.name == "face copy"
    panel.delete_action.trigger()
    assert "face copy" not in row_names(panel)
    session.doc.history.undo()
    assert row_names(panel) == ["Chunk 4", "mouth", "hair", "face copy", "face"]


def test_move_up_and_down_reorder_the_stack(qtbot, session):
    panel = chunks_panel(qtbot, session)
    face = session.doc.chunks[0]
    session.select(face)
    assert not panel.move_down_action.isEnabled() and panel.move_up_action.isEnabled()
    panel.move_up_action.trigger()
    assert [c.name for c in session.doc.chunks] == ["hair", "face", "mouth"]
    assert row_names(panel) == ["mouth", "face", "hair"]
    assert panel.view.currentIndex().row() == 1  # the moved chunk stays selected
    panel.move_up()
    assert not panel.move_up_action.isEnabled()
    panel.move_down()
    assert row_names(panel) == ["mouth", "face", "hair"]


def test_colour_swatch_click_sets_the_colour(qtbot, session, monkeypatch):
    panel = chunks_panel(qtbot, session)
    panel.show()
    qtbot.waitExposed(panel)
    monkeypatch.setattr(QColorDialog, "getColor", lambda *args: QColor(1, 2, 3))
    rect = panel.view.visualRect(panel.model.index(1, COLUMN_COLOUR))
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert session.doc.chunks[1].colour == (1, 2, 3)
    assert session.doc.history.labels == ["Colour of hair"]


def test_export_and_import_masks(qtbot, session, tmp_path):
    panel = chunks_panel(qtbot, session)
    messages = messages_of(panel)
    path = tmp_path / "lips.png"
    panel.export_mask(path, bits=16)
    assert path.is_file()
    panel.import_mask(path)
    assert row_names(panel)[0] == "lips"
    assert session.selected.name == "lips"
    assert np.allclose(session.selected.mask, session.doc.chunks[2].mask, atol=1e-4)
    panel.import_mask(tmp_path / "missing.png")
    assert messages and "does not exist" in messages[-1]


def test_set_session_switches_and_disconnects(qtbot, session):
    panel = chunks_panel(qtbot, session)
    other = EditorSession(make_doc((False,)))
    panel.set_session(other)
    assert row_names(panel) == ["face"]
    session.chunk_set.add(name="ignored")
    assert row_names(panel) == ["face"]
    panel.set_session(None)
    assert row_names(panel) == [] and not panel.add_action.isEnabled()
    other.close()


# --------------------------------------------------------------------- edits panel


def test_edits_panel_explains_when_no_chunk_is_selected(qtbot, session, directions):
    panel = edits_panel(qtbot, session, directions)
    session.select(None)
    assert panel.title_label.text() == NO_CHUNK_TEXT
    assert not panel.add_button.isEnabled() and not panel.direction_combo.isEnabled()
    assert panel.rows == []


def test_direction_picker_groups_by_source(qtbot, session, directions):
    panel = edits_panel(qtbot, session, directions)
    model = panel.direction_combo.model()
    texts = [model.item(r).text().strip() for r in range(model.rowCount())]
    # named directions first, the unnamed GANSpace components last
    assert texts == ["Fitted to face measurements", "smile", "age", "GANSpace components",
                     "pc3"]
    assert not model.item(0).isEnabled()  # a heading
    assert model.item(1).toolTip() == "Smile more or less"
    assert panel.selected_direction() == "smile"


def test_add_edit_shows_a_row_and_the_inversion_hint(qtbot, session, directions):
    panel = edits_panel(qtbot, session, directions)
    panel.show()
    qtbot.waitExposed(panel)
    session.select(session.doc.chunks[1])  # hair: not inverted
    assert panel.hint_label.isVisible()
    panel.select_direction("smile")
    panel.add_button.click()
    edits = session.doc.chunks[1].edits
    assert [(e.direction, e.strength) for e in edits] == [("smile", 0.0)]
    assert len(panel.rows) == 1 and panel.rows[0].name_label.text() == "smile"
    session.select(session.doc.chunks[0])  # face: inverted
    assert not panel.hint_label.isVisible() and panel.rows == []


def test_slider_drag_is_one_undo_step(qtbot, session, directions):
    panel = edits_panel(qtbot, session, directions)
    chunk = session.selected
    panel.add_edit("smile")
    row = panel.rows[0]
    history = session.doc.history
    row.slider.setSliderDown(True)  # emits sliderPressed
    for value in (40, 90, 150):
        row.slider.setValue(value)
        assert chunk.edits[0].strength == value / 100  # live while dragging
    row.slider.setSliderDown(False)  # emits sliderReleased
    assert chunk.edits[0].strength == 1.5
    assert panel.rows[0] is row  # values updated in place, no rebuild
    assert row.spin.value() == 1.5
    assert len(history) == 2 and history.labels[-1] == "Adjust smile"
    history.undo()
    assert chunk.edits[0].strength == 0.0
    assert row.slider.value() == 0 and row.spin.value() == 0.0


def test_keyboard_slider_changes_are_single_steps(qtbot, session, directions):
    panel = edits_panel(qtbot, session, directions)
    panel.add_edit("age")
    slider = panel.rows[0].slider
    slider.triggerAction(slider.SliderAction.SliderSingleStepAdd)
    slider.triggerAction(slider.SliderAction.SliderSingleStepAdd)
    assert session.selected.edits[0].strength == 0.1
    assert len(session.doc.history) == 3


def test_spin_box_sets_the_exact_strength(qtbot, session, directions):
    panel = edits_panel(qtbot, session, directions)
    panel.add_edit("smile")
    row = panel.rows[0]
    row.spin.setValue(-0.125)
    assert session.selected.edits[0].strength == -0.125
    assert row.slider.value() == round(-12.5)
    assert len(session.doc.history) == 2
    row.spin.setValue(7.0)  # beyond the slider's range: kept, slider at its end
    assert session.selected.edits[0].strength == 7.0
    assert row.slider.value() == row.slider.maximum()


def test_enable_reset_move_remove_and_clear(qtbot, session, directions):
    panel = edits_panel(qtbot, session, directions)
    messages = messages_of(panel)
    chunk = session.selected
    panel.add_edit("smile")
    panel.add_edit("age")
    first = panel.rows[0]
    first.enabled_box.setChecked(False)
    assert chunk.edits[0].enabled is False
    session.doc.history.undo()
    assert chunk.edits[0].enabled is True and first.enabled_box.isChecked()
    first.spin.setValue(2.0)
    first.reset_button.click()
    assert chunk.edits[0].strength == 0.0
    first.down_button.click()
    assert [e.direction for e in chunk.edits] == ["age", "smile"]
    assert [r.name_label.text() for r in panel.rows] == ["age", "smile"]
    panel.rows[0].remove_button.click()
    assert [e.direction for e in chunk.edits] == ["smile"]
    panel.clear_button.click()
    assert chunk.edits == [] and panel.rows == []
    assert not panel.clear_button.isEnabled()
    session.doc.history.undo()
    assert [r.name_label.text() for r in panel.rows] == ["smile"]
    panel.add_edit("frown")  # the session knows no such direction
    assert messages and "no direction called 'frown'" in messages[-1]


# --------------------------------------------------------------------- history panel


def test_history_lists_steps_and_a_click_goes_back(qtbot, session):
    panel = HistoryPanel(session)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    chunks = session.chunk_set
    chunks.rename("hair", "fringe")
    chunks.set_visible("face", False)
    chunks.grow("mouth", 1)
    listed = [panel.list.item(r).text() for r in range(panel.list.count())]
    assert listed == [OPENED_LABEL, "Rename hair to fringe", "Hide face", "Grow 1 px"]
    assert panel.list.currentRow() == 3 and panel.list.item(3).font().bold()
    assert panel.undo_button.isEnabled() and not panel.redo_button.isEnabled()

    rect = panel.list.visualItemRect(panel.list.item(0))
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert session.doc.history.index == 0
    assert session.doc.chunks[1].name == "hair" and session.doc.chunks[0].visible
    assert panel.list.count() == 4  # undone steps stay listed, greyed
    grey = panel.palette().color(panel.palette().ColorGroup.Disabled,
                                 panel.palette().ColorRole.Text)
    assert panel.list.item(2).foreground().color() == grey
    assert not panel.undo_button.isEnabled() and panel.redo_button.isEnabled()
    panel.redo_button.click()
    assert session.doc.chunks[1].name == "fringe" and panel.list.currentRow() == 1
    panel.list.setCurrentRow(3)  # keyboard: redo up to there
    assert session.doc.history.index == 3


def test_undo_through_the_session_updates_every_panel(qtbot, session, directions):
    chunks = chunks_panel(qtbot, session)
    edits = edits_panel(qtbot, session, directions)
    history = HistoryPanel(session)
    qtbot.addWidget(history)
    edits.add_edit("smile")
    edits.rows[0].spin.setValue(1.0)
    session.chunk_set.rename(session.selected, "lips")
    assert row_names(chunks)[0] == "lips" and history.list.currentRow() == 3

    session.doc.history.undo()
    assert row_names(chunks)[0] == "mouth"
    assert edits.title_label.text() == "Edits of mouth"
    assert history.list.currentRow() == 2
    session.doc.history.undo()
    assert edits.rows[0].spin.value() == 0.0
    session.doc.history.undo()
    assert edits.rows == [] and history.list.currentRow() == 0
    assert history.list.item(1).font().bold() is False


def test_history_panel_without_session_is_empty(qtbot):
    panel = HistoryPanel()
    qtbot.addWidget(panel)
    assert panel.list.count() == 0
    assert not panel.undo_button.isEnabled() and not panel.redo_button.isEnabled()
    panel.go_to(0)  # nothing to do, no error


def test_inversion_panel_says_stopping_and_a_continue_extends_the_curve(qtbot):
    from semedit_gui.panels import InversionPanel

    panel = InversionPanel()
    qtbot.addWidget(panel)
    assert panel.progress.text() == "Not run yet"  # not "0 / 1 steps" before any run
    panel.set_state(running=True, can_run=True, can_continue=True)
    assert panel.stop_button.isEnabled() and panel.stop_button.text() == "Stop"
    panel.set_state(running=True, can_run=True, can_continue=True, stopping=True)
    assert not panel.stop_button.isEnabled() and panel.stop_button.text() == "Stopping…"
    assert not panel.run_button.isEnabled() and not panel.continue_button.isEnabled()
    panel.show_started(10)
    for step in range(1, 4):
        panel.show_progress("invert", step, 10, 1.0 / step)
    panel.show_started(15, resume=True)
    panel.show_progress("invert", 4, 15, 0.2)
    assert [p[0] for p in panel.curve.points] == [1, 2, 3, 4]
    assert panel.progress.maximum() == 15 and panel.progress.value() == 4
    assert panel.progress.text() == "4 / 15 steps"
    panel.show_started(5)
    assert panel.curve.points == []
    panel.reset({"steps": 276})  # a project whose codes had 276 steps is opened
    assert panel.progress.text() == "276 steps done" and panel.curve.points == []
    panel.reset({"steps": {"inversion": 30, "refine": 10}})  # a hair transfer's project
    assert panel.progress.text() == "40 steps done"
    panel.reset()
    assert panel.progress.text() == "Not run yet"
