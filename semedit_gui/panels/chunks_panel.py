"""The Chunks panel: the document's chunks as layers, top chunk first, and mask operations.

Every change goes through the session's `ChunkSet`, so each is one undo step and the list
redraws from the set's events, whether the change came from here, the canvas or undo.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QSpinBox,
    QToolBar,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from core.project.document import Chunk
from core.segment.chunk_set import ChunkSetEvent
from semedit_gui.panels.chunk_list import (  # noqa: F401  (column numbers: tests use them)
    COLUMN_CODE,
    COLUMN_COLOUR,
    COLUMN_LOCKED,
    COLUMN_NAME,
    COLUMN_SPACE,
    COLUMN_VISIBLE,
    HEADERS,
    ChunkListModel,
    SpaceDelegate,
)
from semedit_gui.panels.common import Reentry, SignalLinks, run_reporting

DEFAULT_RADIUS_PX = 4
COMBINE_OPERATIONS = (
    ("union", "Add another chunk"),
    ("subtract", "Subtract another chunk"),
    ("intersect", "Intersect with another chunk"),
)


class ChunksPanel(QWidget):
    """Chunk list with visibility, lock, colour, renaming, ordering and mask operations.

    Acts on `session.selected`. User errors from core are emitted as `message` sentences.
    """

    message = Signal(str)

    def __init__(self, session=None, parent: QWidget | None = None):
        super().__init__(parent)
        self._session = None
        self._links = SignalLinks()
        self._syncing_selection = Reentry()

        self.model = ChunkListModel(self)
        self.model.message.connect(self.message)
        self.view = QTreeView(self)
        self.view.setModel(self.model)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAllColumnsShowFocus(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.view.setItemDelegateForColumn(COLUMN_SPACE, SpaceDelegate(self.view))
        header = self.view.header()
        header.setStretchLastSection(False)
        for column in range(len(HEADERS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMN_NAME, QHeaderView.ResizeMode.Stretch)
        self.view.clicked.connect(self._on_clicked)
        self.view.selectionModel().currentRowChanged.connect(self._on_current_row_changed)

        self._build_actions()
        self.radius_spin = QSpinBox(self)
        self.radius_spin.setRange(1, 256)
        self.radius_spin.setValue(DEFAULT_RADIUS_PX)
        self.radius_spin.setSuffix(" px")
        self.radius_spin.setToolTip("Radius for Grow, Shrink and Feather")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self._build_toolbar())
        layout.addWidget(self.view, 1)
        mask_row = QHBoxLayout()
        mask_row.addWidget(self.mask_button)
        mask_row.addStretch(1)
        mask_row.addWidget(QLabel("Radius", self))
        mask_row.addWidget(self.radius_spin)
        layout.addLayout(mask_row)
        self.set_session(session)

    # ----------------------------------------------------------------- building

    def _action(self, text: str, tip: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        if shortcut is not None:
            action.setShortcut(shortcut)
            # Only while the panel has focus: Delete on the canvas means something else.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.add_action = self._action("Add", "Add an empty chunk on top", self.add_chunk)
        self.duplicate_action = self._action(
            "Duplicate", "Copy the selected chunk's mask into a new chunk above it",
            self.duplicate_chunk)
        self.delete_action = self._action("Delete", "Delete the selected chunk (undoable)",
                                          self.delete_chunk,
                                          QKeySequence(QKeySequence.StandardKey.Delete))
        self.move_up_action = self._action(
            "Up", "Move the chunk up: it then wins more overlapping pixels", self.move_up)
        self.move_down_action = self._action("Down", "Move the chunk down", self.move_down)

        self.grow_action = self._action("Grow", "Grow the mask by the radius", self.grow)
        self.shrink_action = self._action("Shrink", "Shrink the mask by the radius", self.shrink)
        self.feather_action = self._action("Feather", "Soften the mask's edge over the radius",
                                           self.feather)
        self.fill_holes_action = self._action("Fill holes", "Fill holes inside the mask",
                                              self.fill_holes)
        self.invert_mask_action = self._action(
            "Invert mask", "Swap the pixels inside and outside the mask", self.invert_mask)
        self.clear_mask_action = self._action("Clear mask", "Empty the mask", self.clear_mask)
        self.import_action = self._action("Import mask as new chunk…",
                                          "Add a chunk from an 8- or 16-bit greyscale image",
                                          self.import_mask)
        self.load_mask_action = self._action(
            "Load mask into chunk…", "Replace the selected chunk's mask from an image file",
            self.load_mask)
        self.export_8_action = self._action("Export mask (8-bit)…", "Save the mask as a PNG",
                                            lambda: self.export_mask(bits=8))
        self.export_16_action = self._action(
            "Export mask (16-bit)…", "Save the mask as a 16-bit PNG (keeps soft edges)",
            lambda: self.export_mask(bits=16))

        self.mask_menu = QMenu("Mask", self)
        self.mask_menu.setToolTipsVisible(True)
        for action in (self.grow_action, self.shrink_action, self.feather_action,
                       self.fill_holes_action, self.invert_mask_action, self.clear_mask_action):
            self.mask_menu.addAction(action)
        self.combine_menu = self.mask_menu.addMenu("Combine with")
        self.combine_menu.aboutToShow.connect(self._fill_combine_menu)
        self.mask_menu.addSeparator()
        for action in (self.import_action, self.load_mask_action, self.export_8_action,
                       self.export_16_action):
            self.mask_menu.addAction(action)
        self.mask_button = QToolButton(self)
        self.mask_button.setText("Mask")
        self.mask_button.setToolTip("Operations on the selected chunk's mask")
        self.mask_button.setMenu(self.mask_menu)
        self.mask_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)

    def _build_toolbar(self) -> QToolBar:
        toolbar = QToolBar(self)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.add_action, self.duplicate_action, self.delete_action,
                       self.move_up_action, self.move_down_action):
            toolbar.addAction(action)
        return toolbar

    def _fill_combine_menu(self) -> None:
        """One submenu per operation listing the other chunks, top first."""
        self.combine_menu.clear()
        chunk = self._editable_chunk()
        if chunk is None:
            return
        others = [c for c in reversed(self._session.doc.chunks) if c is not chunk]
        for operation, title in COMBINE_OPERATIONS:
            submenu = self.combine_menu.addMenu(title)
            for other in others:
                action = submenu.addAction(other.name)
                action.triggered.connect(
                    lambda _checked=False, o=other, op=operation: self.combine(o, op))

    # ----------------------------------------------------------------- session

    def set_session(self, session) -> None:
        """Show `session` (or nothing for None), forgetting the previous one."""
        self._links.disconnect_all()
        self._session = session
        self.model.set_session(session)
        if session is not None:
            self._links.connect(session.chunks_changed, self._on_chunks_changed)
            self._links.connect(session.selection_changed, self._on_selection_changed)
            self._links.connect(session.history_changed, self._on_history_changed)
            self._show_selection()
        self._update_actions()

    @property
    def session(self):
        return self._session

    def _on_chunks_changed(self, event: ChunkSetEvent) -> None:
        if event.kind == "list":
            with self._syncing_selection():
                self.model.reload()
            self._show_selection()
        elif event.kind == "props" and event.chunk is not None:
            self.model.refresh_chunk(event.chunk)
        if event.kind != "mask":  # mask events come with every brush dab
            self._update_actions()

    def _on_history_changed(self, event) -> None:
        if event.kind in ("undo", "redo"):
            self.model.refresh_all()
        self._update_actions()

    def _on_selection_changed(self, _chunk) -> None:
        self._show_selection()
        self._update_actions()

    def _show_selection(self) -> None:
        selection = self.view.selectionModel()
        row = self.model.row_of(self._session.selected) if self._session is not None else None
        with self._syncing_selection():
            if row is None:
                selection.clear()
            else:
                selection.setCurrentIndex(
                    self.model.index(row, COLUMN_NAME),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows)

    def _on_current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing_selection.active or self._session is None or not current.isValid():
            return
        chunk = self.model.chunk_at(current.row())
        if chunk is not None:
            self._session.select(chunk)

    def _on_clicked(self, index: QModelIndex) -> None:
        if index.column() == COLUMN_COLOUR:
            chunk = self.model.chunk_at(index.row())
            if chunk is not None:
                self.choose_colour(chunk)

    # ----------------------------------------------------------------- state

    def _selected(self) -> Chunk | None:
        return self._session.selected if self._session is not None else None

    def _editable_chunk(self) -> Chunk | None:
        chunk = self._selected()
        return chunk if chunk is not None and not chunk.locked else None

    def _update_actions(self) -> None:
        chunk = self._selected()
        has_session = self._session is not None
        count = len(self._session.doc.chunks) if has_session else 0
        position = self._session.doc.chunk_index(chunk) if chunk is not None else -1
        editable = chunk is not None and not chunk.locked
        self.add_action.setEnabled(has_session)
        self.import_action.setEnabled(has_session)
        for action in (self.duplicate_action, self.delete_action, self.export_8_action,
                       self.export_16_action):
            action.setEnabled(chunk is not None)
        self.move_up_action.setEnabled(chunk is not None and position < count - 1)
        self.move_down_action.setEnabled(chunk is not None and position > 0)
        for action in (self.grow_action, self.shrink_action, self.feather_action,
                       self.fill_holes_action, self.invert_mask_action, self.clear_mask_action,
                       self.load_mask_action):
            action.setEnabled(editable)
        self.combine_menu.setEnabled(editable and count > 1)
        self.mask_button.setEnabled(has_session)

    # ----------------------------------------------------------------- operations

    def _run(self, action, *args, **kwargs):
        return run_reporting(self.message.emit, action, *args, **kwargs)

    def _apply_to_selected(self, operation: str, *args) -> None:
        """ChunkSet.`operation`(selected chunk, *args); nothing when no chunk is selected."""
        chunk = self._selected()
        if chunk is not None:
            self._run(getattr(self._session.chunk_set, operation), chunk, *args)

    def add_chunk(self) -> None:
        if self._session is not None:
            chunk = self._run(self._session.chunk_set.add)
            if chunk is not None:
                self._session.select(chunk)

    def duplicate_chunk(self) -> None:
        chunk = self._selected()
        if chunk is not None:
            copy = self._run(self._session.chunk_set.duplicate, chunk)
            if copy is not None:
                self._session.select(copy)

    def delete_chunk(self) -> None:
        self._apply_to_selected("remove")

    def move_up(self) -> None:
        self._move_by(+1)

    def move_down(self) -> None:
        self._move_by(-1)

    def _move_by(self, step: int) -> None:
        chunk = self._selected()
        if chunk is None:
            return
        target = self._session.doc.chunk_index(chunk) + step
        if 0 <= target < len(self._session.doc.chunks):
            self._run(self._session.chunk_set.move, chunk, target)

    def choose_colour(self, chunk: Chunk | None = None) -> None:
        chunk = chunk or self._selected()
        if chunk is None:
            return
        colour = QColorDialog.getColor(QColor(*chunk.colour), self, f"Colour of {chunk.name}")
        if colour.isValid():
            self._run(self._session.chunk_set.set_colour, chunk,
                      (colour.red(), colour.green(), colour.blue()))

    def grow(self) -> None:
        self._apply_to_selected("grow", self.radius_spin.value())

    def shrink(self) -> None:
        self._apply_to_selected("grow", -self.radius_spin.value())

    def feather(self) -> None:
        self._apply_to_selected("feather", self.radius_spin.value())

    def fill_holes(self) -> None:
        self._apply_to_selected("fill_holes")

    def invert_mask(self) -> None:
        self._apply_to_selected("invert")

    def clear_mask(self) -> None:
        self._apply_to_selected("clear")

    def combine(self, other: Chunk, operation: str) -> None:
        """Union, subtract or intersect the selected chunk's mask with `other`'s."""
        self._apply_to_selected("combine", other, operation)

    def import_mask(self, path: str | Path | None = None) -> None:
        """Add a chunk from a mask image (asks for the file when `path` is None)."""
        if self._session is None:
            return
        path = path or self._ask_mask_file("Import mask as new chunk")
        if not path:
            return
        loaded = self._run(self._session.chunk_set.import_mask, path)
        if loaded is not None:
            self._session.select(self._session.doc.chunks[-1])  # the new chunk, on top
            self._report_warning(loaded)

    def load_mask(self, path: str | Path | None = None) -> None:
        """Replace the selected chunk's mask from an image file."""
        chunk = self._selected()
        if chunk is None:
            return
        path = path or self._ask_mask_file(f"Load mask into {chunk.name}")
        if path:
            self._report_warning(self._run(self._session.chunk_set.import_mask, path, chunk))

    def export_mask(self, path: str | Path | None = None, bits: int = 8) -> None:
        """Save the selected chunk's mask as an 8- or 16-bit PNG."""
        chunk = self._selected()
        if chunk is None:
            return
        if not path:
            path, _filter = QFileDialog.getSaveFileName(
                self, f"Export mask of {chunk.name} ({bits}-bit)", f"{chunk.name}.png",
                "PNG images (*.png)")
            if not path:
                return
            if not path.lower().endswith(".png"):
                path += ".png"
        self._run(self._session.chunk_set.export_mask, chunk, path, bits=bits)

    def _ask_mask_file(self, title: str) -> str:
        path, _filter = QFileDialog.getOpenFileName(
            self, title, "", "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff);;All files (*)")
        return path

    def _report_warning(self, loaded) -> None:
        if loaded is not None and loaded.warning:
            self.message.emit(loaded.warning)
