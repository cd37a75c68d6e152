"""The Segment Anything tool's view side: its actions and the canvas wiring.

What the clicks do lives in `SelectionController`; this connects the canvas's prompts to
it, shows its candidate mask on the canvas, and enables Enter (add to the selected chunk),
Shift+Enter (new chunk) and Escape (clear the clicks).
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence

from semedit_gui.controllers.selection import SelectionController


class SamTool(QObject):
    def __init__(self, window, selection: SelectionController, canvas):
        super().__init__(window)
        self.selection = selection
        self.canvas = canvas
        self.candidate_changed = selection.candidate_changed
        self.apply_action = QAction("Add Selection to Chunk", window)
        self.apply_action.setShortcut(QKeySequence("Return"))
        self.apply_action.triggered.connect(selection.add_to_selected_chunk)
        self.new_chunk_action = QAction("New Chunk from Selection", window)
        self.new_chunk_action.setShortcut(QKeySequence("Shift+Return"))
        self.new_chunk_action.triggered.connect(selection.new_chunk)
        self.clear_action = QAction("Clear Selection Clicks", window)
        self.clear_action.setShortcut(QKeySequence("Escape"))
        self.clear_action.triggered.connect(selection.clear)
        for action in (self.apply_action, self.new_chunk_action, self.clear_action):
            window.addAction(action)
        canvas.sam_prompt_changed.connect(selection.prompt)
        selection.candidate_changed.connect(self._show)
        selection.prompt_cleared.connect(self._clear_canvas_prompt)
        self._show(None)

    @property
    def candidate(self):
        return self.selection.candidate

    def _show(self, mask) -> None:
        self.canvas.set_sam_preview(mask)
        self.apply_action.setEnabled(mask is not None)
        self.new_chunk_action.setEnabled(mask is not None)

    def _clear_canvas_prompt(self) -> None:
        if hasattr(self.canvas, "clear_sam_prompt"):
            self.canvas.clear_sam_prompt()
