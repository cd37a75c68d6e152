"""The editor's dialogs: models, preferences and export."""

from semedit_gui.dialogs.export_dialog import ExportDialog, ExportOptions
from semedit_gui.dialogs.model_manager import ModelManagerDialog
from semedit_gui.dialogs.preferences import PreferencesDialog
from semedit_gui.theme import apply_theme

__all__ = [
    "ExportDialog",
    "ExportOptions",
    "ModelManagerDialog",
    "PreferencesDialog",
    "apply_theme",
]
