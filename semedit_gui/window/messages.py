"""The window's side of messages: the status line (elided to fit, the whole text in its
tooltip), the message log behind it, the red message bar for errors, a counter at the
right of the status bar, and the message list the counter opens (View ▸ Messages…)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from semedit_gui.controllers.messages import MessageLog
from semedit_gui.panels.messages_panel import MessagesPanel

STATUS_MS = 15_000  # how long a message stays on the status line (the log keeps it)
MESSAGES_SHORTCUT = "Ctrl+Shift+M"


class ElidedLine(QLabel):
    """One line of text that ends in "…" when it does not fit, instead of being cut at the
    window's edge; the whole text is its tooltip then. A click is `clicked`."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        # Its width comes from the status bar, never from the text it holds.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        self._full = " ".join(text.split())  # one line: newlines become spaces
        self._fit()

    def full_text(self) -> str:
        return self._full

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
                event.position().toPoint()):
            self.clicked.emit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        width = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                              max(width, 0))
        self.setText(shown)
        more = "Click for every message in full."
        self.setToolTip(f"{self._full}\n\n{more}" if shown != self._full else more)


class WindowMessages:
    """Every message the window shows goes through `show`, which also records it."""

    def __init__(self, window):
        self.window = window
        self.log = MessageLog(parent=window)
        self.dialog: QDialog | None = None  # the message list, once opened (reused)
        bar = window.statusBar()
        # QStatusBar draws its message clipped at the first permanent widget; this line,
        # first and stretching, takes the space and shows the same message elided.
        self.status_line = ElidedLine()
        bar.insertPermanentWidget(0, self.status_line, 1)
        bar.messageChanged.connect(self.status_line.set_full_text)
        self.status_line.set_full_text(bar.currentMessage())
        self.status_line.clicked.connect(self.open_list)
        self.counter = QToolButton()
        self.counter.setObjectName("messageCounter")
        self.counter.setAutoRaise(True)
        self.counter.clicked.connect(self.open_list)
        bar.addPermanentWidget(self.counter)
        window.message_bar.shown.connect(lambda text: self.log.add(text, "error"))
        # The bar shows the present: it goes when the document it was about does, and a
        # job's failure goes when a job of the same kind succeeds (the log keeps both).
        self._failing_kind = self._bar_kind = ""
        window.message_bar.shown.connect(self._bar_shown)
        window.documents.session_switching.connect(window.message_bar.hide)
        window.jobs.job_failed.connect(self._job_failed)  # before the failure is shown
        window.jobs.job_ended.connect(self._job_ended)
        window.message_bar.history_requested.connect(self.open_list)
        window.jobs.message.connect(self._job_line)
        self.log.added.connect(self._on_added)
        self.log.changed.connect(self._update_counters)
        self._update_counters()

    def show(self, text: str, error: bool = False) -> None:
        """The status line; errors also stay in the message bar until dismissed. Both end
        up in the log (an error through the bar, which records all it shows)."""
        self.window.statusBar().showMessage(text, STATUS_MS)
        if error:
            self.window.message_bar.show_text(text)
        else:
            self.log.add(text)

    def open_list(self) -> QDialog:
        """The message list, non-modal: the user reads it while working on."""
        if self.dialog is None:
            self.dialog = QDialog(self.window)
            self.dialog.setObjectName("messagesDialog")
            self.dialog.setWindowTitle("Messages")
            self.dialog.setModal(False)
            self.dialog.resize(640, 420)
            layout = QVBoxLayout(self.dialog)
            layout.setContentsMargins(0, 0, 0, 0)
            layout.addWidget(MessagesPanel(self.log, self.dialog))
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        self.log.mark_read()
        return self.dialog

    @property
    def panel(self) -> MessagesPanel | None:
        return self.dialog.findChild(MessagesPanel) if self.dialog is not None else None

    def _job_failed(self, task, _reason: str) -> None:
        self._failing_kind = task.kind

    def _bar_shown(self, _text: str) -> None:
        self._bar_kind, self._failing_kind = self._failing_kind, ""

    def _job_ended(self, task) -> None:
        self._failing_kind = ""
        if (task.state == "done" and task.kind and task.kind == self._bar_kind
                and not self.window.message_bar.keeping):
            self.window.message_bar.hide()  # e.g. Auto Chunks worked on the next photo
            self._bar_kind = ""

    def _job_line(self, text: str) -> None:
        # "Saving x…" lines only say a job runs (they clear when it ends); a job's other
        # lines ("x was stopped; nothing was changed.") are worth keeping.
        if not text.endswith("…"):
            self.log.add(text)

    def _on_added(self, _message) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.log.mark_read()  # it is in front of the user already

    def _update_counters(self) -> None:
        log, counter = self.log, self.counter
        count = len(log)
        text = {0: "No messages", 1: "1 message"}.get(count, f"{count} messages")
        counter.setText(f"{text} · {log.unread} new" if log.unread else text)
        counter.setToolTip(f"Every message of this session, in full ({MESSAGES_SHORTCUT})")
        # Unread errors stand out; the list marks them read.
        counter.setStyleSheet("#messageCounter { color: #d9534f; font-weight: bold; }"
                              if log.unread_errors else "")
        self.window.message_bar.set_message_count(count)
