"""The model manager dialog: every model of the manifest and the user's own generators;
download / import / verify, and "Add my own generator…". Which model of each kind is in
use (the Preferences' choice: a default, an id, a file, an own model) comes from
`core.models.in_use`, the answer the welcome page and About give too; a file chosen outside
the models folder gets a row of its own.

File work (network, copying, hashing) runs on a `BackgroundJob` thread, one job at a time;
the UI thread only reads file sizes. Closing the dialog cancels the job and waits a bounded
time for its thread; a thread still in a network read is left to end on its own.
The words it shows are in `model_words`. It stays at about 650 lines because it is
one dialog: the table with the models in use, the details, and the start and end of each
kind of job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape as _escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.errors import SemeditError
from core.jobs import JobControl
from core.models import AssetStatus, DownloadProgress, ModelStore, VerifyResult
from core.models.in_use import ModelInUse, models_in_use
from core.models.loaded import ModelChoice
from core.models.store import RecordedHashMismatch, UserModel, format_bytes
from semedit_gui.dialogs.background import BackgroundJob
from semedit_gui.dialogs.model_words import (
    PURPOSES,
    describe_state,
    in_use_cell,
    in_use_lines,
    offer_text,
    progress_text,
)

StoreFactory = Callable[[], ModelStore]
ChoiceSource = Callable[[], ModelChoice]

COLUMNS = ("Model", "Kind", "Needed for", "Size", "Licence", "State", "In use")
IN_USE_KINDS = ("generator", "sam", "vgg", "encoder")
_PROGRESS_STEPS = 1000
JOIN_TIMEOUT_S = 2.0  # how long closing waits for a cancelled download's thread
# Cancelled jobs whose (daemon) thread had not ended in time: kept referenced, signals
# blocked, out of the dialog's object tree, until the thread ends.
_ABANDONED: list[BackgroundJob] = []


def _abandon(job: BackgroundJob) -> None:
    job.blockSignals(True)
    job.setParent(None)
    _ABANDONED[:] = [j for j in _ABANDONED if j.running]
    _ABANDONED.append(job)
_ERROR_STYLE = "color: #c62828;"


@dataclass(frozen=True)
class _ReplaceNeeded:
    """A job's answer when a recorded sha256 stood in the way: ask, then run `retry`."""

    message: str
    retry: Callable[[], None]


def ask_to_replace(parent: QWidget, message: str) -> bool:
    answer = QMessageBox.question(
        parent, "Replace the recorded checksum?",
        f"{message}\n\nReplace the recorded sha256 with this file's? The file is checked "
        "to be the model either way.")
    return answer == QMessageBox.StandardButton.Yes


