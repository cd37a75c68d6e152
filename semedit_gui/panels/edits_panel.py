"""The Edits panel: the selected chunk's edit stack as sliders, and a direction picker.

Changes go through the session's `EditStacks`. A slider drag is one undo step
(`begin_drag` on press, `end_drag` on release); keyboard and wheel moves outside a drag
are a step each. Rows are rebuilt only when the list of edits or the selection changes;
strength and on/off changes, including the ones a drag makes, update the rows in place.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.edit.stack import EditStackEvent
from core.project.document import Chunk, Edit
from semedit_gui.panels.common import SignalLinks, run_reporting

if TYPE_CHECKING:  # core.edit.directions loads torch; the panel only reads attributes
    from core.edit.directions import Direction

# core.edit.directions offers no per-direction slider range: strength ±1 is already a
# clearly visible change (SLIDER_SIGMAS), so ±3 leaves room for strong edits.
SLIDER_SPAN = 3.0
SLIDER_STEPS_PER_UNIT = 100
SPIN_LIMIT = 100.0  # typed values may go beyond the slider
SOURCE_TITLES = {"ganspace": "GANSpace components", "supervised": "Fitted to face measurements",
                 "pack": "Packs", "imported": "Imported", "user": "Custom"}
# Named directions first; GANSpace components (unnamed, pcN) last.
SOURCE_ORDER = ("supervised", "pack", "imported", "user", "ganspace")
ONLY_GANSPACE_HINT = ("Only unnamed GANSpace components so far: open Directions… (Edit menu) "
                      "to compute named ones (head turn, mouth open…) or download a pack.")
NO_CHUNK_TEXT = "Select a chunk to see and change its edits."
NOT_INVERTED_HINT = "Invert the chunk first to preview edits."
_DIRECTION_ROLE = Qt.ItemDataRole.UserRole + 1


def strength_to_slider(strength: float) -> int:
    limit = round(SLIDER_SPAN * SLIDER_STEPS_PER_UNIT)
    return max(-limit, min(limit, round(strength * SLIDER_STEPS_PER_UNIT)))


def slider_to_strength(value: int) -> float:
    return value / SLIDER_STEPS_PER_UNIT


class EditRow(QFrame):
    """One edit: on/off, name, slider with exact value, reset, reorder, remove.

    The panel connects the controls; the row only shows values (`show_values`).
    """

    def __init__(self, edit: Edit, direction: Direction | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.edit = edit  # identity: which Edit of the chunk this row shows
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.enabled_box = QCheckBox(self)
        self.enabled_box.setToolTip("Apply this edit (off keeps its strength)")
        self.name_label = QLabel(direction.shown_name if direction is not None
                                 else edit.direction, self)
        if direction is None:
            self.name_label.setToolTip(f"{edit.direction!r} is not in the direction library "
                                       "of the current generator.")
        else:
            self.name_label.setToolTip(direction.description or direction.name)
        self.reset_button = self._tool_button("Reset", "Set the strength to 0")
        self.up_button = self._tool_button("▲", "Move the edit up the list")
        self.down_button = self._tool_button("▼", "Move the edit down the list")
        self.remove_button = self._tool_button("✕", "Remove this edit")
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        limit = round(SLIDER_SPAN * SLIDER_STEPS_PER_UNIT)
        self.slider.setRange(-limit, limit)
        self.slider.setSingleStep(5)
        self.slider.setPageStep(25)
        self.slider.setToolTip(f"Strength from {-SLIDER_SPAN:g} to {SLIDER_SPAN:g}")
        self.spin = QDoubleSpinBox(self)
        self.spin.setRange(-SPIN_LIMIT, SPIN_LIMIT)
        self.spin.setDecimals(3)
        self.spin.setSingleStep(0.05)
        self.spin.setKeyboardTracking(False)  # one change when typing ends, not per key
        self.spin.setToolTip("Exact strength")

        layout = QGridLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        top = QHBoxLayout()
        top.addWidget(self.enabled_box)
        top.addWidget(self.name_label, 1)
        for button in (self.reset_button, self.up_button, self.down_button, self.remove_button):
            top.addWidget(button)
        layout.addLayout(top, 0, 0, 1, 2)
        layout.addWidget(self.slider, 1, 0)
        layout.addWidget(self.spin, 1, 1)
        self.show_values(edit)

    def _tool_button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        return button

    def show_values(self, edit: Edit) -> None:
        """Show the edit's strength and state without emitting the controls' signals."""
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin), \
                QSignalBlocker(self.enabled_box):
            self.slider.setValue(strength_to_slider(edit.strength))
            self.spin.setValue(edit.strength)
            self.enabled_box.setChecked(edit.enabled)
        self.name_label.setEnabled(edit.enabled)


class EditsPanel(QWidget):
    """The edit stack of `session.selected`; user errors go out as `message` sentences."""

    message = Signal(str)

    def __init__(self, session=None, parent: QWidget | None = None):
        super().__init__(parent)
        self._session = None
        self._links = SignalLinks()
        self._chunk: Chunk | None = None
        self._directions: dict[str, Direction] = {}
        self._rows: list[EditRow] = []
        self._dragging = False

        self.title_label = QLabel(NO_CHUNK_TEXT, self)
        self.title_label.setWordWrap(True)
        self.hint_label = QLabel(NOT_INVERTED_HINT, self)
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet("color: palette(placeholder-text); font-style: italic;")
        self.direction_combo = QComboBox(self)
        self.direction_combo.setModel(QStandardItemModel(self.direction_combo))
        self.direction_combo.setSizePolicy(QSizePolicy.Policy.Expanding,
                                           QSizePolicy.Policy.Fixed)
        self.direction_combo.setToolTip("Direction to add to the chunk")
        self.direction_combo.currentIndexChanged.connect(self._on_direction_chosen)
        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText("Search directions")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(lambda _text: self._fill_picker())
        self.directions_hint = QLabel(ONLY_GANSPACE_HINT, self)
        self.directions_hint.setWordWrap(True)
        self.directions_hint.setStyleSheet("color: palette(placeholder-text); font-style: italic;")
        self.directions_hint.setVisible(False)
        self.no_match_label = QLabel(self)  # the search found nothing: say so, not a blank
        self.no_match_label.setWordWrap(True)
        self.no_match_label.setVisible(False)
        self.add_button = QPushButton("Add edit", self)
        self.add_button.clicked.connect(lambda: self.add_edit())
        self.clear_button = QPushButton("Clear all", self)
        self.clear_button.setToolTip("Remove every edit of this chunk (undoable)")
        self.clear_button.clicked.connect(self.clear_edits)

        self._rows_widget = QWidget()
        self._rows_layout = QVBoxLayout(self._rows_widget)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the rows, not their frame
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self._rows_widget)

        picker = QHBoxLayout()
        picker.addWidget(self.direction_combo, 1)
        picker.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title_label)
        layout.addWidget(self.hint_label)
        layout.addWidget(self.directions_hint)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.no_match_label)
        layout.addLayout(picker)
        layout.addWidget(scroll, 1)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.clear_button)
        layout.addLayout(bottom)
        self._order_tab_chain()
        self.set_session(session)

    # ----------------------------------------------------------------- public

    @property
    def session(self):
        return self._session

    @property
    def rows(self) -> list[EditRow]:
        """The rows shown, in the order of the chunk's edits."""
        return list(self._rows)

    def set_session(self, session) -> None:
        """Show `session` (or nothing for None), forgetting the previous one."""
        self._end_drag()
        self._links.disconnect_all()
        self._session = session
        if session is not None:
            self._links.connect(session.selection_changed, self._on_selection_changed)
            self._links.connect(session.edits_changed, self._on_edits_changed)
            self._links.connect(session.chunks_changed, self._on_chunks_changed)
            self._links.connect(session.history_changed, self._on_history_changed)
        self._sync()

    def set_directions(self, directions: list[Direction]) -> None:
        """Fill the picker with the names shown, named directions first: fitted ones, each
        pack, imported, custom, then the GANSpace components."""
        self._directions = {d.name: d for d in directions}
        self.directions_hint.setVisible(
            bool(directions) and all(d.source == "ganspace" for d in directions))
        self._fill_picker()
        self._rebuild_rows()  # names may now be (un)known
        self._update_controls()

    def picker_groups(self) -> list[tuple[str, list[Direction]]]:
        """(heading, directions) in picker order, filtered by the search text."""
        words = self.search_edit.text().lower().split()

        def wanted(d: Direction) -> bool:
            text = f"{d.shown_name} {d.name} {d.description} {d.group}".lower()
            return all(word in text for word in words)

        directions = [d for d in self._directions.values() if wanted(d)]
        rank = {source: i for i, source in enumerate(SOURCE_ORDER)}
        headings: dict[str, list[Direction]] = {}
        for d in sorted(directions, key=lambda d: (rank.get(d.source, len(rank)),
                                                   d.group or "", d.source)):
            heading = d.group or SOURCE_TITLES.get(d.source, d.source.title())
            headings.setdefault(heading, []).append(d)
        return list(headings.items())

    def _fill_picker(self) -> None:
        previous = self.selected_direction()
        model: QStandardItemModel = self.direction_combo.model()
        blocked = self.direction_combo.blockSignals(True)
        model.clear()
        for heading, group in self.picker_groups():
            header = QStandardItem(heading)
            header.setFlags(Qt.ItemFlag.NoItemFlags)  # a heading, not a choice
            font = QFont(header.font())
            font.setBold(True)
            header.setFont(font)
            model.appendRow(header)
            for direction in group:
                item = QStandardItem("    " + direction.shown_name)
                item.setData(direction.name, _DIRECTION_ROLE)
                item.setToolTip(direction.description or direction.name)
                model.appendRow(item)
        self.direction_combo.setCurrentIndex(self._combo_row(previous))
        self.direction_combo.blockSignals(blocked)
        search = self.search_edit.text().strip()
        self.no_match_label.setText(f"No direction matches '{search}'.")
        self.no_match_label.setVisible(bool(search and self._directions)
                                       and model.rowCount() == 0)
        self._on_direction_chosen()

    def selected_direction(self) -> str | None:
        """The direction name chosen in the picker, or None."""
        return self.direction_combo.currentData(_DIRECTION_ROLE)

    def select_direction(self, name: str) -> None:
        self.direction_combo.setCurrentIndex(self._combo_row(name))

    def add_edit(self, name: str | None = None) -> None:
        """Add an edit at strength 0 along `name` (default: the picker's choice)."""
        name = name or self.selected_direction()
        if self._chunk is None or not name:
            return
        run_reporting(self.message.emit, self._session.edit_stacks.add, self._chunk, name, 0.0)

    def clear_edits(self) -> None:
        if self._chunk is not None:
            run_reporting(self.message.emit, self._session.edit_stacks.clear, self._chunk)

    # ----------------------------------------------------------------- session events

    def _on_selection_changed(self, _chunk) -> None:
        self._end_drag()
        self._sync()

    def _on_edits_changed(self, event: EditStackEvent) -> None:
        if event.chunk is not self._chunk:
            return
        if event.kind != "list" and event.index is not None and event.index < len(self._rows) \
                and self._rows[event.index].edit is event.chunk.edits[event.index]:
            self._rows[event.index].show_values(event.chunk.edits[event.index])
            self._update_controls()
        else:
            self._sync()

    def _on_chunks_changed(self, event) -> None:
        if event.kind != "mask":
            self._sync()  # a rename or a removal of the shown chunk

    def _on_history_changed(self, event) -> None:
        if event.kind in ("undo", "redo"):
            self._sync()  # undoing an inversion changes the code (and so the hint)

    # ----------------------------------------------------------------- showing

    def _sync(self) -> None:
        """Show the selected chunk: rebuild rows only if its list of edits changed."""
        chunk = self._session.selected if self._session is not None else None
        shown = [row.edit for row in self._rows]
        current = chunk.edits if chunk is not None else []
        if chunk is not self._chunk or len(shown) != len(current) \
                or any(a is not b for a, b in zip(shown, current, strict=True)):
            self._chunk = chunk
            self._rebuild_rows()
        else:
            for row, edit in zip(self._rows, current, strict=True):
                row.show_values(edit)
        self._update_controls()

    def _rebuild_rows(self) -> None:
        self._end_drag()
        for row in self._rows:
            # Not setParent(None): that would make it a top-level window until deleted.
            self._rows_layout.removeWidget(row)
            row.hide()
            row.deleteLater()
        self._rows = []
        edits = self._chunk.edits if self._chunk is not None else []
        for position, edit in enumerate(edits):
            row = EditRow(edit, self._directions.get(edit.direction), self._rows_widget)
            self._connect_row(row)
            row.up_button.setEnabled(position > 0)
            row.down_button.setEnabled(position < len(edits) - 1)
            self._rows_layout.insertWidget(position, row)
            self._rows.append(row)
        self._order_tab_chain()

    def _order_tab_chain(self) -> None:
        """Tab walks the panel top to bottom, through each row's controls (rows made later
        would otherwise come last in the whole window, after the status bar)."""
        chain = [self.search_edit, self.direction_combo, self.add_button]
        for row in self._rows:
            chain += [row.enabled_box, row.reset_button, row.up_button, row.down_button,
                      row.remove_button, row.slider, row.spin]
        chain.append(self.clear_button)
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _update_controls(self) -> None:
        chunk = self._chunk
        has_chunk = chunk is not None
        if has_chunk:
            self.title_label.setText(f"Edits of {chunk.name}")
        else:
            self.title_label.setText(NO_CHUNK_TEXT)
        self.hint_label.setVisible(has_chunk and chunk.code is None)
        self.direction_combo.setEnabled(has_chunk and bool(self._directions))
        self.add_button.setEnabled(has_chunk and self.selected_direction() is not None)
        self.clear_button.setEnabled(has_chunk and bool(chunk.edits))

    def _on_direction_chosen(self, _index: int = -1) -> None:
        name = self.selected_direction()
        direction = self._directions.get(name) if name else None
        self.direction_combo.setToolTip(
            (direction.description or direction.name) if direction is not None
            else "Direction to add to the chunk")
        self._update_controls()

    def _combo_row(self, name: str | None) -> int:
        """The picker row of `name`, else the first direction's row, else -1."""
        model: QStandardItemModel = self.direction_combo.model()
        names = {row: model.item(row).data(_DIRECTION_ROLE) for row in range(model.rowCount())}
        choices = [row for row, value in names.items() if value is not None]
        return next((row for row in choices if names[row] == name),
                    choices[0] if choices else -1)

    # ----------------------------------------------------------------- row controls

    def _connect_row(self, row: EditRow) -> None:
        row.slider.sliderPressed.connect(lambda: self._begin_drag(row))
        row.slider.sliderReleased.connect(self._end_drag)
        row.slider.valueChanged.connect(
            lambda value: self._set_strength(row, slider_to_strength(value)))
        row.spin.valueChanged.connect(lambda value: self._set_strength(row, value))
        row.enabled_box.toggled.connect(lambda on: self._edit_call(row, "set_enabled", on))
        row.reset_button.clicked.connect(lambda: self._set_strength(row, 0.0))
        row.remove_button.clicked.connect(lambda: self._edit_call(row, "remove"))
        row.up_button.clicked.connect(lambda: self._move(row, -1))
        row.down_button.clicked.connect(lambda: self._move(row, +1))

    def _index_of(self, row: EditRow) -> int | None:
        edits = self._chunk.edits if self._chunk is not None else []
        return next((i for i, e in enumerate(edits) if e is row.edit), None)

    def _edit_call(self, row: EditRow, operation: str, *args) -> None:
        """EditStacks.`operation`(chunk, index of the row's edit, *args), errors reported."""
        index = self._index_of(row)
        if index is None or self._session is None:
            return
        run_reporting(self.message.emit, getattr(self._session.edit_stacks, operation),
                      self._chunk, index, *args)

    def _set_strength(self, row: EditRow, value: float) -> None:
        self._edit_call(row, "set_strength", float(value))

    def _move(self, row: EditRow, step: int) -> None:
        index = self._index_of(row)
        if index is not None and 0 <= index + step < len(self._chunk.edits):
            self._edit_call(row, "move", index + step)

    def _begin_drag(self, row: EditRow) -> None:
        if self._session is None or self._dragging:
            return
        self._session.edit_stacks.begin_drag(f"Adjust {row.edit.direction}")
        self._dragging = True

    def _end_drag(self) -> None:
        if self._dragging:
            self._dragging = False
            self._session.edit_stacks.end_drag()
