"""The History panel: every undo step, oldest first, after an "Opened" row.

Row i means "i steps done": clicking it undoes or redoes to there (`History.go_to`). The
current row is bold and selected; the steps after it, which Redo would bring back, are
greyed. While moving in the history must wait (an inversion is fitting the chunks,
`set_paused`), the list and the buttons are disabled and their tooltips say why.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from semedit_gui.panels.common import Reentry, SignalLinks, run_reporting

OPENED_LABEL = "Opened"


class HistoryPanel(QWidget):
    """The session's undo history; user errors go out as `message` sentences."""

    message = Signal(str)

    def __init__(self, session=None, parent: QWidget | None = None):
        super().__init__(parent)
        self._session = None
        self._links = SignalLinks()
        self._updating = Reentry()
        self._shown_labels: list[str] = []
        self._paused = ""  # why Undo and Redo wait now ("" when they do not)

        self.list = QListWidget(self)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.currentRowChanged.connect(self._on_current_row_changed)
        self.undo_button = QPushButton("Undo", self)
        self.undo_button.clicked.connect(self.undo)
        self.redo_button = QPushButton("Redo", self)
        self.redo_button.clicked.connect(self.redo)

        buttons = QHBoxLayout()
        buttons.addWidget(self.undo_button)
        buttons.addWidget(self.redo_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.set_session(session)

    # ----------------------------------------------------------------- public

    @property
    def session(self):
        return self._session

    def set_session(self, session) -> None:
        """Show `session`'s history (or nothing for None), forgetting the previous one."""
        self._links.disconnect_all()
        self._session = session
        if session is not None:
            self._links.connect(session.history_changed, self._on_history_changed)
        self.refresh()

    @property
    def paused(self) -> str:
        return self._paused

    def set_paused(self, reason: str) -> None:
        """`reason` not empty: Undo, Redo and the list wait, saying why; "" ends that."""
        if reason != self._paused:
            self._paused = reason
            self.refresh()

    def go_to(self, position: int) -> None:
        """Undo or redo until `position` steps are done (0: as opened)."""
        if self._session is None or self._refused():
            return
        # go_to emits one event per step: redraw once at the end, not for each.
        with self._updating():
            run_reporting(self.message.emit, self._session.doc.history.go_to, position)
        self.refresh()

    def undo(self) -> None:
        if self._session is not None and not self._refused():
            run_reporting(self.message.emit, self._session.doc.history.undo)

    def redo(self) -> None:
        if self._session is not None and not self._refused():
            run_reporting(self.message.emit, self._session.doc.history.redo)

    def refresh(self) -> None:
        """Show the history's steps and position (rows are rebuilt only if steps changed)."""
        history = self._session.doc.history if self._session is not None else None
        labels = [OPENED_LABEL, *history.labels] if history is not None else []
        with self._updating():
            if labels != self._shown_labels:
                self.list.clear()
                self.list.addItems(labels)
                self._shown_labels = labels
            position = history.index if history is not None else -1
            self._style_rows(position)
            self.list.setCurrentRow(position)
        paused = bool(self._paused)
        self.undo_button.setEnabled(history is not None and history.can_undo and not paused)
        self.redo_button.setEnabled(history is not None and history.can_redo and not paused)
        self.list.setEnabled(not paused)
        for widget in (self.undo_button, self.redo_button, self.list):
            widget.setToolTip(self._paused)
        if position >= 0:
            self.list.scrollToItem(self.list.item(position))

    # ----------------------------------------------------------------- internals

    def _refused(self) -> bool:
        if self._paused:
            self.message.emit(self._paused)
        return bool(self._paused)

    def _style_rows(self, position: int) -> None:
        palette = self.palette()
        normal = palette.color(QPalette.ColorGroup.Active, QPalette.ColorRole.Text)
        undone = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        for row in range(self.list.count()):
            item: QListWidgetItem = self.list.item(row)
            font = QFont(item.font())
            font.setBold(row == position)
            item.setFont(font)
            item.setForeground(undone if row > position else normal)
            item.setToolTip("Undone: Redo brings it back" if row > position else "")

    def _on_history_changed(self, _event) -> None:
        if not self._updating.active:
            self.refresh()

    def _on_current_row_changed(self, row: int) -> None:
        if not self._updating.active and row >= 0:
            self.go_to(row)
