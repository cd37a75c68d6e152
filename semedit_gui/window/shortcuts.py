"""The window's own Ctrl/Alt shortcuts work wherever the keyboard focus is in it.

A text field or spin box claims some Ctrl+letter keys before shortcuts see them (Qt's
ShortcutOverride): on Linux, QLineEdit takes Ctrl+E (end of line) and Ctrl+U (delete to
the start of the line), so Ctrl+E did not export while the cursor was in Steps or in
"Search directions". `ShortcutsFirst` lets the window's enabled actions have such keys,
except the editing keys a user expects a text field to keep (copy, paste, undo, select
all, delete a word, ...). Plain keys (letters for the tools, [ and ]) stay the field's:
typing never triggers a tool.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QWidget

_std = QKeySequence.StandardKey
# What a focused text field, spin box or list keeps even when an action has the same keys.
EDITING_KEYS = (_std.Copy, _std.Cut, _std.Paste, _std.Undo, _std.Redo, _std.SelectAll,
                _std.Delete, _std.Backspace, _std.DeleteStartOfWord, _std.DeleteEndOfWord,
                _std.DeleteCompleteLine, _std.MoveToNextWord, _std.MoveToPreviousWord,
                _std.SelectNextWord, _std.SelectPreviousWord, _std.MoveToStartOfDocument,
                _std.MoveToEndOfDocument, _std.SelectStartOfDocument,
                _std.SelectEndOfDocument)
COMMAND_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                     | Qt.KeyboardModifier.MetaModifier)


def pressed_sequence(event: QKeyEvent) -> QKeySequence:
    """The keys of `event` as a one-key sequence (keypad flag dropped)."""
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return QKeySequence(Qt.Key(event.key()) | modifiers)


def window_action_for(window: QWidget, keys: QKeySequence) -> QAction | None:
    """The enabled action of `window` whose shortcut is exactly `keys`, or None."""
    for action in window.findChildren(QAction):
        if action.isEnabled() and any(shortcut.matches(keys) == QKeySequence.SequenceMatch
                                      .ExactMatch for shortcut in action.shortcuts()):
            return action
    return None


def window_takes(window: QWidget, event: QKeyEvent) -> bool:
    """Whether `event` (a ShortcutOverride in `window`) belongs to one of the window's
    commands rather than to the focused widget."""
    if not event.modifiers() & COMMAND_MODIFIERS:
        return False  # typing: letters, digits, [ ] go to the field
    if any(event.matches(key) for key in EDITING_KEYS):
        return False
    return window_action_for(window, pressed_sequence(event)) is not None


class ShortcutsFirst(QObject):
    """Installed on the application for `window` (removed when the window goes)."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self._window = window
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(watched, QWidget)
                and watched.window() is self._window and window_takes(self._window, event)):
            event.ignore()  # not overridden: the shortcut map triggers the action
            return True  # the focused widget never claims the keys
        return False
