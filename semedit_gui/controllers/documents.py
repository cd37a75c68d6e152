"""The project lifecycle without widgets: new from a photo, open, save, save as,
autosave, crash recovery, export, recent files, and the edit directions of the document.

Questions to the user (unsaved changes, where to save) are callables the window passes
in, so tests answer them directly. File reads and writes run on the file worker; opening
a photo and exporting need the generator and run on the GPU worker. A save the user asked
for is `must_finish`: queued behind an autosave, or still queued when the app closes, it
is written all the same.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from core.errors import SemeditError
from core.project import PROJECT_SUFFIX, Document
from semedit_gui import jobs
from semedit_gui.autosave import AutosaveSlot, Recovery, pending_recoveries
from semedit_gui.controllers.job_registry import JobRegistry
from semedit_gui.session import EditorSession
from semedit_gui.settings import AppSettings
from semedit_gui.worker import Task


class DocumentController(QObject):
    session_switching = Signal()  # another document (or none) comes next: what was about
    # this one goes (e.g. an error bar), before anything about the next one is said
    session_changed = Signal(object)  # the new EditorSession, or None
    document_opened = Signal()  # a document is on screen (after session_changed)
    photo_opening = Signal()  # a new document is about to be made from a photo (its job next)
    directions_loaded = Signal(object)  # the direction list for the current session
    message = Signal(str, bool)  # text, is it an error
    face_needed = Signal(object)  # the photo's Path: no face found, the user chooses a crop

    def __init__(self, registry: JobRegistry, settings: Callable[[], AppSettings],
                 save_settings: Callable[[], None], *,
                 ask_unsaved_changes: Callable[[], str],
                 ask_save_path: Callable[[Path], Path | None],
                 autosave_slot: AutosaveSlot | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.registry = registry
        self._settings = settings
        self._save_settings = save_settings
        self._ask_unsaved_changes = ask_unsaved_changes
        self._ask_save_path = ask_save_path
        self.autosave_slot = autosave_slot or AutosaveSlot()
        self.session: EditorSession | None = None
        self._directions_session: EditorSession | None = None  # whose directions we have
        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.apply_autosave_interval()

    # ----------------------------------------------------------------- the session

    def set_session(self, session: EditorSession | None) -> None:
        self.session_switching.emit()
        old, self.session = self.session, session
        if old is not None:
            old.close()
            old.deleteLater()
        self._directions_session = None
        self.session_changed.emit(session)
        if session is not None:
            self.load_directions()
            self.document_opened.emit()

    def adopt(self, doc: Document, path: Path | None = None, *, unsaved_copy: bool = False,
              photo_path: Path | None = None) -> EditorSession:
        """Make `doc` the open document (`unsaved_copy`: it exists in no file yet)."""
        session = EditorSession(doc, path, parent=self)
        session.photo_path = photo_path
        if unsaved_copy:
            session.mark_recovered()
        self.set_session(session)
        return session

    def open_path(self, path: Path) -> Task | None:
        """Open a photo (a new project) or a .semedit project, after the unsaved prompt."""
        path = Path(path)
        if not self.confirm_discard():
            return None
        if path.suffix.lower() == PROJECT_SUFFIX:
            return self.registry.submit("open", f"Opening {path.name}", jobs.open_project(path),
                                        files=True,
                                        on_success=lambda doc: self._opened_project(doc, path))
        return self.open_photo(path)

    def open_photo(self, path: Path, *, align: bool = True, face_index: int | None = None,
                   square: tuple[int, int, int] | None = None) -> Task:
        """A new document from a photo: its largest face, face `face_index`, a `square`
        (x0, y0, side) the user placed, or the whole image (align=False; centre square).
        No unsaved-changes question: `open_path` and `choose_face` ask it."""
        self.photo_opening.emit()  # e.g. back to the Preferences' generator, before the job
        return self.registry.submit(
            "open", f"Opening {Path(path).name}",
            jobs.open_photo(Path(path), align=align, face_index=face_index, square=square),
            on_success=self._opened_photo, reason="Opening a photo")

    def choose_face(self, *, align: bool = True, face_index: int | None = None,
                    square: tuple[int, int, int] | None = None) -> Task | None:
        """Open the current document's photo again around another face (or crop)."""
        session = self.session
        if session is None or session.photo_path is None or not self.confirm_discard():
            return None
        return self.open_photo(session.photo_path, align=align, face_index=face_index,
                               square=square)

    def _opened_photo(self, opened: jobs.OpenedPhoto | jobs.FaceNeeded) -> None:
        if self.registry.closing:
            return
        if isinstance(opened, jobs.FaceNeeded):
            self.message.emit(f"No face was found in {opened.path.name}. Choose what to edit: "
                              "the whole image, or a square you place on the face.", False)
            self.face_needed.emit(opened.path)
            return
        session = self.adopt(opened.document, photo_path=opened.path)
        session.face_boxes = opened.face_boxes
        if not _bundled(opened.path):  # the sample has its own button on the welcome page
            self.add_recent(opened.path)
        notes = list(opened.notes)
        if len(opened.face_boxes) > 1:
            notes.append(f"It has {len(opened.face_boxes)} faces; face {opened.face_index + 1}"
                         " is used (Edit ▸ Choose Face… picks another).")
        self.message.emit(" ".join([f"Opened {opened.path.name}.", *notes,
                                    "Next: Auto Chunks, or paint chunks with the brush."]), False)

    def _opened_project(self, doc: Document, path: Path) -> None:
        if self.registry.closing:
            return
        self.adopt(doc, path)
        self.add_recent(path)
        self.message.emit(f"Opened {path.name}.", False)

    def close_document(self) -> bool:
        if not self.confirm_discard():
            return False
        self.set_session(None)
        self.autosave_slot.clear()
        return True

    def confirm_discard(self) -> bool:
        """True when the current document may be replaced (saved, discarded or clean)."""
        if self.session is None or not self.session.dirty:
            return True
        choice = self._ask_unsaved_changes()
        if choice == "save":
            return self.save(blocking=True)
        return choice == "discard"

    # ----------------------------------------------------------------- saving

    def save(self, *, blocking: bool = False) -> bool:
        if self.session is None:
            return False
        if self.session.path is None:
            return self.save_as(blocking=blocking)
        return self.save_to(self.session.path, blocking=blocking) is not False

    def save_as(self, *, blocking: bool = False) -> bool:
        session = self.session
        if session is None:
            return False
        path = self._ask_save_path(self.default_save_path())
        if path is None:
            return False
        return self.save_to(path, blocking=blocking) is not False

    def default_folder(self, kind: str = "project") -> Path:
        """Where Save As and Export start: the project's folder once it is saved, else the
        photo's folder when it is the user's (never the program's own sample folder),
        else the folder last saved in, else the user's Documents (`kind` "project") or
        Pictures ("image") folder."""
        session = self.session
        if session is not None and session.path is not None:
            return session.path.parent
        if session is not None and session.photo_path is not None \
                and _users_folder(session.photo_path.parent):
            return session.photo_path.parent
        for text in self._settings().recent_files:
            if Path(text).suffix == PROJECT_SUFFIX and _users_folder(Path(text).parent):
                return Path(text).parent
        return _standard_folder(kind)

    def _base_name(self) -> str:
        """The document's file name stem: its project's, else its photo's."""
        session = self.session
        if session.path is not None:
            return session.path.stem
        return Path(session.doc.photo_name).stem if session.doc.photo_name else "untitled"

    def default_save_path(self) -> Path:
        session = self.session
        if session.path is not None:
            return session.path
        return self.default_folder("project") / (self._base_name() + PROJECT_SUFFIX)

    def default_export_path(self) -> Path:
        return self.default_folder("image") / (self._base_name() + "-edited.png")

    def save_to(self, path: Path, *, blocking: bool = False) -> Task | bool:
        """Write the document to `path`: on the file worker (the Task), or now (closing:
        the file must exist before the app goes; True/False)."""
        session = self.session
        snapshot, at = session.doc.snapshot(), session.doc.history.last_done
        if blocking:
            from core.project import save_project

            try:
                save_project(snapshot, path, protect=session.photo_path)
            except SemeditError as error:
                self.message.emit(str(error), True)
                return False
            self._saved(session, path, at)
            return True
        return self.registry.submit(
            "save", f"Saving {path.name}", jobs.save_project(snapshot, path, session.photo_path),
            files=True, must_finish=True, on_success=lambda _p: self._saved(session, path, at))

    def _saved(self, session: EditorSession, path: Path, at: object) -> None:
        session.mark_saved(path, at)
        self.autosave_slot.clear()
        self.add_recent(path)
        self.message.emit(f"Saved {path.name}.", False)

    # ----------------------------------------------------------------- autosave, recovery

    def apply_autosave_interval(self) -> None:
        seconds = self._settings().autosave_seconds
        if seconds > 0:
            self.autosave_timer.start(seconds * 1000)
        else:
            self.autosave_timer.stop()

    def autosave_now(self) -> Task | None:
        """Write a recovery copy when there are unsaved changes (one at a time)."""
        session = self.session
        if session is None or not session.dirty or self.registry.active("autosave") \
                or self.registry.closing:
            return None
        target = self.autosave_slot.prepare()
        self.autosave_slot.write_note(session.title, session.path)
        return self.registry.submit("autosave", "Autosaving", jobs.save_project(
            session.doc.snapshot(), target, session.photo_path), files=True, quiet=True)

    def pending_recoveries(self) -> list[Recovery]:
        """Autosaves of apps that are no longer running (never this one's, never those of
        another SemEdit running now)."""
        return pending_recoveries(self.autosave_slot.folder, exclude=self.autosave_slot)

    def recover(self, recovery: Recovery) -> Task:
        def done(doc: Document) -> None:
            session = EditorSession(doc, None, parent=self)
            session.path = recovery.original  # Save writes where it came from, if anywhere
            session.mark_recovered()
            self.set_session(session)
            recovery.discard()
            self.message.emit(f"Recovered {recovery.title} (autosaved {recovery.saved_at_text})"
                              "; save it to keep it.", False)

        return self.registry.submit("open", f"Recovering {recovery.title}",
                                    jobs.open_project(recovery.project), files=True,
                                    on_success=done)

    # ----------------------------------------------------------------- export

    def export_to(self, options) -> Task | None:
        """Render and write the edited image (`ExportOptions`) on the GPU worker."""
        session = self.session
        if session is None:
            return None
        request = jobs.ExportRequest(options.path, options.full_photo, options.quality,
                                     options.keep_metadata, session.photo_path,
                                     force_fp32=self._settings().render_force_fp32,
                                     scale=options.scale, max_side=options.max_side)
        return self.registry.submit("export", f"Exporting {options.path.name}",
                                    jobs.export(session.doc.snapshot(), request),
                                    on_success=lambda p: self.message.emit(f"Exported {p}.",
                                                                           False))

    def export_masks_to(self, folder: Path) -> list[Path]:
        session = self.session
        if session is None or not session.doc.chunks:
            self.message.emit("There are no chunks to export.", False)
            return []
        written = []
        try:
            for chunk in session.doc.chunks:
                path = Path(folder) / f"{chunk.name}.png"
                session.chunk_set.export_mask(chunk, path)
                written.append(path)
        except SemeditError as error:
            self.message.emit(str(error), True)
        else:
            self.message.emit(f"Wrote {len(written)} masks to {folder}.", False)
        return written

    # ----------------------------------------------------------------- recent files

    def add_recent(self, path: Path) -> None:
        self._settings().add_recent(path)
        self._save_settings()

    def open_recent(self, path: str) -> Task | None:
        """Open a recent project, or a recent photo as a new document; a file that is gone
        is taken off the list."""
        if not Path(path).is_file():
            self._settings().remove_recent(path)
            self._save_settings()
            self.message.emit(f"{path} no longer exists; it was taken off the recent files.",
                              True)
            return None
        return self.open_path(Path(path))

    # ----------------------------------------------------------------- directions

    def load_directions(self, *, again: bool = False) -> Task | None:
        """The generator's edit directions for an inverted session (once per session,
        `again` after the models changed); the first ones are computed, which takes a
        while."""
        session = self.session
        if session is None or not session.inverted:
            return None
        if self._directions_session is session and not again:
            return None
        self._directions_session = session

        def loaded(directions) -> None:
            if self.session is session:
                session.edit_stacks.directions = {d.name for d in directions}
                self.directions_loaded.emit(directions)

        return self.registry.submit("directions", "Loading edit directions",
                                    jobs.load_directions(), on_success=loaded,
                                    reason="Edit directions")


def _bundled(path: Path) -> bool:
    """A file that comes with the program (the sample photo)."""
    from core.resources import resources_dir

    try:
        return Path(path).resolve().is_relative_to(resources_dir().resolve())
    except OSError:
        return False


def _users_folder(folder: Path) -> bool:
    """A folder the user may write to that is not part of the installed program."""
    import os

    from core.resources import resources_dir

    try:
        folder = folder.resolve()
        if folder.is_relative_to(resources_dir().resolve()):
            return False
    except OSError:
        return False
    return folder.is_dir() and os.access(folder, os.W_OK)


def _standard_folder(kind: str) -> Path:
    """The user's Documents (projects) or Pictures (images) folder, else home."""
    import platformdirs

    folder = Path(platformdirs.user_pictures_dir() if kind == "image"
                  else platformdirs.user_documents_dir())
    return folder if folder.is_dir() else Path.home()
