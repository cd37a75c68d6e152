"""The open project as the window sees it: one Document, its editors and its file.

`EditorSession` turns the headless models' listeners (ChunkSet, EditStacks, History, all
called on the UI thread, where every change is made) into Qt signals the views connect
to, keeps the selected chunk, and knows whether there are unsaved changes by comparing
the history's last done step with the one recorded when the file was saved.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.edit.stack import EditStackEvent, EditStacks
from core.project import Document
from core.project.history import HistoryEvent
from core.segment.chunk_set import ChunkSet, ChunkSetEvent

_NOTHING_SAVED = object()


class EditorSession(QObject):
    """One open document. Views hold the session, never a Document of their own."""

    chunks_changed = Signal(object)  # ChunkSetEvent
    edits_changed = Signal(object)  # EditStackEvent
    history_changed = Signal(object)  # HistoryEvent
    document_changed = Signal()  # anything that may change the rendered image
    selection_changed = Signal(object)  # the selected Chunk or None
    dirty_changed = Signal(bool)
    path_changed = Signal(object)  # Path or None

    def __init__(self, doc: Document, path: Path | None = None, *,
                 directions=None, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = doc
        self.path = path
        self.chunk_set = ChunkSet(doc)
        self.edit_stacks = EditStacks(doc, directions=directions)
        self.photo_path: Path | None = None  # where a new document's photo was opened from
        self.face_boxes: tuple = ()  # the faces found in that photo, largest first
        self.revision = 0  # bumped whenever masks change (not part of preview snapshots)
        self._selected = doc.chunks[-1] if doc.chunks else None
        self._saved_at: object = doc.history.last_done if path else _NOTHING_SAVED
        self._unsaved_copy = False  # a recovered autosave: unsaved until saved somewhere
        self._was_dirty = self.dirty
        self.chunk_set.add_listener(self._on_chunks)
        self.edit_stacks.add_listener(self._on_edits)
        doc.history.add_listener(self._on_history)

    def close(self) -> None:
        """Stop listening to the models (the session is being replaced)."""
        self.chunk_set.remove_listener(self._on_chunks)
        self.edit_stacks.remove_listener(self._on_edits)
        self.doc.history.remove_listener(self._on_history)

    # ----------------------------------------------------------------- selection

    @property
    def selected(self):
        """The selected chunk, or None (no chunks, or the selected one was deleted)."""
        if self._selected is not None and self._selected not in self.doc.chunks:
            self._selected = None
        return self._selected

    def select(self, chunk) -> None:
        chunk = None if chunk is None else self.doc.chunk(chunk)
        if chunk is not self._selected:
            self._selected = chunk
            self.selection_changed.emit(chunk)

    # ----------------------------------------------------------------- saving

    @property
    def dirty(self) -> bool:
        """True when the document differs from its file (or has never been saved)."""
        if self._unsaved_copy:
            return True
        if self._saved_at is _NOTHING_SAVED:  # a photo just opened is not a change yet
            return self.doc.history.last_done is not None
        return self.doc.history.last_done is not self._saved_at

    def mark_saved(self, path: Path, saved_at: object = _NOTHING_SAVED) -> None:
        """The document was written to `path` as it was at history step `saved_at`
        (default: now; a save that ran in the background passes the step it copied)."""
        self._saved_at = self.doc.history.last_done if saved_at is _NOTHING_SAVED else saved_at
        self._unsaved_copy = False
        if path != self.path:
            self.path = path
            self.path_changed.emit(path)
        self._update_dirty()

    def mark_recovered(self) -> None:
        """The document came from an autosave: it differs from any file until saved."""
        self._unsaved_copy = True
        self._update_dirty()

    @property
    def title(self) -> str:
        if self.path is not None:
            return self.path.name
        return Path(self.doc.photo_name).stem + " (unsaved)" if self.doc.photo_name \
            else "Untitled"

    @property
    def inverted(self) -> bool:
        return bool(self.doc.chunks) and all(c.code is not None for c in self.doc.chunks)

    def changed_elsewhere(self) -> None:
        """Tell the views that codes, masks or chunks changed outside ChunkSet and
        EditStacks (an inversion result was stored)."""
        self.revision += 1
        if self.selected is None and self.doc.chunks:
            self.select(self.doc.chunks[-1])
        self.chunks_changed.emit(ChunkSetEvent("list"))
        self.document_changed.emit()

    # ----------------------------------------------------------------- listeners

    def _on_chunks(self, event: ChunkSetEvent) -> None:
        self.revision += 1
        if event.kind == "list" and self.selected is None and self.doc.chunks:
            self.select(self.doc.chunks[-1])
        elif event.kind == "list" and not self.doc.chunks:
            self.select(None)
        self.chunks_changed.emit(event)
        self.document_changed.emit()

    def _on_edits(self, event: EditStackEvent) -> None:
        self.edits_changed.emit(event)
        self.document_changed.emit()

    def _on_history(self, event: HistoryEvent) -> None:
        if event.kind in ("undo", "redo"):
            # Undo of an inversion or of edits changes codes no other listener reports.
            self.revision += 1
            self.document_changed.emit()
        self.history_changed.emit(event)
        self._update_dirty()

    def _update_dirty(self) -> None:
        dirty = self.dirty
        if dirty != self._was_dirty:
            self._was_dirty = dirty
            self.dirty_changed.emit(dirty)