class ModelManagerDialog(QDialog):
    """Lists the manifest's models; Download, Import, Verify and Open folder act on one row."""

    models_changed = Signal()  # a model was downloaded or imported: the app may reload
    # "succeeded", "failed" (Verify finding damage too) or "cancelled", after the refresh
    operation_ended = Signal(str)

    def __init__(self, store_factory: StoreFactory, parent: QWidget | None = None, *,
                 choice: ChoiceSource | None = None):
        """`choice`: the models chosen now (the Preferences'); None: every kind's default."""
        super().__init__(parent)
        self.setObjectName("ModelManagerDialog")
        self.setWindowTitle("Models")
        self.resize(940, 560)
        self._store_factory = store_factory
        self._choice = choice or ModelChoice
        self.in_use: dict[str, ModelInUse] = {}
        self._store: ModelStore | None = None
        self._statuses: list[AssetStatus] = []
        self._verified: dict[str, bool] = {}  # asset id -> last Verify outcome
        self._job: BackgroundJob | None = None
        self._job_asset = ""
        self._outcome = ""
        self._user_models: list[UserModel] = []
        self._after_job: Callable[[], None] | None = None
        # Asked when a recorded sha256 blocks an import or download (tests replace it).
        self.confirm_replace: Callable[[str], bool] = lambda text: ask_to_replace(self, text)
        self._build()
        self.refresh()

    # ----------------------------------------------------------------- public

    @classmethod
    def offer(cls, parent: QWidget | None, store_factory: StoreFactory, asset_id: str,
              reason: str, *, choice: ChoiceSource | None = None,
              alternative: tuple[str, Callable[[], None]] | None = None
              ) -> ModelManagerDialog:
        """Open the dialog on `asset_id` with "<reason> needs <asset>… Download it now?".

        `reason` names the feature ("Click selection"). `alternative`: (button text, what
        it does) for a way on without the model (LPIPS: run with L2); the button closes the
        dialog first. The dialog opens window-modal and returns at once; it deletes itself
        when closed. Connect to `models_changed`.
        """
        dialog = cls(store_factory, parent, choice=choice)
        if alternative is not None:
            text, act = alternative
            dialog.offer_alternative_button.setText(text)
            dialog.offer_alternative_button.clicked.connect(lambda: (dialog.close(), act()))
            dialog.offer_alternative_button.show()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.select_asset(asset_id)
        status = dialog.selected_status()
        if status is not None:
            dialog.offer_label.setText(offer_text(status, reason))
            dialog.offer_download_button.setEnabled(not status.installed)
            dialog.offer_banner.show()
            dialog.offer_download_button.setDefault(True)
        dialog.open()
        return dialog

    @property
    def busy(self) -> bool:
        return self._job is not None

    def refresh(self) -> None:
        """Re-read the manifest and the models folder (sizes only, no hashing)."""
        selected = self.selected_asset_id()
        try:
            self._store = self._store_factory()
            self._statuses = self._store.list()
            self._user_models = list(self._store.user_models().values())
            self.in_use = models_in_use(self._choice(), self._store, IN_USE_KINDS)
        except SemeditError as error:
            self._store, self._statuses, self._user_models = None, [], []
            self.in_use = {}
            self._show_error(str(error))
        self.in_use_label.setText(in_use_lines(self.in_use))
        self._fill_table()
        if not (selected and self.select_asset(selected)) and self._statuses:
            self.table.selectRow(0)
        self._update_details()
        self._update_buttons()

    def select_asset(self, asset_id: str) -> bool:
        for row, status in enumerate(self._statuses):
            if status.asset.id == asset_id:
                self.table.selectRow(row)
                self.table.scrollToItem(self.table.item(row, 0))
                return True
        return False

    def selected_asset_id(self) -> str:
        status = self.selected_status()
        return status.asset.id if status else ""

    def selected_status(self) -> AssetStatus | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self._statuses):
            return None
        return self._statuses[rows[0].row()]

    def row_texts(self, asset_id: str) -> dict[str, str]:
        """The table's cells for one asset or own model, keyed by column title (for tests
        and tooltips)."""
        names = [s.asset.id for s in self._statuses] + [m.name for m in self._user_models] \
            + [m.name for m in self._chosen_files()]
        for row, name in enumerate(names):
            if name == asset_id:
                return {title: self.table.item(row, col).text()
                        for col, title in enumerate(COLUMNS)}
        raise KeyError(asset_id)

    def download_selected(self) -> None:
        status = self.selected_status()
        if status is None or self.busy or self._store is None:
            return
        store, asset_id = self._store, status.asset.id
        # A file that failed Verify has the right size, so the store would keep it: force.
        force = self._verified.get(asset_id) is False

        self._download(store, asset_id, force=force, replace=False)

    def _download(self, store: ModelStore, asset_id: str, *, force: bool,
                  replace: bool) -> None:
        def work(control: JobControl) -> Any:
            try:
                return (yield from store.download(asset_id, control, force=force,
                                                  replace=replace))
            except RecordedHashMismatch as error:
                return _ReplaceNeeded(str(error), lambda: self._download(
                    store, asset_id, force=True, replace=True))

        self._verified.pop(asset_id, None)
        self._start(f"Downloading {asset_id}", asset_id, work, determinate=True)

    def import_file(self, path: str | Path, *, replace: bool = False) -> None:
        """Copy `path` into the models folder as the selected asset, after checking it; a
        recorded sha256 that differs is replaced only after `confirm_replace` says yes."""
        status = self.selected_status()
        if status is None or self.busy or self._store is None:
            return
        store, asset_id, source = self._store, status.asset.id, Path(path)

        def work(control: JobControl) -> Any:
            try:
                return store.import_file(asset_id, source, control=control, replace=replace)
            except RecordedHashMismatch as error:
                return _ReplaceNeeded(str(error), lambda: self.import_file(source, replace=True))

        self._verified.pop(asset_id, None)
        self._start(f"Importing {source.name} as {asset_id}", asset_id, work,
                    determinate=False)

    def add_own_generator(self, path: str | Path, name: str) -> None:
        """Check `path` is a StyleGAN2 generator and add it as the user's model `name`."""
        if self.busy or self._store is None:
            return
        store, source = self._store, Path(path)
        self._start(f"Adding {source.name} as {name}", name,
                    lambda control: store.add_user_model(name, source, control=control),
                    determinate=False)

    def verify_selected(self) -> None:
        status = self.selected_status()
        if status is None or self.busy or self._store is None:
            return
        store, asset_id = self._store, status.asset.id
        self._start(f"Checking {asset_id}", asset_id,
                    lambda control: store.verify(asset_id, control=control), determinate=False)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.cancel_button.setEnabled(False)
            self.status_label.setText(f"{self._job.name}: stopping…")

    def shutdown(self) -> None:
        """Cancel a running job and wait for its thread (idempotent)."""
        job, self._job = self._job, None
        if job is None:
            return
        job.cancel()
        job.blockSignals(True)  # its queued results are for a dialog that is going away
        if job.join(JOIN_TIMEOUT_S):
            job.deleteLater()
        else:  # a network read that has not timed out yet: never block the UI for it
            _abandon(job)
        self._reset_progress()
        self._update_buttons()

    # ----------------------------------------------------------------- closing

    def done(self, result: int) -> None:
        self.shutdown()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    # ----------------------------------------------------------------- building

    def _build(self) -> None:
        layout = QVBoxLayout(self)

        self.offer_banner = QFrame(self)
        self.offer_banner.setFrameShape(QFrame.Shape.StyledPanel)
        banner = QHBoxLayout(self.offer_banner)
        self.offer_label = QLabel(self.offer_banner)
        self.offer_label.setWordWrap(True)
        self.offer_download_button = QPushButton("Download now", self.offer_banner)
        self.offer_download_button.clicked.connect(self.download_selected)
        self.offer_alternative_button = QPushButton(self.offer_banner)
        self.offer_alternative_button.setAutoDefault(False)
        self.offer_alternative_button.hide()
        banner.addWidget(self.offer_label, 1)
        banner.addWidget(self.offer_download_button)
        banner.addWidget(self.offer_alternative_button)
        self.offer_banner.hide()
        layout.addWidget(self.offer_banner)

        self.in_use_label = QLabel(self)  # which model of each kind is used, and its state
        self.in_use_label.setObjectName("modelsInUse")
        self.in_use_label.setWordWrap(True)
        self.in_use_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.in_use_label)

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Needed for"), QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        layout.addWidget(self.table, 1)

        self.details_label = QLabel(self)
        self.details_label.setWordWrap(True)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.details_label)

        buttons = QHBoxLayout()
        self.download_button = QPushButton("Download", self)
        self.import_button = QPushButton("Import local file…", self)
        self.verify_button = QPushButton("Verify", self)
        self.add_own_button = QPushButton("Add my own generator…", self)
        self.add_own_button.setToolTip("Use a StyleGAN2 file of your own (fine-tuned, another "
                                       "domain) by name, like the listed models.")
        self.open_folder_button = QPushButton("Open folder", self)
        self.download_button.clicked.connect(self.download_selected)
        self.import_button.clicked.connect(self._choose_import_file)
        self.verify_button.clicked.connect(self.verify_selected)
        self.add_own_button.clicked.connect(self._choose_own_generator)
        self.open_folder_button.clicked.connect(self._open_folder)
        for button in (self.download_button, self.import_button, self.verify_button,
                       self.add_own_button, self.open_folder_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        progress_row = QHBoxLayout()
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, _PROGRESS_STEPS)
        self.progress_bar.setValue(0)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.cancel)
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.cancel_button)
        layout.addLayout(progress_row)

        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(_ERROR_STYLE)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        layout.addWidget(self.error_label)

        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        box.rejected.connect(self.reject)
        layout.addWidget(box)
        self._reset_progress()

    def _chosen_files(self) -> list[ModelInUse]:
        """Models in use that are files outside the models folder's entries (own rows)."""
        return [m for m in self.in_use.values()
                if m.asset_id is None and m.own_model is None and m.path is not None]

    def _fill_table(self) -> None:
        self.table.blockSignals(True)  # one details update after the refill, not one per row
        files = self._chosen_files()
        self.table.setRowCount(len(self._statuses) + len(self._user_models) + len(files))
        by_asset = {m.asset_id: m for m in self.in_use.values() if m.asset_id}
        by_own = {m.own_model: m for m in self.in_use.values() if m.own_model}
        row = 0
        for status in self._statuses:
            asset = status.asset
            self._set_row(row, (asset.id, asset.kind, PURPOSES.get(asset.kind, ""),
                                status.as_row()["size"], asset.licence,
                                describe_state(status, self._verified.get(asset.id))),
                          asset.description, by_asset.get(asset.id))
            row += 1
        for model in self._user_models:
            cells = model.as_row()
            self._set_row(row, (model.name, model.kind, PURPOSES.get(model.kind, ""),
                                cells["size"], "your own", cells["state"]),
                          f"{model.summary} — {model.path}", by_own.get(model.name))
            row += 1
        for model in files:
            size = model.path.stat().st_size if model.usable and model.path.is_file() else None
            self._set_row(row, (model.name, model.kind, PURPOSES.get(model.kind, ""),
                                format_bytes(size), "the file's own",
                                "found" if model.usable else "missing"),
                          str(model.path), model)
            row += 1
        self.table.clearSelection()
        self.table.blockSignals(False)

    def _set_row(self, row: int, texts: tuple[str, ...], tooltip: str,
                 used: ModelInUse | None) -> None:
        for col, text in enumerate((*texts, in_use_cell(used) if used else "")):
            item = QTableWidgetItem(text)
            item.setToolTip(used.status if used and col == len(texts) else tooltip)
            if used is not None:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.table.setItem(row, col, item)

    # ----------------------------------------------------------------- state

    def _selection_changed(self) -> None:
        self._update_details()
        self._update_buttons()

    def _update_details(self) -> None:
        status = self.selected_status()
        if status is None:
            self.details_label.setText(self._other_details())
            return
        asset = status.asset
        checks = ", ".join(asset.published_checks) or "none published (recorded on first use)"
        lines = [f"<b>{_escape(asset.id)}</b> — {_escape(asset.description)}",
                 f"Licence: {_escape(asset.licence)}",
                 f"Published checks: {_escape(checks)}",
                 f"File: {_escape(str(status.path))}"]
        if asset.source:
            lines.insert(2, f"Source: {_escape(asset.source)}")
        if not asset.downloadable:
            lines.insert(2, f"Get it: open {_escape(asset.urls[0])} in a web browser, "
                            "save the file, then Import it.")
        lines += [f"In use: {_escape(m.status)}" for m in self.in_use.values()
                  if m.asset_id == asset.id]
        self.details_label.setText("<br>".join(lines))

    def _other_details(self) -> str:
        """The details of a selected own model or chosen file (rows after the manifest's)."""
        model = self.table.selectionModel()
        rows = model.selectedRows() if model is not None else []
        index = rows[0].row() - len(self._statuses) if rows else -1
        if 0 <= index < len(self._user_models):
            own = self._user_models[index]
            used = next((m for m in self.in_use.values() if m.own_model == own.name), None)
            lines = [f"<b>{_escape(own.name)}</b> — your own {own.kind}: "
                     f"{_escape(own.summary)}", f"File: {_escape(str(own.path))}"]
        else:
            files = self._chosen_files()
            index -= len(self._user_models)
            if not 0 <= index < len(files):
                return ""
            used = files[index]
            lines = [f"<b>{_escape(used.name)}</b> — a file chosen in Preferences",
                     f"File: {_escape(str(used.path))}"]
        if used is not None:
            lines.append(f"In use: {_escape(used.status)}")
        return "<br>".join(lines)

    def _update_buttons(self) -> None:
        status = self.selected_status()
        idle = not self.busy and status is not None
        failed_verify = status is not None and self._verified.get(status.asset.id) is False
        can_download = status is not None and status.asset.downloadable and (
            not status.installed or failed_verify)
        self.download_button.setEnabled(idle and can_download)
        if status is not None and status.state == "partial":
            self.download_button.setText("Resume download")
        elif status is not None and (status.exists or failed_verify):
            self.download_button.setText("Download again")
        else:
            self.download_button.setText("Download")
        self.import_button.setEnabled(idle)
        self.add_own_button.setEnabled(not self.busy and self._store is not None)
        self.verify_button.setEnabled(idle and status is not None and status.exists)
        self.open_folder_button.setEnabled(not self.busy and self._store is not None)
        self.offer_download_button.setEnabled(idle and can_download)
        self.cancel_button.setEnabled(self.busy and not self._job.cancel_requested)
        self.table.setEnabled(not self.busy)

    # ----------------------------------------------------------------- jobs

    def _start(self, name: str, asset_id: str, work: Callable[[JobControl], Any], *,
               determinate: bool) -> None:
        self._clear_error()
        self._outcome = ""
        job = BackgroundJob(name, work, self)
        job.progress.connect(self._on_progress)
        job.succeeded.connect(self._on_succeeded)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        job.ended.connect(self._on_ended)
        self._job, self._job_asset = job, asset_id
        self.progress_bar.setRange(0, _PROGRESS_STEPS if determinate else 0)  # 0..0: busy
        self.progress_bar.setValue(0)
        self.status_label.setText(f"{name}…")
        self._update_buttons()
        job.start()

    def _on_progress(self, progress: object) -> None:
        if self._job is None or not isinstance(progress, DownloadProgress):
            return
        fraction = progress.fraction
        if fraction is None:
            self.progress_bar.setRange(0, 0)
        else:
            self.progress_bar.setRange(0, _PROGRESS_STEPS)
            self.progress_bar.setValue(round(fraction * _PROGRESS_STEPS))
        self.status_label.setText(f"{self._job.name}: {progress_text(progress)}")

    def _on_succeeded(self, result: object) -> None:
        asset_id = self._job_asset
        self._outcome = "succeeded"
        self.progress_bar.setRange(0, _PROGRESS_STEPS)  # a busy bar becomes a full one
        self.progress_bar.setValue(_PROGRESS_STEPS)
        if isinstance(result, _ReplaceNeeded):
            self._outcome = "failed"
            self.status_label.setText("")
            if self.confirm_replace(result.message):
                self._after_job = result.retry  # once this job's thread has ended
            else:
                self._show_error(result.message)
            return
        if isinstance(result, UserModel):
            self.status_label.setText(
                f"{result.name} is {result.summary}. Choose it by name in Preferences, or "
                f"use --generator {result.name} on the command line.")
            self.models_changed.emit()
            return
        if isinstance(result, VerifyResult):
            self._verified[asset_id] = result.ok
            if result.ok:
                self.status_label.setText(result.message)
            else:
                self._outcome = "failed"
                self.status_label.setText("")
                self._show_error(result.message)
            return
        self.status_label.setText(f"{asset_id} is installed in {result}.")
        self.models_changed.emit()

    def _on_failed(self, message: str) -> None:
        self._outcome = "failed"
        self.status_label.setText("")
        self._show_error(message)

    def _on_cancelled(self) -> None:
        name = self._job.name if self._job else "The operation"
        self._outcome = "cancelled"
        kept = " The part already downloaded is kept; Resume continues from it." \
            if name.startswith("Downloading") else ""
        self.status_label.setText(f"{name} was cancelled.{kept}")

    def _on_ended(self) -> None:
        job, self._job = self._job, None
        outcome = self._outcome
        if job is not None:
            # Its last signal is out: the thread is ending (bounded all the same).
            if job.join(JOIN_TIMEOUT_S):
                job.deleteLater()
            else:
                _abandon(job)
        self._reset_progress(keep_value=outcome == "succeeded")
        self.refresh()
        retry, self._after_job = self._after_job, None
        if retry is not None:  # confirmed: run it again, replacing the recorded sha256
            retry()
            return
        self.operation_ended.emit(outcome)

    def _reset_progress(self, *, keep_value: bool = False) -> None:
        value = self.progress_bar.value() if keep_value else 0
        self.progress_bar.setRange(0, _PROGRESS_STEPS)
        self.progress_bar.setValue(max(0, value))
        self.cancel_button.setEnabled(False)

    # ----------------------------------------------------------------- actions

    def _choose_import_file(self) -> None:
        status = self.selected_status()
        if status is None or self.busy:
            return
        path, _ = QFileDialog.getOpenFileName(
            self, f"Import a file as {status.asset.id}", str(Path.home()),
            "Model files (*.pkl *.pth *.pt);;All files (*)")
        if path:
            self.import_file(path)

    def _choose_own_generator(self) -> None:
        if self.busy:
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Add my own generator", str(Path.home()),
            "StyleGAN2 generators (*.pkl *.pt *.pth);;All files (*)")
        if not path:
            return
        suggested = "".join(c if c.isalnum() or c in "._-" else "-"
                            for c in Path(path).stem.lower()).strip("-._") or "my-generator"
        name, ok = QInputDialog.getText(self, "Add my own generator",
                                        "Name to use it by (lower-case letters, digits, . _ -):",
                                        text=suggested)
        if ok and name.strip():
            self.add_own_generator(path, name.strip())

    def _open_folder(self) -> None:
        if self._store is None:
            return
        root = self._store.root
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            self._show_error(f"Cannot create the models folder {root}: {error.strerror or error}.")
            return
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(root))):
            self._show_error(f"Could not open {root} in the file manager.")

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def _clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()
