"""The default dock layout at real window sizes (offscreen, a photo open with chunks and
edits): at 1024×700 and 1400×900 every button of the Hair, Edits, Chunks and Inversion
panels lies inside the window, uncovered, and each edit row shows its slider.

SEMEDIT_LAYOUT_SHOTS=folder also saves a screenshot per size (to look at the layout)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QByteArray, QRect, Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QAbstractSpinBox, QWidget
from pytestqt.exceptions import TimeoutError

from semedit_gui.window.docks import LAYOUT_VERSION
from tests.gui.test_editor_workflow import make_window, open_photo, photo  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SIZES = ((1024, 700), (1400, 900))
PANELS = ("Hair", "Edits", "Chunks", "Inversion")


def controls(panel: QWidget) -> list[QWidget]:
    """The buttons, sliders and number boxes a user must reach in `panel`."""
    kinds = (QAbstractButton, QAbstractSlider, QAbstractSpinBox)
    found = [w for w in panel.findChildren(QWidget) if isinstance(w, kinds)]
    # Scroll bars of lists and tables are theirs, not the panel's controls.
    return [w for w in found if w.isVisibleTo(panel) and "ScrollBar" not in type(w).__name__]


def problems_of(window, widget: QWidget) -> str | None:
    """Why `widget` is not fully seen in `window`, or None."""
    top_left = widget.mapTo(window, widget.rect().topLeft())
    rect = QRect(top_left, widget.size())
    if not window.rect().contains(rect):
        return f"outside the window at {rect.getRect()}"
    status = window.statusBar().geometry()
    if rect.intersects(status):
        return "under the status bar"
    seen = widget.visibleRegion().boundingRect()
    if seen != widget.rect():
        return f"only {seen.getRect()} of {widget.rect().getRect()} is seen"
    return None


def open_with_edits(qtbot, window, photo: Path) -> None:  # noqa: F811
    window.ask_unsaved_changes = lambda: "discard"  # a failing test must not wait on a question
    open_photo(qtbot, window, photo)
    session = window.session
    size = session.doc.resolution
    for name, rows in (("face", slice(4, size - 4)), ("eyes", slice(8, 12)),
                       ("mouth", slice(20, 24))):
        mask = np.zeros((size, size), np.float32)
        mask[rows, 4:size - 4] = 1.0
        session.chunk_set.add(mask, name=name)
    # Directions come with an inversion; the layout only needs their names.
    from core.edit.directions import Direction

    directions = [Direction(name, "w", np.ones(8, np.float32), 1.0, source="ganspace")
                  for name in ("pc0", "pc1")]
    session.edit_stacks.directions = {d.name for d in directions}
    window.edits_panel.set_directions(directions)
    chunk = session.doc.chunks[0]
    session.select(chunk)
    for direction in ("pc0", "pc1"):
        session.edit_stacks.add(chunk, direction, 0.5)
    window.hair_panel.set_state(running=False, has_document=True, has_result=True)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_dock_is_usable_at_common_window_sizes(qtbot, tmp_path, photo, size):  # noqa: F811
    window = make_window(qtbot, tmp_path)
    open_with_edits(qtbot, window, photo)
    edits, chunks = window.docks["Edits"], window.docks["Chunks"]
    qtbot.waitUntil(lambda: edits.height() > chunks.height(), timeout=5000)  # the default
    window.resize(*size)
    qtbot.wait(100)
    # A layout that needs more room than the window has makes the window larger instead.
    assert (window.width(), window.height()) == size, window.minimumSizeHint()
    shots = os.environ.get("SEMEDIT_LAYOUT_SHOTS")
    found: dict[str, str] = {}
    for title in PANELS:
        dock = window.docks[title]
        panel = getattr(window, f"{title.lower()}_panel")
        dock.raise_()  # a tab behind another one comes to the front, as when clicked
        with contextlib.suppress(TimeoutError):  # until laid out; then say what is wrong
            qtbot.waitUntil(lambda p=panel: not any(problems_of(window, w)
                                                    for w in controls(p)), timeout=3000)
        for widget in controls(panel):
            why = problems_of(window, widget)
            if why:
                label = getattr(widget, "text", lambda w=widget: type(w).__name__)()
                found[f"{title}: {label or type(widget).__name__}"] = why
        if shots:
            window.grab().save(str(Path(shots) / f"layout_{size[0]}x{size[1]}_{title}.png"))
        if title == "Edits":
            rows = window.edits_panel.rows
            assert len(rows) == 2
            for row in rows:  # the whole slider and its value box of every edit
                for part in (row.slider, row.spin):
                    assert problems_of(window, part) is None, (size, part)
    assert not found, found
    window.close_discarding()


def test_hair_is_a_tab_beside_inversion_by_default(qtbot, tmp_path, photo):  # noqa: F811
    window = make_window(qtbot, tmp_path)
    open_photo(qtbot, window, photo)
    docks = window.docks
    assert window.tabifiedDockWidgets(docks["Inversion"]) == [docks["Hair"]]
    assert window.docks["Inversion"].isVisible()  # in front, Hair one click away
    right = Qt.DockWidgetArea.RightDockWidgetArea
    assert all(window.dockWidgetArea(docks[t]) == right for t in ("Chunks", "Edits", "History"))
    def edits_tallest() -> bool:  # the edit rows get the room (once the docks have shown)
        heights = {t: docks[t].height() for t in ("Chunks", "Edits", "History")}
        return heights["Edits"] == max(heights.values()) > 300

    qtbot.waitUntil(edits_tallest, timeout=5000)
    window.close_discarding()


def test_a_layout_saved_by_an_older_version_gives_way_to_the_new_default(qtbot, tmp_path,
                                                                         photo):  # noqa: F811
    old = make_window(qtbot, tmp_path)
    open_photo(qtbot, old, photo)
    for dock in old.docks.values():  # before: every dock in its own place, none tabbed
        old.removeDockWidget(dock)
    for title in ("Chunks", "Edits", "Hair"):
        old.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, old.docks[title])
        old.docks[title].show()
    old_state = bytes(old.saveState(0).toBase64()).decode()  # version 0: before the layouts
    old.close_discarding()

    window = make_window(qtbot, tmp_path, window_state=old_state)
    open_photo(qtbot, window, photo)
    assert not window.dock_layout.restored  # the old arrangement was not forced on it
    assert not window.restoreState(QByteArray.fromBase64(old_state.encode()), LAYOUT_VERSION)
    assert window.tabifiedDockWidgets(window.docks["Inversion"]) == [window.docks["Hair"]]
    window.close_discarding()


def test_long_hair_file_names_do_not_widen_the_dock(qtbot, tmp_path, photo):  # noqa: F811
    window = make_window(qtbot, tmp_path)
    open_with_edits(qtbot, window, photo)
    window.resize(1024, 700)
    dock = window.docks["Hair"]
    dock.raise_()
    qtbot.wait(200)
    width = dock.width()
    panel = window.hair_panel
    panel.set_hair_photo(tmp_path / "a portrait with a rather long name from the phone.jpg")
    panel.set_hair_mask(tmp_path / "the hair of that portrait painted by hand, final.png")
    qtbot.wait(200)
    assert dock.width() == width
    assert window.width() == 1024
    window.close_discarding()


def test_a_lower_window_than_the_forms_scrolls_them(qtbot, tmp_path, photo):  # noqa: F811
    window = make_window(qtbot, tmp_path)
    open_with_edits(qtbot, window, photo)
    window.resize(1024, 600)
    qtbot.wait(100)
    assert window.height() == 600  # the forms do not force the window taller
    dock = window.docks["Hair"]
    dock.raise_()
    area = dock.widget()
    button = window.hair_panel.apply_button
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() > 0, timeout=3000)
    area.ensureWidgetVisible(button)
    qtbot.waitUntil(lambda: problems_of(window, button) is None, timeout=3000)
    window.close_discarding()
