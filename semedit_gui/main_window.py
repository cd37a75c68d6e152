"""The main window: canvas in the middle, docks around it, one GPU worker behind it.

The window owns the open `EditorSession` and wires views to it; heavy work goes to the
GPU worker as Tasks (`semedit_gui.jobs`), project files to a second worker so saving
never waits for an inversion. Every result is applied here, on the UI thread.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

import core
from core.errors import ModelMissingError, SemeditError
from core.face.align import AlignTransform
from core.imageio import decode_photo
from core.invert.workflow import apply_inversion
from core.models.loaded import ModelChoice
from core.project import PROJECT_SUFFIX, Document
from semedit_gui import jobs
from semedit_gui.autosave import AutosaveSlot, Recovery, pending_recoveries
from semedit_gui.brush_bar import BrushBar
from semedit_gui.canvas import CanvasView
from semedit_gui.dialogs import ExportDialog, ModelManagerDialog, PreferencesDialog
from semedit_gui.dialogs.preferences import apply_theme
from semedit_gui.hair_panel import HairPanel
from semedit_gui.inversion_panel import InversionPanel
from semedit_gui.message_bar import MessageBar
from semedit_gui.panels import ChunksPanel, EditsPanel, HistoryPanel
from semedit_gui.preview import PreviewController
from semedit_gui.sam_tool import SamTool
from semedit_gui.session import EditorSession
from semedit_gui.settings import AppSettings
from semedit_gui.welcome import WelcomePage, sample_photo
from semedit_gui.worker import GpuWorker, Task

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
OPEN_FILTER = ("Photos and projects (*.semedit " + " ".join(f"*{s}" for s in PHOTO_SUFFIXES)
               + ");;SemEdit projects (*.semedit);;All files (*)")
MODEL_PURPOSE = {"generator": "Opening photos, inversion and editing",
                 "sam": "Segment Anything selection and automatic chunks",
                 "vgg": "The LPIPS inversion loss"}


class MainWindow(QMainWindow):
    document_opened = Signal()  # a document is on screen (tests, screenshots)

    def __init__(self, settings: AppSettings | None = None, *,
                 settings_warnings: list[str] | None = None,
                 settings_path: Path | None = None):
        super().__init__()
        self.settings = settings or AppSettings()
        self.settings_path = settings_path
        self.setWindowTitle("SemEdit")
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.session: EditorSession | None = None
        self.worker = GpuWorker(self.settings.model_choice(), self)
        self.io_worker = GpuWorker(ModelChoice(device="cpu"), self)
        self.io_worker.setObjectName("SemEditFileWorker")
        self.preview = PreviewController(self.worker, self)
        self.autosave_slot = AutosaveSlot()
        self._inversion_task: Task | None = None
        self._hair_task: Task | None = None
        self.hair_outcome: jobs.HairOutcome | None = None
        self._blend_running = False
        self._blend_pending: float | None = None
        self._autosave_task: Task | None = None
        self._directions_loaded_for: int | None = None
        self._closing = False
        self._discard_on_close = False

        self._build_central()
        self._build_docks()
        self.sam_tool = SamTool(self, self.submit, self.canvas)
        self.sam_tool.message.connect(self.show_message)
        self._build_actions()
        self._build_menus_and_toolbars()
        self._build_status_bar()
        self.preview.rendered.connect(self._on_preview)
        self.preview.failed.connect(lambda text: self.show_message(text, error=True))

        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self._apply_autosave_interval()
        self.status_timer = QTimer(self)
        self.status_timer.timeout.connect(self._update_status)
        self.status_timer.start(1000)
        self._set_session(None)
        for warning in settings_warnings or []:
            self.show_message(warning, error=True)

    # ================================================================= building

    def _build_central(self) -> None:
        self.canvas = CanvasView()
        self.canvas.message.connect(self.show_message)
        self.canvas.cursor_moved.connect(self._on_cursor)
        self.message_bar = MessageBar()
        self.welcome = WelcomePage()
        self.welcome.open_requested.connect(self.choose_and_open)
        self.welcome.sample_requested.connect(lambda: self.open_path(sample_photo()))
        self.welcome.recent_requested.connect(self._open_recent)
        self.welcome.download_requested.connect(self.download_model)
        self.welcome.import_requested.connect(self.import_model)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.welcome, 1)
        layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

    def _build_docks(self) -> None:
        self.chunks_panel = ChunksPanel()
        self.edits_panel = EditsPanel()
        self.history_panel = HistoryPanel()
        self.inversion_panel = InversionPanel(default_steps=self.settings.default_steps,
                                              default_space=self.settings.default_space,
                                              lambda_reg=self.settings.lambda_reg)
        for panel in (self.chunks_panel, self.edits_panel, self.history_panel):
            panel.message.connect(self.show_message)
        self.inversion_panel.run_requested.connect(lambda s, loss, pti: self.run_inversion(
            s, loss, pti, resume=False))
        self.inversion_panel.continue_requested.connect(lambda s, loss, pti: self.run_inversion(
            s, loss, pti, resume=True))
        self.inversion_panel.stop_requested.connect(self.stop_inversion)
        self.hair_panel = HairPanel()
        self.hair_panel.transfer_requested.connect(self.run_hair_transfer)
        self.hair_panel.stop_requested.connect(self.stop_hair_transfer)
        self.hair_panel.blend_changed.connect(self.blend_hair)
        self.hair_panel.apply_requested.connect(self.open_hair_result)
        self.docks: dict[str, QDockWidget] = {}
        for title, widget, area in (
                ("Chunks", self.chunks_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                ("Edits", self.edits_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                ("Inversion", self.inversion_panel, Qt.DockWidgetArea.LeftDockWidgetArea),
                ("History", self.history_panel, Qt.DockWidgetArea.LeftDockWidgetArea),
                ("Hair", self.hair_panel, Qt.DockWidgetArea.RightDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"{title.lower()}Dock")
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[title] = dock

    def _action(self, text: str, slot, shortcut=None, *, checkable: bool = False,
                tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        std = QKeySequence.StandardKey
        self.open_action = self._action("&Open…", self.choose_and_open, std.Open,
                                        tip="Open a photo or a .semedit project")
        self.save_action = self._action("&Save", self.save, std.Save)
        self.save_as_action = self._action("Save &As…", self.save_as, std.SaveAs)
        self.export_action = self._action("&Export Image…", self.export, "Ctrl+E")
        self.export_masks_action = self._action("Export &Masks…", self.export_masks)
        self.close_action = self._action("&Close Project", self.close_document, std.Close)
        self.quit_action = self._action("&Quit", self.close, std.Quit)
        self.undo_action = self._action("&Undo", self.undo, std.Undo)
        self.redo_action = self._action("&Redo", self.redo, "Ctrl+Shift+Z")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.preferences_action = self._action("&Preferences…", self.open_preferences,
                                               std.Preferences)
        self.models_action = self._action("&Model Manager…", self.open_model_manager)
        self.auto_chunks_action = self._action("Auto &Chunks", self.auto_chunks, "Ctrl+Shift+A",
                                               tip="Face, eyes, mouth, hair and background "
                                               "chunks from the face")
        self.zoom_in_action = self._action("Zoom &In", lambda: self.canvas.zoom_in(), std.ZoomIn)
        self.zoom_out_action = self._action("Zoom &Out", lambda: self.canvas.zoom_out(),
                                            std.ZoomOut)
        self.zoom_fit_action = self._action("&Fit", lambda: self.canvas.zoom_to_fit(), "Ctrl+0")
        self.zoom_actual_action = self._action("&100%", lambda: self.canvas.zoom_actual(),
                                               "Ctrl+1")
        self.before_after_action = self._action("&Before / After", self._toggle_before, "B",
                                                checkable=True,
                                                tip="Show the photo before editing")
        self.split_action = self._action("&Split View", self._toggle_split, "Ctrl+\\",
                                         checkable=True, tip="Before on the left, after on "
                                         "the right; drag the divider")
        self.difference_action = self._action("&Differences", self._toggle_difference, "D",
                                              checkable=True,
                                              tip="A heat map of what the edits changed")
        self.photo_view_action = self._action("&Whole Photo", self._toggle_photo_view, "W",
                                              checkable=True,
                                              tip="The original photo with the face region")
        self.overlays_action = self._action("Chunk &Overlays", lambda on: (
            self.canvas.set_overlays_visible(on)), "O", checkable=True)
        self.overlays_action.setChecked(True)
        self.about_action = self._action("&About SemEdit", self._show_about)
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, text, key in (("brush", "Brush", "B"), ("eraser", "Eraser", "E"),
                                ("fill", "Fill", "G"), ("sam", "Select (SAM)", "S"),
                                ("pan", "Pan", "H")):
            action = QAction(text, self, checkable=True)
            action.setShortcut(QKeySequence(key if name != "brush" else "P"))
            action.triggered.connect(lambda _=False, n=name: self.set_tool(n))
            self.tool_group.addAction(action)
            self.tool_actions[name] = action
        self.tool_actions["brush"].setChecked(True)

    def _build_menus_and_toolbars(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        for action in (self.save_action, self.save_as_action, self.export_action,
                       self.export_masks_action, self.close_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        for action in (self.undo_action, self.redo_action):
            edit_menu.addAction(action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.auto_chunks_action)
        for action in (self.sam_tool.apply_action, self.sam_tool.new_chunk_action,
                       self.sam_tool.clear_action):
            edit_menu.addAction(action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.preferences_action)
        view_menu = bar.addMenu("&View")
        for action in (self.zoom_in_action, self.zoom_out_action, self.zoom_fit_action,
                       self.zoom_actual_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        for action in (self.before_after_action, self.split_action, self.difference_action,
                       self.photo_view_action, self.overlays_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        tools_menu = bar.addMenu("&Tools")
        for action in self.tool_actions.values():
            tools_menu.addAction(action)
        models_menu = bar.addMenu("&Models")
        models_menu.addAction(self.models_action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

        tools = QToolBar("Tools", self)
        tools.setObjectName("toolsToolbar")
        for action in self.tool_actions.values():
            tools.addAction(action)
        tools.addSeparator()
        tools.addAction(self.auto_chunks_action)
        tools.addAction(self.sam_tool.apply_action)
        tools.addAction(self.sam_tool.new_chunk_action)
        tools.addSeparator()
        for action in (self.before_after_action, self.split_action, self.difference_action,
                       self.photo_view_action):
            tools.addAction(action)
        self.addToolBar(tools)
        self.tools_toolbar = tools
        self.brush_bar = BrushBar(self.canvas, self)
        self.addToolBar(self.brush_bar)
        for text, key, slot in (("Smaller Brush", "[", self.canvas.shrink_brush),
                                ("Larger Brush", "]", self.canvas.grow_brush)):
            action = self._action(text, slot, key)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            tools_menu.addAction(action)

    def _build_status_bar(self) -> None:
        self.device_label = QLabel("")
        self.memory_label = QLabel("")
        self.render_label = QLabel("")
        self.cursor_label = QLabel("")
        for label in (self.cursor_label, self.render_label, self.memory_label,
                      self.device_label):
            self.statusBar().addPermanentWidget(label)
        self.statusBar().showMessage("Ready")

    # ================================================================= messages

    def show_message(self, text: str, error: bool = False) -> None:
        """A status message; errors also stay in the message bar until dismissed."""
        self.statusBar().showMessage(text, 15000)
        if error:
            self.message_bar.show_text(text)

    def offer_model(self, asset_id: str, reason: str) -> None:
        """A feature needs a model that is not installed: say so, and offer the download."""
        if self._closing:
            return
        dialog = ModelManagerDialog.offer(self, self._model_store, asset_id, reason)
        if dialog is not None:
            dialog.models_changed.connect(self._on_models_changed)

    def refresh_welcome(self) -> None:
        try:
            store = self._model_store()
        except SemeditError:
            store = None
        self.welcome.refresh(store, self.settings.generator, self.settings.recent_files)

    def download_model(self, asset_id: str) -> ModelManagerDialog:
        """The model manager, downloading `asset_id` (the welcome page's Download)."""
        dialog = self._manager_dialog(asset_id)
        dialog.download_selected()
        return dialog

    def import_model(self, asset_id: str, path: Path | None = None) -> ModelManagerDialog | None:
        """Import a file the user already has as `asset_id` (checked before it is used)."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self, f"Choose your copy of {asset_id}")
            if not chosen:
                return None
            path = Path(chosen)
        dialog = self._manager_dialog(asset_id)
        dialog.import_file(path)
        return dialog

    def _manager_dialog(self, asset_id: str) -> ModelManagerDialog:
        dialog = ModelManagerDialog(self._model_store, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.models_changed.connect(self._on_models_changed)
        dialog.select_asset(asset_id)
        dialog.show()
        return dialog

    def _model_store(self):
        from core.models import ModelStore, load_manifest, models_dir

        return ModelStore(load_manifest(), models_dir(self.settings.models_dir or None))

    def _task_failed(self, task: Task, reason: str) -> None:
        """Show a failed task; a missing model gets the download offer."""
        error = task.exception
        if isinstance(error, ModelMissingError) and error.asset_id:
            # The core sentence names command-line steps; in the app, the dialog is the way.
            self.show_message(f"{reason} needs the model '{error.asset_id}', which is not "
                              "installed yet. Download it in the dialog that opened, or later "
                              "with Models ▸ Model Manager.", error=True)
            self.offer_model(error.asset_id, reason)
            return
        self.show_message(task.error or "Something went wrong.", error=True)

    def submit(self, name: str, work, *, on_success=None, reason: str = "",
               worker: GpuWorker | None = None, on_progress=None) -> Task:
        """Run `work` on a worker; failures become messages (and model offers)."""
        task = Task(name, work, self)
        if on_success is not None:
            task.succeeded.connect(on_success)
        if on_progress is not None:
            task.progress.connect(on_progress)
        task.failed.connect(lambda _text: self._task_failed(task, reason or name))
        task.cancelled.connect(lambda: self.show_message(f"{name} was stopped; nothing was "
                                                         "changed."))
        (worker or self.worker).submit(task)
        self.statusBar().showMessage(f"{name}…")
        return task

    # ================================================================= documents

    def _set_session(self, session: EditorSession | None) -> None:
        if self.session is not None:
            self.session.close()
            self.session.deleteLater()
        self.session = session
        has_doc = session is not None
        self.welcome.setVisible(not has_doc)
        if not has_doc:
            self.refresh_welcome()
        self.canvas.setVisible(has_doc)
        self.canvas.set_session(session)
        for panel in (self.chunks_panel, self.edits_panel, self.history_panel):
            panel.set_session(session)
        self.sam_tool.set_session(session)
        self.preview.set_session(None)
        if session is not None:
            doc = session.doc
            self.canvas.set_image(doc.aligned)
            self.canvas.set_compare_image(doc.aligned)
            session.dirty_changed.connect(self._update_title)
            session.path_changed.connect(self._update_title)
            session.history_changed.connect(self._update_actions)
            session.chunks_changed.connect(self._update_actions)
            session.document_changed.connect(self._on_document_changed)
            self.preview.set_session(session)
            self._load_directions()
            metrics = (doc.inversion or {}).get("metrics")
            self.inversion_panel.show_started(1)
            if metrics:
                self.inversion_panel.show_finished(metrics, stopped=False)
        for action in (self.save_action, self.save_as_action, self.export_action,
                       self.export_masks_action, self.close_action, self.auto_chunks_action):
            action.setEnabled(has_doc)
        self.photo_view_action.setChecked(False)
        self.hair_outcome = None
        self._update_hair_state()
        self._update_title()
        self._update_actions()
        if has_doc:
            self.document_opened.emit()

    def _on_document_changed(self) -> None:
        if self.session is not None and not self.session.inverted:
            self.canvas.set_image(self.session.doc.aligned)

    def _update_title(self, *_args) -> None:
        if self.session is None:
            self.setWindowTitle("SemEdit")
            self.setWindowModified(False)
            return
        self.setWindowTitle(f"{self.session.title}[*] — SemEdit")
        self.setWindowModified(self.session.dirty)

    def _update_actions(self, *_args) -> None:
        history = self.session.doc.history if self.session else None
        self.undo_action.setEnabled(bool(history and history.can_undo))
        self.redo_action.setEnabled(bool(history and history.can_redo))
        if history is not None:
            labels = history.labels
            self.undo_action.setText(f"&Undo {labels[history.index - 1]}"
                                     if history.can_undo else "&Undo")
            self.redo_action.setText(f"&Redo {labels[history.index]}"
                                     if history.can_redo else "&Redo")
        running = self._inversion_task is not None
        has_chunks = bool(self.session and self.session.doc.chunks)
        self.inversion_panel.set_state(
            running=running, can_run=has_chunks,
            can_continue=bool(self.session and self.session.inverted))

    def choose_and_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo or project", "", OPEN_FILTER)
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> Task | None:
        """Open a photo (a new project) or a .semedit project, after the unsaved prompt."""
        path = Path(path)
        if not self.confirm_discard():
            return None
        if path.suffix.lower() == PROJECT_SUFFIX:
            return self.submit(f"Opening {path.name}", jobs.open_project(path),
                               worker=self.io_worker,
                               on_success=lambda doc: self._opened_project(doc, path))
        return self.submit(f"Opening {path.name}", jobs.open_photo(path),
                           on_success=self._opened_photo, reason="Opening a photo")

    def _opened_photo(self, opened: jobs.OpenedPhoto) -> None:
        session = EditorSession(opened.document, None, parent=self)
        session.photo_path = opened.path
        self._set_session(session)
        self.show_message(" ".join([f"Opened {opened.path.name}.", *opened.notes,
                                    "Next: Auto Chunks, or paint chunks with the brush."]))

    def _opened_project(self, doc: Document, path: Path) -> None:
        self._set_session(EditorSession(doc, path, parent=self))
        self.settings.add_recent(path)
        self._save_settings()
        self.show_message(f"Opened {path.name}.")

    def close_document(self) -> bool:
        if not self.confirm_discard():
            return False
        self.stop_inversion()
        self._set_session(None)
        self.autosave_slot.clear()
        return True

    # ----------------------------------------------------------------- unsaved changes

    def confirm_discard(self) -> bool:
        """True when the current document may be replaced (saved, discarded or clean)."""
        if self.session is None or not self.session.dirty:
            return True
        choice = self.ask_unsaved_changes()
        if choice == "save":
            return self.save(blocking=True)
        return choice == "discard"

    def ask_unsaved_changes(self) -> str:
        """'save', 'discard' or 'cancel' (tests replace this method)."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"Save the changes to {self.session.title}?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setInformativeText("Your changes will be lost if you don't save them.")
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save",
                QMessageBox.StandardButton.Discard: "discard"}.get(
                    QMessageBox.StandardButton(answer), "cancel")

    # ----------------------------------------------------------------- saving

    def save(self, *, blocking: bool = False) -> bool:
        if self.session is None:
            return False
        if self.session.path is None:
            return self.save_as(blocking=blocking)
        return self._save_to(self.session.path, blocking=blocking)

    def save_as(self, *, blocking: bool = False) -> bool:
        if self.session is None:
            return False
        suggested = self.session.path or (
            (self.session.photo_path or Path.home() / "untitled").with_suffix(PROJECT_SUFFIX))
        path = self.ask_save_path(suggested)
        if path is None:
            return False
        return self._save_to(path, blocking=blocking)

    def ask_save_path(self, suggested: Path) -> Path | None:
        """Where to save (tests replace this method)."""
        path, _ = QFileDialog.getSaveFileName(self, "Save project", str(suggested),
                                              "SemEdit projects (*.semedit)")
        if not path:
            return None
        path = Path(path)
        return path if path.suffix == PROJECT_SUFFIX else path.with_name(
            path.name + PROJECT_SUFFIX)

    def _save_to(self, path: Path, *, blocking: bool) -> bool:
        session = self.session
        snapshot, at = session.doc.snapshot(), session.doc.history.last_done
        if blocking:  # closing the window: the file must be written before we go
            from core.project import save_project

            try:
                save_project(snapshot, path, protect=session.photo_path)
            except SemeditError as error:
                self.show_message(str(error), error=True)
                return False
            self._saved(session, path, at)
            return True
        self.submit(f"Saving {path.name}", jobs.save_project(snapshot, path,
                                                             session.photo_path),
                    worker=self.io_worker,
                    on_success=lambda _p: self._saved(session, path, at))
        return True

    def _saved(self, session: EditorSession, path: Path, at: object) -> None:
        session.mark_saved(path, at)
        self.autosave_slot.clear()
        self.settings.add_recent(path)
        self._save_settings()
        self.show_message(f"Saved {path.name}.")

    # ----------------------------------------------------------------- autosave

    def _apply_autosave_interval(self) -> None:
        seconds = self.settings.autosave_seconds
        if seconds > 0:
            self.autosave_timer.start(seconds * 1000)
        else:
            self.autosave_timer.stop()

    def autosave_now(self) -> Task | None:
        """Write a recovery copy when there are unsaved changes (one at a time)."""
        session = self.session
        if session is None or not session.dirty or self._autosave_task is not None:
            return None
        target = self.autosave_slot.prepare()
        self.autosave_slot.write_note(session.title, session.path)
        task = self.submit("Autosaving", jobs.save_project(session.doc.snapshot(), target,
                                                           session.photo_path),
                           worker=self.io_worker)
        self._autosave_task = task
        task.ended.connect(lambda: setattr(self, "_autosave_task", None))
        return task

    def pending_recoveries(self) -> list[Recovery]:
        return pending_recoveries(exclude=self.autosave_slot)

    def offer_recovery(self) -> None:
        """After a crash: offer to reopen what was autosaved (called once at start-up)."""
        found = self.pending_recoveries()
        if not found:
            return
        newest = found[0]
        answer = QMessageBox.question(
            self, "Recover unsaved work",
            f"SemEdit did not close properly last time. Recover “{newest.title}”, autosaved "
            "then?" + (f" ({len(found) - 1} older autosaves are kept too.)"
                       if len(found) > 1 else ""))
        if answer == QMessageBox.StandardButton.Yes:
            self.recover(newest)

    def recover(self, recovery: Recovery) -> Task:
        def done(doc: Document) -> None:
            session = EditorSession(doc, None, parent=self)
            session.path = recovery.original  # Save writes where it came from, if anywhere
            session.mark_recovered()
            self._set_session(session)
            recovery.discard()
            self.show_message(f"Recovered {recovery.title}; save it to keep it.")

        return self.submit(f"Recovering {recovery.title}", jobs.open_project(recovery.project),
                           worker=self.io_worker, on_success=done)

    # ----------------------------------------------------------------- export

    def export(self) -> None:
        session = self.session
        if session is None:
            return
        base = session.photo_path or session.path or Path.home() / "portrait"
        dialog = ExportDialog(self, has_full_photo=session.doc.photo_bytes is not None,
                              default_path=base.with_name(base.stem + "-edited.png"),
                              source_photo=session.photo_path)
        if dialog.exec():
            self.export_to(dialog.options())
        dialog.deleteLater()

    def export_to(self, options) -> Task:
        request = jobs.ExportRequest(options.path, options.full_photo, options.quality,
                                     options.keep_metadata, self.session.photo_path)
        return self.submit(f"Exporting {options.path.name}",
                           jobs.export(self.session.doc.snapshot(), request),
                           on_success=lambda p: self.show_message(f"Exported {p}."))

    def export_masks(self) -> None:
        if self.session is None or not self.session.doc.chunks:
            self.show_message("There are no chunks to export.")
            return
        folder = QFileDialog.getExistingDirectory(self, "Export chunk masks to")
        if folder:
            self.export_masks_to(Path(folder))

    def export_masks_to(self, folder: Path) -> list[Path]:
        written = []
        try:
            for chunk in self.session.doc.chunks:
                path = folder / f"{chunk.name}.png"
                self.session.chunk_set.export_mask(chunk, path)
                written.append(path)
        except SemeditError as error:
            self.show_message(str(error), error=True)
        else:
            self.show_message(f"Wrote {len(written)} masks to {folder}.")
        return written

    # ================================================================= editing

    def undo(self) -> None:
        if self.canvas.painting:  # the stroke becomes one step when the button is released
            return
        if self.session is not None and self.session.doc.history.can_undo:
            self.session.doc.history.undo()

    def redo(self) -> None:
        if self.canvas.painting:
            return
        if self.session is not None and self.session.doc.history.can_redo:
            self.session.doc.history.redo()

    def set_tool(self, name: str) -> None:
        self.tool_actions[name].setChecked(True)
        self.canvas.set_tool(name)
        self.sam_tool.set_active(name == "sam")

    def auto_chunks(self) -> Task | None:
        session = self.session
        if session is None:
            return None

        def add(result: jobs.AutoChunks) -> None:
            if self.session is not session:
                return
            session.chunk_set.add_many(result.masks, "Auto chunks")
            self.show_message(" ".join([f"Added {len(result.masks)} chunks: "
                                        f"{', '.join(result.masks)}.", *result.notes]))

        return self.submit("Finding face chunks", jobs.auto_chunks(session.doc.snapshot()),
                           on_success=add, reason="Automatic chunks")

    # ----------------------------------------------------------------- inversion

    def run_inversion(self, settings, loss_kind: str, pti_steps: int, *,
                      resume: bool = False) -> Task | None:
        session = self.session
        if session is None or self._inversion_task is not None:
            return None
        if not session.doc.chunks:
            self.show_message("Add chunks first (Auto Chunks, or paint one).", error=True)
            return None
        from dataclasses import replace

        settings = replace(settings, force_fp32=self.settings.precision == "fp32")
        chunks = list(session.doc.chunks)
        total = settings.steps + (pti_steps if not resume else 0)
        self.inversion_panel.show_started(total)
        task = self.submit("Inverting", jobs.invert(session.doc.snapshot(), settings,
                                                    loss_kind=loss_kind, pti_steps=pti_steps,
                                                    resume=resume),
                           on_success=lambda outcome: self._inverted(session, chunks, outcome),
                           on_progress=self._inversion_progress, reason="Inversion")
        self._inversion_task = task
        task.ended.connect(self._inversion_ended)
        self._update_actions()
        return task

    def stop_inversion(self) -> None:
        if self._inversion_task is not None:
            self._inversion_task.stop()

    def _inversion_progress(self, update: jobs.InversionUpdate) -> None:
        progress = update.progress
        loss = progress.losses.get("total") if progress.losses else None
        self.inversion_panel.show_progress(update.stage, progress.step, progress.total_steps,
                                           loss)
        preview = getattr(progress, "preview", None)
        if preview is not None:
            self._show_aligned(preview)

    def _inverted(self, session: EditorSession, chunks, outcome: jobs.InversionOutcome) -> None:
        if self.session is not session:
            return
        try:
            apply_inversion(session.doc, chunks, outcome.result, outcome.settings,
                            metrics=outcome.metrics, generator_id=outcome.generator_id,
                            generator_sha256=outcome.generator_sha256,
                            pti_weights=outcome.pti_weights,
                            label="Inversion (stopped)" if outcome.stopped else "Inversion")
        except SemeditError as error:
            self.show_message(str(error), error=True)
            return
        session.changed_elsewhere()
        self.inversion_panel.show_finished(outcome.metrics, outcome.stopped)
        self.show_message("Inversion stopped; Continue optimises further." if outcome.stopped
                          else "Inversion done. Add edits in the Edits panel.")
        self._load_directions()

    def _inversion_ended(self) -> None:
        self._inversion_task = None
        self._update_actions()
        if self.session is not None and not self.session.inverted:
            self.canvas.set_image(self.session.doc.aligned)

    # ----------------------------------------------------------------- hair transfer

    def run_hair_transfer(self, hair_photo: Path, settings) -> Task | None:
        session = self.session
        if session is None or self._hair_task is not None:
            return None
        from dataclasses import replace

        from core.segment.mask_io import load_mask

        hair_chunk = next((c for c in session.doc.chunks if c.name == "hair"), None)
        mask_b = None
        if self.hair_panel.hair_mask_b is not None:
            try:
                mask_b = load_mask(self.hair_panel.hair_mask_b, session.doc.resolution).mask
            except SemeditError as error:
                self.show_message(str(error), error=True)
                return None
        settings = replace(settings, force_fp32=self.settings.precision == "fp32")
        self.hair_outcome = None
        task = self.submit("Hair transfer", jobs.hair_transfer(
            session.doc.snapshot(), Path(hair_photo), settings,
            hair_mask_a=None if hair_chunk is None else hair_chunk.mask.copy(),
            hair_mask_b=mask_b), on_success=lambda o: self._hair_done(session, o),
            on_progress=self._hair_progress, reason="Hair transfer")
        self._hair_task = task
        task.ended.connect(self._hair_ended)
        self._update_hair_state()
        return task

    def stop_hair_transfer(self) -> None:
        if self._hair_task is not None:
            self._hair_task.stop()

    def _hair_progress(self, item) -> None:
        if hasattr(item, "stage"):
            self.hair_panel.show_progress(item.overall, f"{item.label} {item.step}/"
                                          f"{item.total}")
            if item.preview is not None:
                self._show_aligned(item.preview)
        else:  # the pose directions being fitted (first transfer with this generator)
            self.hair_panel.show_progress(0.0, f"Learning head pose for this generator "
                                          f"(once): {item.done}/{item.total}")

    def _hair_done(self, session: EditorSession, outcome: jobs.HairOutcome) -> None:
        if self.session is not session:
            return
        self.hair_outcome = outcome
        self.hair_panel.blend.setValue(self.hair_panel.blend.maximum())
        self._show_aligned(outcome.result.output)
        metrics = outcome.result.metrics
        figures = ", ".join(f"{k} {v:.3f}" for k, v in metrics.items()
                            if isinstance(v, float) and k.startswith(("identity", "hair")))
        self.hair_panel.show_progress(1.0, "Done. " + figures)
        self.show_message(" ".join(["Hair transferred: move the slider to blend, or open "
                                    "the result as a new project.", *outcome.notes]))

    def _hair_ended(self) -> None:
        self._hair_task = None
        self._update_hair_state()

    def _update_hair_state(self) -> None:
        self.hair_panel.set_state(running=self._hair_task is not None,
                                  has_document=self.session is not None,
                                  has_result=self.hair_outcome is not None)

    def blend_hair(self, t: float) -> None:
        """Show the A→B blend at t; one render at a time, the newest position waits."""
        if self.hair_outcome is None:
            return
        if self._blend_running:
            self._blend_pending = t
            return
        self._blend_running = True
        outcome = self.hair_outcome
        task = self.submit("Blending the hair", jobs.hair_blend(outcome.result, t),
                           on_success=lambda r: self._blended(outcome, r))
        task.ended.connect(self._blend_ended)

    def _blended(self, outcome, rendered) -> None:
        if outcome is self.hair_outcome and self._blend_pending is None:
            self._show_aligned(rendered[1])

    def _blend_ended(self) -> None:
        self._blend_running = False
        if self._blend_pending is not None:
            t, self._blend_pending = self._blend_pending, None
            self.blend_hair(t)

    def open_hair_result(self) -> None:
        """The transfer as a new, unsaved project (the current one stays as it was)."""
        outcome = self.hair_outcome
        if outcome is None or not self.confirm_discard():
            return
        from core.hair.transfer import png_bytes

        doc = outcome.result.document(photo_bytes=png_bytes(outcome.full_photo),
                                      photo_name=outcome.photo_name,
                                      generator_id=outcome.generator_id,
                                      generator_sha256=outcome.generator_sha256)
        session = EditorSession(doc, None, parent=self)
        session.mark_recovered()  # new content that exists in no file yet
        self._set_session(session)
        self.show_message("The hair transfer is open as a new project; save it to keep it.")

    def _show_aligned(self, image: np.ndarray) -> None:
        """Show an aligned-frame image (a job's preview) at the document's size."""
        if self.session is None:
            return
        size = self.session.doc.resolution
        if image.shape[0] != size:
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
        self.canvas.set_image(image)

    @property
    def busy(self) -> bool:
        return not (self.worker.idle and self.io_worker.idle)

    # ----------------------------------------------------------------- directions, preview

    def _load_directions(self) -> None:
        session = self.session
        if session is None or not session.inverted or self._directions_loaded_for == id(session):
            return
        self._directions_loaded_for = id(session)

        def loaded(directions) -> None:
            if self.session is session:
                session.edit_stacks.directions = {d.name for d in directions}
                self.edits_panel.set_directions(directions)

        self.submit("Loading edit directions", jobs.load_directions(), on_success=loaded,
                    reason="Edit directions")

    def _on_preview(self, result) -> None:
        if self.session is not None:
            self.canvas.set_image(result.image)
            self.render_label.setText(f"render {result.seconds * 1000:.0f} ms")
            self._update_status()

    # ----------------------------------------------------------------- view toggles

    def _toggle_before(self, on: bool) -> None:
        self.canvas.set_show_before(on)

    def _toggle_split(self, on: bool) -> None:
        self.canvas.set_split(0.5 if on else None)

    def _toggle_difference(self, on: bool) -> None:
        self.preview.set_mode("difference" if on else "edited")

    def _toggle_photo_view(self, on: bool) -> None:
        session = self.session
        if session is None or session.doc.photo_bytes is None or session.doc.transform is None:
            self.photo_view_action.setChecked(False)
            if on:
                self.show_message("This project holds no original photo.")
            return
        if not on:
            self.canvas.set_photo_view(None, None)
            return
        try:
            photo = decode_photo(session.doc.photo_bytes, session.doc.photo_name or "photo")
        except SemeditError as error:
            self.photo_view_action.setChecked(False)
            self.show_message(str(error), error=True)
            return
        corners = AlignTransform.from_json(session.doc.transform).sampling_quad()
        # sampling_quad runs TL, BL, BR, TR; the canvas outlines TL, TR, BR, BL.
        self.canvas.set_photo_view(photo.rgb, corners[[0, 3, 2, 1]])

    def _on_cursor(self, x: int, y: int, chunk: str) -> None:
        text = "" if x < 0 else f"{x}, {y}" + (f"  {chunk}" if chunk else "")
        self.cursor_label.setText(text)

    def _update_status(self) -> None:
        self.device_label.setText(self.worker.device_text)
        memory = self.worker.gpu_memory_bytes
        self.memory_label.setText("" if memory is None else f"GPU {memory / 2**30:.2f} GiB")

    # ================================================================= dialogs

    def open_preferences(self) -> None:
        dialog = PreferencesDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings(dialog.result_settings())
        dialog.deleteLater()

    def apply_settings(self, settings: AppSettings) -> None:
        old_choice = self.settings.model_choice()
        self.settings = settings
        self._save_settings()
        if settings.model_choice() != old_choice:
            self.worker.set_models(settings.model_choice())
            self._directions_loaded_for = None
            self._load_directions()
        apply_theme(QApplication.instance(), settings.theme)
        self._apply_autosave_interval()
        if self.session is None:
            self.refresh_welcome()

    def open_model_manager(self) -> None:
        dialog = ModelManagerDialog(self._model_store, self)
        dialog.models_changed.connect(self._on_models_changed)
        dialog.exec()
        dialog.deleteLater()

    def _on_models_changed(self) -> None:
        self.show_message("Models updated.")
        if self.session is None:
            self.refresh_welcome()

    def _save_settings(self) -> None:
        try:
            self.settings.save(self.settings_path)
        except OSError as error:
            self.show_message(f"Could not save the preferences: {error}", error=True)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self._open_recent(p))
        if not self.settings.recent_files:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _open_recent(self, path: str) -> None:
        if not Path(path).is_file():
            self.settings.remove_recent(path)
            self._save_settings()
            self.show_message(f"{path} no longer exists.", error=True)
            return
        self.open_path(Path(path))

    def _show_about(self) -> None:
        QMessageBox.about(self, "About SemEdit",
                          f"SemEdit {core.__version__}\n"
                          "Semantic editing of portrait photos with StyleGAN2 (ChunkyGAN).")

    # ================================================================= window events

    def dragEnterEvent(self, event) -> None:
        if _dropped_path(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = _dropped_path(event.mimeData())
        if path is not None:
            event.acceptProposedAction()
            self.open_path(path)

    def close_discarding(self) -> None:
        """Close without the unsaved-changes question (screenshots, unattended runs); an
        autosave already written stays for recovery."""
        self._discard_on_close = True
        self.close()

    def closeEvent(self, event) -> None:
        keep_autosave = self._discard_on_close and bool(self.session and self.session.dirty)
        if not self._discard_on_close and not self.confirm_discard():
            event.ignore()
            return
        self._closing = True
        for dialog in self.findChildren(ModelManagerDialog):
            dialog.close()  # cancels and joins its download
        self.autosave_timer.stop()
        self.status_timer.stop()
        self.stop_inversion()
        self.stop_hair_transfer()
        self.worker.shutdown()
        self.io_worker.shutdown()
        if not keep_autosave:
            self.autosave_slot.clear()
        self._set_session(None)
        event.accept()


def _dropped_path(mime) -> Path | None:
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in (*PHOTO_SUFFIXES, PROJECT_SUFFIX):
                return path
    return None

