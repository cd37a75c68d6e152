"""The window's ways into the model manager: the menu entry, the welcome page's Download
and Import, and the offer made when a job needs a model that is not installed."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from core.errors import ModelMissingError, SemeditError
from semedit_gui.dialogs import ModelManagerDialog


class ModelDialogs:
    def __init__(self, window):
        self.window = window

    def store(self):
        from core.models.validation import open_model_store  # files checked before trust

        return open_model_store(self.window.settings.models_dir or None)

    def store_or_none(self):
        try:
            return self.store()
        except SemeditError:
            return None

    def report_failure(self, task, reason: str) -> None:
        """Show a failed job; a missing model gets the download offer."""
        window, error = self.window, task.exception
        if not (isinstance(error, ModelMissingError) and error.asset_id):
            window.show_message(task.error or "Something went wrong.", error=True)
            return
        # The core sentence names command-line steps; in the app, the dialog is the way.
        window.show_message(f"{reason} needs the model '{error.asset_id}', which is not "
                            "installed yet. Download it in the dialog that opened, or later "
                            "with Models ▸ Model Manager.", error=True)
        if not window.shutdown.started:
            self._watch(ModelManagerDialog.offer(window, self.store, error.asset_id, reason))

    def open_manager(self) -> None:
        dialog = ModelManagerDialog(self.store, self.window)
        self._watch(dialog)
        dialog.exec()
        dialog.deleteLater()

    def download(self, asset_id: str) -> ModelManagerDialog:
        """The model manager, downloading `asset_id` (the welcome page's Download)."""
        dialog = self._dialog(asset_id)
        dialog.download_selected()
        return dialog

    def import_file(self, asset_id: str, path: Path | None = None) -> ModelManagerDialog | None:
        """Import a file the user already has as `asset_id` (checked before it is used)."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self.window,
                                                    f"Choose your copy of {asset_id}")
            if not chosen:
                return None
            path = Path(chosen)
        dialog = self._dialog(asset_id)
        dialog.import_file(path)
        return dialog

    def _dialog(self, asset_id: str) -> ModelManagerDialog:
        dialog = ModelManagerDialog(self.store, self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._watch(dialog)
        dialog.select_asset(asset_id)
        dialog.show()
        return dialog

    def _watch(self, dialog: ModelManagerDialog | None) -> None:
        if dialog is not None:
            dialog.models_changed.connect(self._changed)

    def _changed(self) -> None:
        self.window.show_message("Models updated.")
        if self.window.session is None:
            self.window.refresh_welcome()
