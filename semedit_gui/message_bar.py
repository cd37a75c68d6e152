"""An inline bar above the canvas for errors: readable, dismissable, never modal. It
says when the message list holds more than the one it shows, and opens it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget


class MessageBar(QFrame):
    shown = Signal(str)  # every text it shows (the window records it in the message log)
    history_requested = Signal()  # "All messages" was clicked

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setStyleSheet("#messageBar { background: #5c2b2b; color: white; }"
                           "#messageBar QLabel { color: white; }"
                           "#messageHistory { color: white; border: none;"
                           " text-decoration: underline; padding: 0 6px; }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        self.action_button = QPushButton()  # an offer that fixes the problem, when there is one
        self.action_button.clicked.connect(self._act)
        self._action: Callable[[], None] | None = None
        self._keep = False  # the offer on show outlives later errors
        self.history_button = QPushButton()  # shown while there are other messages too
        self.history_button.setObjectName("messageHistory")
        self.history_button.setToolTip("Every message of this session, in full")
        self.history_button.clicked.connect(self.history_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(self.history_button)
        layout.addWidget(close)
        self.action_button.hide()
        self.history_button.hide()
        self.hide()

    @property
    def keeping(self) -> bool:
        """Whether the bar shows an offer that later errors must not replace."""
        return self.isVisible() and self._action is not None and self._keep

    def show_text(self, text: str) -> None:
        """Show `text`, unless a kept offer is on show (`show_action(keep=True)`): then
        the text only reaches the message list, like every text shown."""
        if self.keeping:
            self.shown.emit(text)
            return
        self._display(text)

    def show_action(self, text: str, label: str, action: Callable[[], None], *,
                    keep: bool = False) -> None:
        """The text with a button that runs `action` (and dismisses the bar). `keep`:
        the offer stays until used or dismissed, for a problem whose follow-on errors
        would otherwise hide the way out (a project's missing generator)."""
        self._display(text)
        self._action = action
        self._keep = keep
        self.action_button.setText(label)
        self.action_button.show()

    def _display(self, text: str) -> None:
        self.label.setText(text)
        self._action = None
        self._keep = False
        self.action_button.hide()
        self.show()
        self.shown.emit(text)

    def set_message_count(self, count: int) -> None:
        """How many messages the list holds, the one shown here included."""
        self.history_button.setText(f"All messages ({count})")
        self.history_button.setVisible(count > 1)

    def _act(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""
