"""The message list: every message of the session, newest first, with its time and
level, in full and word-wrapped; the text can be selected and copied. A view of
`semedit_gui.controllers.messages.MessageLog`."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from semedit_gui.controllers.messages import Message, MessageLog

LEVEL_WORDS = {"info": "Info", "warning": "Warning", "error": "Error"}
# Readable on the light and the dark palette alike; info takes the palette's own text.
LEVEL_COLOURS = {"info": "", "warning": "#d08a10", "error": "#d9534f"}
EMPTY_TEXT = "No messages yet."


def entry_html(message: Message) -> str:
    colour = LEVEL_COLOURS[message.level]
    style = f' style="color:{colour}"' if colour else ""
    return (f'<tr><td style="white-space:nowrap">{message.time:%H:%M:%S}</td>'
            f"<td{style}><b>{LEVEL_WORDS[message.level]}</b></td>"
            f"<td>{html.escape(message.text)}</td></tr>")


class MessagesPanel(QWidget):
    """The log's messages and a Clear button; Clear empties the log itself."""

    def __init__(self, log: MessageLog, parent: QWidget | None = None):
        super().__init__(parent)
        self.log = log
        self.view = QTextBrowser(self)
        self.view.setOpenLinks(False)
        self.view.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.view.setLineWrapMode(QTextBrowser.LineWrapMode.WidgetWidth)
        self.summary = QLabel(self)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.setToolTip("Forget every message in this list")
        self.clear_button.clicked.connect(log.clear)
        row = QHBoxLayout()
        row.addWidget(self.summary, 1)
        row.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        log.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        messages = self.log.newest_first
        self.clear_button.setEnabled(bool(messages))
        if not messages:
            self.summary.setText("")
            self.view.setPlainText(EMPTY_TEXT)
            return
        count, limit = len(messages), self.log.limit
        kept = f"; only the newest {limit} are kept" if count >= limit else ""
        self.summary.setText(f"{count} message{'s' if count != 1 else ''}, newest first{kept}")
        rows = "".join(entry_html(message) for message in messages)
        self.view.setHtml(f'<table width="100%" cellspacing="0" cellpadding="4">{rows}</table>')
