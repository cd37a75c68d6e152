"""The Directions dialog shows whole names and every published pack, and closes with a
button; the Edits picker says when a search finds nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from semedit_gui.panels import EditsPanel
from tests.gui.controller_fixtures import wait_ended
from tests.gui.test_directions import setup  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_names_and_packs_are_shown_whole_and_close_closes(qtbot, setup):  # noqa: F811
    controller, dialog = setup
    wait_ended(qtbot, controller.refresh())
    dialog.resize(900, 700)
    dialog.show()
    qtbot.waitExposed(dialog)
    for tree in (dialog.tree, dialog.packs_tree):
        metrics = tree.fontMetrics()
        items = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
        assert items
        for column in range(tree.columnCount() - 1):  # the last one stretches
            widest = max(metrics.horizontalAdvance(item.text(column)) for item in items)
            assert tree.header().sectionSize(column) > widest, (tree, column)
    packs = dialog.packs_tree
    assert packs.topLevelItemCount() == 4
    viewport = packs.viewport().rect()
    for i in range(4):  # every pack in view without scrolling
        assert viewport.contains(packs.visualItemRect(packs.topLevelItem(i)))

    if os.environ.get("SEMEDIT_LAYOUT_SHOTS"):  # to look at it
        dialog.grab().save(str(Path(os.environ["SEMEDIT_LAYOUT_SHOTS"]) / "directions.png"))
    close = dialog.buttons.button(QDialogButtonBox.StandardButton.Close)
    assert close is not None and close.isVisible()
    qtbot.mouseClick(close, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()


def test_a_search_without_a_match_says_so(qtbot, setup):  # noqa: F811
    controller, _dialog = setup
    wait_ended(qtbot, controller.refresh())
    panel = EditsPanel(None)
    qtbot.addWidget(panel)
    panel.set_directions(controller.library.directions)
    panel.search_edit.setText("pc0")
    assert not panel.no_match_label.isVisibleTo(panel)
    assert panel.selected_direction() == "pc0"
    panel.search_edit.setText("xyz")
    assert panel.no_match_label.isVisibleTo(panel)
    assert panel.no_match_label.text() == "No direction matches 'xyz'."
    assert panel.direction_combo.count() == 0
    panel.search_edit.clear()
    assert not panel.no_match_label.isVisibleTo(panel)
