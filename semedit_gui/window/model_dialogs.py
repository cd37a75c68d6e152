"""The window's ways into the model manager: the menu entry, the welcome page's Download
and Import, and the offer made when a job needs a model that is not installed.

A missing VGG16 (the LPIPS loss) is no dead end: the L2 loss works without it, so its
notice offers to run with L2, and it goes away once a run has succeeded, the loss no
longer uses LPIPS, or the weights are installed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from core.errors import ModelMissingError, SemeditError
from core.models.loaded import ModelChoice
from semedit_gui.dialogs import ModelManagerDialog

# The features whose panel has a Loss choice and a run button, by the job's reason.
LOSS_PANELS = {"Inversion": "inversion_panel", "Hair transfer": "hair_panel"}


@dataclass(frozen=True)
class MissingNotice:
    """The message bar's text about a missing model, while it may be shown."""

    asset_id: str
    kind: str
    text: str


class ModelDialogs:
    def __init__(self, window):
        self.window = window
        self.notice: MissingNotice | None = None
        self._watched_panels: set[str] = set()
        # A run that succeeded did not need what was missing (or it is there now).
        window.inversion.finished.connect(lambda _metrics, _stopped: self.clear_notice("vgg"))
        window.hair.outcome_changed.connect(
            lambda outcome: outcome is not None and self.clear_notice("vgg"))

    def store(self):
        from core.models.validation import open_model_store  # files checked before trust

        return open_model_store(self.window.settings.models_dir or None)

    def store_or_none(self):
        try:
            return self.store()
        except SemeditError:
            return None

    def choice(self) -> ModelChoice:
        """The models chosen in Preferences (what the in-use marks describe)."""
        return self.window.settings.model_choice()

    def report_failure(self, task, reason: str) -> None:
        """Show a failed job; a missing model gets the download offer."""
        window, error = self.window, task.exception
        if not (isinstance(error, ModelMissingError) and error.asset_id):
            window.show_message(task.error or "Something went wrong.", error=True)
            return
        kind = self._kind_of(error.asset_id)
        alternative = None
        if kind == "vgg":
            text = (f"{reason} uses the LPIPS loss, which needs the VGG16 weights "
                    f"('{error.asset_id}'), not installed yet. The L2 loss works without "
                    "them: run with L2, or download the weights in the dialog that opened.")
            panel = LOSS_PANELS.get(reason)
            if panel is not None:
                alternative = ("Run with L2", lambda: self.run_with_l2(panel))
                self._watch_loss(panel)
        else:  # the core sentence names command-line steps; in the app, the dialog is the way
            text = (f"{reason} needs the model '{error.asset_id}', which is not installed yet. "
                    "Download it in the dialog that opened, or later with Models ▸ Model "
                    "Manager.")
        self._show_notice(MissingNotice(error.asset_id, kind, text), alternative)
        if not window.shutdown.started:
            self._watch(ModelManagerDialog.offer(
                window, self.store, error.asset_id, reason, choice=self.choice,
                alternative=(f"{alternative[0]} instead", alternative[1]) if alternative
                else None))

    def run_with_l2(self, panel_name: str) -> None:
        """Choose L2 as the panel's loss and run it again (when it can run now)."""
        panel = getattr(self.window, panel_name)
        panel.loss.setCurrentIndex(panel.loss.findData("l2"))
        if panel.run_button.isEnabled():
            panel.run_button.click()

    def clear_notice(self, kind: str | None = None) -> None:
        """Hide the missing-model notice (of `kind`, when given) if the bar still shows it."""
        notice = self.notice
        if notice is None or (kind is not None and notice.kind != kind):
            return
        self.notice = None
        bar = self.window.message_bar
        if bar.isVisible() and bar.label.text() == notice.text:
            bar.hide()

    def open_manager(self) -> None:
        dialog = ModelManagerDialog(self.store, self.window, choice=self.choice)
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
        dialog = ModelManagerDialog(self.store, self.window, choice=self.choice)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._watch(dialog)
        dialog.select_asset(asset_id)
        dialog.show()
        return dialog

    def _show_notice(self, notice: MissingNotice, alternative) -> None:
        window = self.window
        window.statusBar().showMessage(notice.text, 15000)
        if alternative is None:
            window.message_bar.show_text(notice.text)
        else:
            window.message_bar.show_action(notice.text, *alternative)
        self.notice = notice

    def _watch_loss(self, panel_name: str) -> None:
        """Once the panel's loss no longer uses LPIPS, the VGG notice has nothing to say."""
        if panel_name in self._watched_panels:
            return
        self._watched_panels.add(panel_name)
        combo = getattr(self.window, panel_name).loss
        combo.currentIndexChanged.connect(
            lambda _i: "lpips" not in (combo.currentData() or "") and self.clear_notice("vgg"))

    def _kind_of(self, asset_id: str) -> str:
        store = self.store_or_none()
        if store is None or asset_id not in store.manifest.ids:
            return ""
        return store.manifest.get(asset_id).kind

    def _watch(self, dialog: ModelManagerDialog | None) -> None:
        if dialog is not None:
            dialog.models_changed.connect(self._changed)

    def _changed(self) -> None:
        self.window.show_message("Models updated.")
        notice, store = self.notice, self.store_or_none()
        if notice is not None and store is not None and notice.asset_id in store.manifest.ids \
                and store.is_installed(notice.asset_id):
            self.clear_notice()
        if self.window.session is None:
            self.window.refresh_welcome()
