"""Undo and Redo wait while an inversion runs (`InversionController.history_paused`).

The Edit menu's Undo and Redo and the History panel are disabled then, their tooltips
saying why; Ctrl+Z and the other undo and redo keys are not swallowed silently: they
put the reason on the status line.
"""

from __future__ import annotations

from PySide6.QtGui import QShortcut


class HistoryPause:
    def __init__(self, window):
        self.window = window
        self.actions = (window.commands.undo, window.commands.redo)
        # Enabled only while paused: a disabled action's keys then reach these instead.
        self.shortcuts = [QShortcut(key, window) for action in self.actions
                          for key in action.shortcuts()]
        for shortcut in self.shortcuts:
            shortcut.setEnabled(False)
            shortcut.activated.connect(self.refuse)

    @property
    def reason(self) -> str:
        return self.window.inversion.history_paused

    def show(self) -> None:
        """Call after the actions were set for the history (`show_history`)."""
        reason = self.reason
        for action in self.actions:
            if reason:
                action.setEnabled(False)
            action.setToolTip(reason)  # "" gives back the default (the action's text)
            action.setStatusTip(reason)
        for shortcut in self.shortcuts:
            shortcut.setEnabled(bool(reason))
        self.window.history_panel.set_paused(reason)

    def refuse(self) -> None:
        if self.reason:
            self.window.show_message(self.reason)
