"""An inline bar above the canvas for errors: readable, dismissable, never modal."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget


class MessageBar(QFrame):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setStyleSheet("#messageBar { background: #5c2b2b; color: white; }"
                           "#messageBar QLabel { color: white; }")
        self.label = QLabel()
        self.label.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        self.action_button = QPushButton()  # an offer that fixes the problem, when there is one
        self.action_button.clicked.connect(self._act)
        self._action: Callable[[], None] | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(close)
        self.action_button.hide()
        self.hide()

    def show_text(self, text: str) -> None:
        self.label.setText(text)
        self._action = None
        self.action_button.hide()
        self.show()

    def show_action(self, text: str, label: str, action: Callable[[], None]) -> None:
        """The text with a button that runs `action` (and dismisses the bar)."""
        self.show_text(text)
        self._action = action
        self.action_button.setText(label)
        self.action_button.show()

    def _act(self) -> None:
        action, self._action = self._action, None
        self.hide()
        if action is not None:
            action()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""
