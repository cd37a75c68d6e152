"""The main window: layout and wiring. Canvas in the middle, docks around it.

What the app does lives in the controllers (`semedit_gui.controllers`): documents,
inversion, hair transfer, selection, and the job registry that runs everything on the GPU
worker or the file worker. The window builds the views, connects them to the controllers
and shows their messages; its actions are in `semedit_gui.window.actions`, and closing
while jobs run in `semedit_gui.window.closing`.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from semedit_gui.canvas import CanvasView
from semedit_gui.controllers import (
    DirectionsController,
    DocumentController,
    HairController,
    InversionController,
    JobRegistry,
    SelectionController,
)
from semedit_gui.dialogs import PreferencesDialog
from semedit_gui.dialogs.preferences import apply_theme
from semedit_gui.file_worker import FileWorker
from semedit_gui.message_bar import MessageBar
from semedit_gui.preview import PreviewController, render_status
from semedit_gui.sam_tool import SamTool
from semedit_gui.settings import AppSettings
from semedit_gui.welcome import WelcomePage, sample_photo
from semedit_gui.window import actions, prompts
from semedit_gui.window.actions import WindowActions, build_menus_and_toolbars
from semedit_gui.window.closing import WindowShutdown, close_window
from semedit_gui.window.docks import DockLayout
from semedit_gui.window.generator_locator import connect_generator_locator
from semedit_gui.window.hair_wiring import connect_hair
from semedit_gui.window.history_pause import HistoryPause
from semedit_gui.window.messages import WindowMessages
from semedit_gui.window.model_dialogs import ModelDialogs
from semedit_gui.worker import GpuWorker, Task

CLOSE_WAIT_S = 10.0  # how long closing waits for jobs to stop before hiding the window


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
        self.close_wait_s = CLOSE_WAIT_S
        self.close_state = "open"  # "closing", "lingering" (threads outlive it), "closed"
        self.discard_on_close = False
        self.face_dialog = self.hair_mask_dialog = None  # open dialogs (tests drive them)
        self.worker = GpuWorker(self.settings.model_choice(), self)
        self.io_worker = FileWorker(self)
        self.jobs = JobRegistry(self.worker, self.io_worker, self)
        self.shutdown = WindowShutdown(self.jobs)
        self.documents = DocumentController(
            self.jobs, lambda: self.settings, self._save_settings,
            ask_unsaved_changes=lambda: self.ask_unsaved_changes(),
            ask_save_path=lambda suggested: self.ask_save_path(suggested), parent=self)
        fp32 = lambda: self.settings.precision == "fp32"  # noqa: E731
        self.inversion = InversionController(self.jobs, self.documents, force_fp32=fp32,
                                             model_choice=lambda: self.settings.model_choice(),
                                             engine_settings=lambda: (
                                                 self.settings.inversion_engine_settings()),
                                             defaults=lambda: self.settings.inversion_defaults(),
                                             parent=self)
        self.hair = HairController(self.jobs, self.documents, force_fp32=fp32, parent=self)
        self.selection = SelectionController(self.jobs, self.documents, self)
        self.directions = DirectionsController(self.jobs, parent=self)
        self.directions_dialog = None  # the Directions dialog once opened (tests drive it)
        self.preview = PreviewController(
            self.worker, self, force_fp32=lambda: self.settings.render_force_fp32)
        self.models = ModelDialogs(self)
        self._build_views()
        self.messages = WindowMessages(self)  # the status line, the log and the list
        self.commands = WindowActions(self)
        build_menus_and_toolbars(self, self.commands, (
            self.sam_tool.apply_action, self.sam_tool.new_chunk_action,
            self.sam_tool.clear_action), list(self.docks.values()))
        self.history_pause = HistoryPause(self)  # Undo/Redo wait while an inversion runs
        self._connect()
        self.status_timer = QTimer(self)
        self.status_timer.timeout.connect(self._update_status)
        self.status_timer.start(1000)
        self.statusBar().showMessage("Ready")
        self._on_session(None)
        for warning in settings_warnings or []:
            self.show_message(warning, error=True)

    # ================================================================= building

    def _build_views(self) -> None:
        self.canvas = CanvasView()
        self.message_bar = MessageBar()
        self.welcome = WelcomePage()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for widget, stretch in ((self.message_bar, 0), (self.welcome, 1), (self.canvas, 1)):
            layout.addWidget(widget, stretch)
        self.setCentralWidget(central)
        self.dock_layout = DockLayout(self)  # the panels, their docks, the saved layout
        self.docks = self.dock_layout.docks
        self.sam_tool = SamTool(self, self.selection, self.canvas)
        self.device_label, self.memory_label = QLabel(""), QLabel("")
        self.render_label, self.cursor_label, self.note_label = QLabel(""), QLabel(""), QLabel("")
        for label in (self.note_label, self.cursor_label, self.render_label, self.memory_label,
                      self.device_label):
            self.statusBar().addPermanentWidget(label)

    def _connect(self) -> None:
        docs, inv, hair, panel = self.documents, self.inversion, self.hair, self.inversion_panel
        # First: a project's own generator is chosen before its session renders anything.
        self.generator_locator = connect_generator_locator(self)
        for source in (docs, inv, hair, self.selection):
            source.message.connect(self.show_message)
        # a changed library reaches the Edits picker and the session's known names
        self.directions.message.connect(self.show_message)
        self.directions.directions_changed.connect(
            lambda _directions: docs.load_directions(again=True))
        for source in (self.canvas, self.chunks_panel, self.edits_panel, self.history_panel):
            source.message.connect(self.show_message)
        self.jobs.message.connect(lambda text: self.statusBar().showMessage(text, 15000))
        self.jobs.job_ended.connect(lambda t: self.statusBar().currentMessage() == f"{t.name}…"
                                    and self.statusBar().clearMessage())  # "Saving x…" ended
        self.jobs.job_failed.connect(self.models.report_failure)
        self.canvas.cursor_moved.connect(self._on_cursor)
        self.welcome.open_requested.connect(self.choose_and_open)
        self.welcome.sample_requested.connect(lambda: self.open_path(sample_photo()))
        self.welcome.recent_requested.connect(docs.open_recent)
        self.welcome.download_requested.connect(self.models.download)
        self.welcome.import_requested.connect(self.models.import_file)
        docs.session_changed.connect(self._on_session)
        docs.document_opened.connect(self.document_opened)
        docs.directions_loaded.connect(self.edits_panel.set_directions)
        docs.face_needed.connect(lambda path: actions.face_needed(self, path))
        panel.run_requested.connect(lambda s, loss, pti: inv.run(s, loss, pti,
                                                                 init=panel.init))
        panel.continue_requested.connect(lambda s, loss, pti: inv.run(s, loss, pti, resume=True))
        panel.stop_requested.connect(inv.stop)
        panel.quick_requested.connect(inv.quick)
        panel.values_changed.connect(inv.remember)  # a project keeps its panel settings
        inv.panel_values.connect(panel.set_values)
        inv.encoder_changed.connect(lambda ok: panel.set_encoder(ok, inv.encoder_benefit))
        panel.set_encoder(inv.encoder_available(), inv.encoder_benefit)
        docs.document_opened.connect(lambda: inv.quick_on_open(panel.settings()))
        inv.state_changed.connect(self._update_actions)  # the panel, Undo/Redo paused or not
        inv.started.connect(panel.show_started)
        inv.progress.connect(panel.show_progress)
        inv.preview.connect(self.show_aligned)
        inv.finished.connect(panel.show_finished)
        inv.masks_changed_since_inversion.connect(self.canvas.set_masks_changed_since_inversion)
        self.canvas.refine_note_changed.connect(self.note_label.setText)  # stays till cleared
        inv.state_changed.connect(lambda state: state == "idle" and self._on_document_changed())
        connect_hair(self)  # the Hair panel, its controller, the face and download offers
        self.preview.rendered.connect(self._on_preview)
        self.preview.failed.connect(lambda text: self.show_message(text, error=True))

    # ================================================================= messages

    def show_message(self, text: str, error: bool = False) -> None:
        """A status message, kept in the message list; errors also stay in the message bar
        until dismissed."""
        self.messages.show(text, error)

    # ================================================================= the session

    @property
    def session(self):
        return self.documents.session

    @property
    def busy(self) -> bool:
        return not self.jobs.idle

    def _on_session(self, session) -> None:
        has_doc = session is not None
        self.welcome.setVisible(not has_doc)
        if not has_doc:
            self.refresh_welcome()
        self.canvas.setVisible(has_doc)
        self.canvas.set_session(session)
        for panel in (self.chunks_panel, self.edits_panel, self.history_panel):
            panel.set_session(session)
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
            metrics = (doc.inversion or {}).get("metrics")
            self.inversion_panel.reset(metrics)
            if metrics:
                self.inversion_panel.show_finished(metrics, stopped=False)
        self.commands.set_has_document(has_doc)
        self._update_hair_panel()
        self._update_title()
        self._update_actions()

    def _on_document_changed(self) -> None:
        if self.session is not None and not self.session.inverted:
            self.canvas.set_image(self.session.doc.aligned)

    def _update_title(self, *_args) -> None:
        session = self.session
        self.setWindowTitle("SemEdit" if session is None else f"{session.title}[*] — SemEdit")
        self.setWindowModified(bool(session and session.dirty))

    def _update_actions(self, *_args) -> None:
        self.commands.show_history(self.session.doc.history if self.session else None)
        self.history_pause.show()
        self._update_inversion_panel()

    def _update_inversion_panel(self, *_args) -> None:
        session = self.session
        self.inversion_panel.set_state(
            running=self.inversion.state != "idle",
            can_run=bool(session and session.doc.chunks),
            can_continue=bool(session and session.inverted),
            stopping=self.inversion.state == "stopping")

    def _update_hair_panel(self, *_args) -> None:
        self.hair_panel.set_state(running=self.hair.running, has_document=self.session
                                  is not None, has_result=self.hair.outcome is not None)
        if self.hair.outcome is not None:
            self.hair_panel.blend.blockSignals(True)  # the result itself is t = 1
            self.hair_panel.blend.setValue(self.hair_panel.blend.maximum())
            self.hair_panel.blend.blockSignals(False)

    def show_aligned(self, image: np.ndarray) -> None:
        """Show an aligned-frame image (a job's preview) at the document's size."""
        if self.session is None:
            return
        size = self.session.doc.resolution
        if image.shape[0] != size:
            image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
        self.canvas.set_image(image)

    def _on_preview(self, result) -> None:
        if self.session is not None:
            self.canvas.set_image(result.image, heat_map=result.mode == "difference")
            self.render_label.setText(render_status(result))

    # ================================================================= user commands

    def choose_and_open(self) -> None:
        path = prompts.ask_open_path(self)  # starts where the last file was opened/saved
        if path is not None:
            self.open_path(path)

    def open_path(self, path: Path) -> Task | None:
        return self.documents.open_path(path)

    def ask_unsaved_changes(self) -> str:
        """'save', 'discard' or 'cancel' (tests replace this method)."""
        return prompts.ask_unsaved_changes(self, self.session.title)

    def ask_save_path(self, suggested: Path) -> Path | None:
        """Where to save (tests replace this method)."""
        return prompts.ask_save_path(self, suggested)

    def offer_recovery(self) -> None:
        """After a crash: offer to reopen what was autosaved (called once at start-up)."""
        found = self.documents.pending_recoveries()
        if found and prompts.ask_recover(self, found):
            self.documents.recover(found[0])

    def undo(self) -> None:
        history = self.session.doc.history if self.session else None
        # While painting, the stroke becomes one step when the button is released.
        if history is not None and history.can_undo and not self.canvas.painting:
            history.undo()

    def redo(self) -> None:
        history = self.session.doc.history if self.session else None
        if history is not None and history.can_redo and not self.canvas.painting:
            history.redo()

    def set_tool(self, name: str) -> None:
        self.commands.tools[name].setChecked(True)
        self.canvas.set_tool(name)
        self.selection.set_active(name == "sam")

    def _on_cursor(self, x: int, y: int, chunk: str) -> None:
        self.cursor_label.setText("" if x < 0 else f"{x}, {y}" + (f"  {chunk}" if chunk else ""))

    def _update_status(self) -> None:
        self.device_label.setText(self.worker.device_text)
        memory = self.worker.gpu_memory_bytes
        self.memory_label.setText("" if memory is None else f"GPU {memory / 2**30:.2f} GiB")

    # ================================================================= settings, models

    def open_preferences(self) -> None:
        dialog = PreferencesDialog(self.settings, self)
        if dialog.exec():
            self.apply_settings(dialog.result_settings())
        dialog.deleteLater()

    def apply_settings(self, settings: AppSettings) -> None:
        old_choice = self.generator_locator.model_choice(self.settings)  # a project's own
        self.settings = settings
        self._save_settings()
        if self.generator_locator.model_choice(settings) != old_choice:
            self.worker.set_models(self.generator_locator.model_choice(settings))
            self.documents.load_directions(again=True)
        apply_theme(QApplication.instance(), settings.theme)
        self.documents.apply_autosave_interval()
        self.inversion.defaults_changed()
        self.preview.refresh()  # renders again when the precision changed
        self.commands.whole_photo.refresh()  # so does an open Whole Photo view
        if self.session is None:
            self.refresh_welcome()

    def _save_settings(self) -> None:
        try:
            self.settings.save(self.settings_path)
        except OSError as error:
            self.show_message(f"Could not save the preferences: {error}", error=True)

    def refresh_welcome(self) -> None:
        self.welcome.refresh(self.models.store_or_none(), self.settings.model_choice(),
                             self.settings.recent_files)

    # ================================================================= window events

    def dragEnterEvent(self, event) -> None:
        if prompts.dropped_path(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = prompts.dropped_path(event.mimeData())
        if path is not None:
            event.acceptProposedAction()
            self.open_path(path)

    def close_discarding(self) -> None:
        """Close without the unsaved-changes question (screenshots, unattended runs); an
        autosave already written stays for recovery."""
        self.discard_on_close = True
        self.close()

    def closeEvent(self, event) -> None:
        close_window(self, event)

