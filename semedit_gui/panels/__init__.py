"""The main window's dock panels: chunks, edits and history of the open session."""

from semedit_gui.panels.chunks_panel import ChunksPanel
from semedit_gui.panels.edits_panel import EditsPanel
from semedit_gui.panels.history_panel import HistoryPanel

__all__ = ["ChunksPanel", "EditsPanel", "HistoryPanel"]
