"""The message log: every sentence the app said to the user, with its time and level,
kept so that it can be read at leisure after the status line has moved on.

A QObject without widgets; the window's message list and status-bar counter are views of
it (`semedit_gui.window.messages`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QObject, Signal

from core.errors import InvalidInputError

LEVELS = ("info", "warning", "error")
MESSAGE_LIMIT = 200  # the oldest go first: a long session must not grow without bound


@dataclass(frozen=True)
class Message:
    time: datetime
    text: str
    level: str  # one of LEVELS


class MessageLog(QObject):
    """The newest `limit` messages, oldest first, and how many arrived since the user last
    read them."""

    added = Signal(object)  # Message
    changed = Signal()  # after every add, clear and mark_read

    def __init__(self, limit: int = MESSAGE_LIMIT, *,
                 clock: Callable[[], datetime] = datetime.now, parent: QObject | None = None):
        super().__init__(parent)
        if limit < 1:
            raise InvalidInputError(f"A message log keeps at least one message, not {limit}.")
        self._entries: deque[Message] = deque(maxlen=limit)
        self._clock = clock
        self._unread = 0

    def add(self, text: str, level: str = "info") -> Message | None:
        """Record `text`; blank text is not a message and is ignored."""
        if level not in LEVELS:
            raise InvalidInputError(f"A message level is one of {', '.join(LEVELS)}, "
                                    f"not {level!r}.")
        text = text.strip()
        if not text:
            return None
        message = Message(self._clock(), text, level)
        self._entries.append(message)
        self._unread = min(self._unread + 1, len(self._entries))
        self.added.emit(message)
        self.changed.emit()
        return message

    def clear(self) -> None:
        self._entries.clear()
        self._unread = 0
        self.changed.emit()

    def mark_read(self) -> None:
        """The user has seen the list: nothing is new any more."""
        if self._unread:
            self._unread = 0
            self.changed.emit()

    @property
    def entries(self) -> list[Message]:
        """Oldest first."""
        return list(self._entries)

    @property
    def newest_first(self) -> list[Message]:
        return list(reversed(self._entries))

    @property
    def unread(self) -> int:
        return self._unread

    @property
    def unread_errors(self) -> int:
        return sum(1 for m in list(self._entries)[len(self._entries) - self._unread:]
                   if m.level == "error")

    @property
    def limit(self) -> int:
        return self._entries.maxlen or 0

    def __len__(self) -> int:
        return len(self._entries)
