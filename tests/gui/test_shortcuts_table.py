"""The Keyboard Shortcuts table: no row numbers, and its columns fill the table's width."""

from __future__ import annotations

import pytest

from tests.gui.test_editor_workflow import make_window

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_shortcuts_table_has_no_row_numbers_and_fills_its_width(qtbot, tmp_path):
    from semedit_gui.dialogs.help_dialogs import ShortcutsDialog

    window = make_window(qtbot, tmp_path)
    dialog = ShortcutsDialog(window)
    dialog.show()
    qtbot.waitExposed(dialog)
    table = dialog.table
    assert not table.verticalHeader().isVisible()
    header = table.horizontalHeader()
    qtbot.waitUntil(lambda: header.length() == table.viewport().width(), timeout=3000)
    keys = max(table.fontMetrics().horizontalAdvance(table.item(r, 1).text())
               for r in range(table.rowCount()))
    assert header.sectionSize(1) > keys  # the keys whole, the command takes the rest
    assert header.sectionSize(0) > header.sectionSize(1)
    dialog.close()
    dialog.deleteLater()
    window.close_discarding()
