"""The main window's dock panels: chunks, edits, history, inversion and hair transfer.
Panels are views: they show a session or a controller's state and emit what the user
asked for."""

from semedit_gui.panels.chunks_panel import ChunksPanel
from semedit_gui.panels.edits_panel import EditsPanel
from semedit_gui.panels.hair_panel import HairPanel
from semedit_gui.panels.history_panel import HistoryPanel
from semedit_gui.panels.inversion_panel import InversionPanel

__all__ = ["ChunksPanel", "EditsPanel", "HairPanel", "HistoryPanel", "InversionPanel"]
