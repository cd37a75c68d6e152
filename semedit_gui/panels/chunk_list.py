"""The Chunks panel's list: the document's chunks as table rows, top chunk first, and the
delegate that picks a chunk's latent space."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QStyledItemDelegate,
)

from core.errors import SemeditError
from core.project.document import SPACES, Chunk
from semedit_gui.panels.inversion_words import SPACE_LABELS

COLUMN_COLOUR, COLUMN_NAME, COLUMN_VISIBLE, COLUMN_LOCKED, COLUMN_SPACE, COLUMN_CODE = range(6)
HEADERS = ("", "Name", "Show", "Lock", "Space", "Code")
HEADER_TIPS = (
    "Overlay colour (click a swatch to change it)",
    "Chunk name (double-click or F2 to rename)",
    "Show or hide the chunk's overlay (a hidden chunk still owns its pixels)",
    "Lock the chunk's mask and name against changes",
    "Latent space the chunk is inverted into: W, W+ or S (as in the Inversion panel)",
    "● when the chunk has been inverted and has its own latent code",
)


def space_short_label(space: str) -> str:
    """The Inversion panel's name of a latent space without its explanation: 'W+' for
    'W+ (per layer, balanced)'; the space's own id if the panel has no name for it."""
    return SPACE_LABELS.get(space, space).split(" (")[0]


class ChunkListModel(QAbstractTableModel):
    """The chunks of a session's document, top chunk in row 0.

    The model keeps its own copy of the list, refreshed by `reload()` inside a model reset,
    so the rows a view sees only change when the view is told.
    """

    message = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._session = None
        self._rows: list[Chunk] = []

    # ----------------------------------------------------------------- session

    def set_session(self, session) -> None:
        self._session = session
        self.reload()

    def reload(self) -> None:
        """Re-read the chunk list (after chunks were added, removed or reordered)."""
        self.beginResetModel()
        chunks = self._session.doc.chunks if self._session is not None else []
        self._rows = list(reversed(chunks))
        self.endResetModel()

    def refresh_chunk(self, chunk: Chunk) -> None:
        row = self.row_of(chunk)
        if row is not None:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    def refresh_all(self) -> None:
        """Redraw every row (undo of an inversion changes codes and spaces silently)."""
        if self._rows:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._rows) - 1, len(HEADERS) - 1))

    def chunk_at(self, row: int) -> Chunk | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, chunk: Chunk | None) -> int | None:
        return next((i for i, c in enumerate(self._rows) if c is chunk), None)

    # ----------------------------------------------------------------- Qt model

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt's own default)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[section]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole) -> Any:
        chunk = self.chunk_at(index.row()) if index.isValid() else None
        if chunk is None:
            return None
        column = index.column()
        roles = Qt.ItemDataRole
        if column == COLUMN_COLOUR:
            if role == roles.DecorationRole:
                return QColor(*chunk.colour)
            if role == roles.ToolTipRole:
                return "Overlay colour: click to change it"
        elif column == COLUMN_NAME:
            if role in (roles.DisplayRole, roles.EditRole):
                return chunk.name
            if role == roles.ToolTipRole:
                return f"{chunk.name} (locked)" if chunk.locked else chunk.name
        elif column in (COLUMN_VISIBLE, COLUMN_LOCKED):
            on = chunk.visible if column == COLUMN_VISIBLE else chunk.locked
            if role == roles.CheckStateRole:
                return Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
            if role == roles.ToolTipRole:
                return HEADER_TIPS[column]
        elif column == COLUMN_SPACE:
            if role == roles.DisplayRole:
                return space_short_label(chunk.space)
            if role == roles.EditRole:
                return chunk.space
            if role == roles.ToolTipRole:
                return self._space_tip(chunk)
        elif column == COLUMN_CODE:
            if role == roles.DisplayRole:
                return "●" if chunk.code is not None else ""
            if role == roles.ToolTipRole:
                return ("Inverted: the chunk has its own latent code"
                        if chunk.code is not None else "Not inverted yet")
            if role == roles.TextAlignmentRole:
                return Qt.AlignmentFlag.AlignCenter
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        chunk = self.chunk_at(index.row()) if index.isValid() else None
        if chunk is None:
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        column = index.column()
        if column == COLUMN_NAME and not chunk.locked:
            flags |= Qt.ItemFlag.ItemIsEditable
        elif column in (COLUMN_VISIBLE, COLUMN_LOCKED):
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        elif column == COLUMN_SPACE and self._space_settable(chunk):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index: QModelIndex, value: Any, role=Qt.ItemDataRole.EditRole) -> bool:
        chunk = self.chunk_at(index.row()) if index.isValid() else None
        if chunk is None or self._session is None:
            return False
        chunks = self._session.chunk_set
        column = index.column()
        if column == COLUMN_NAME and role == Qt.ItemDataRole.EditRole:
            return self._apply(chunks.rename, chunk, str(value))
        if column in (COLUMN_VISIBLE, COLUMN_LOCKED) and role == Qt.ItemDataRole.CheckStateRole:
            on = Qt.CheckState(value) == Qt.CheckState.Checked
            setter = chunks.set_visible if column == COLUMN_VISIBLE else chunks.set_locked
            return self._apply(setter, chunk, on)
        if column == COLUMN_SPACE and role == Qt.ItemDataRole.EditRole \
                and self._space_settable(chunk):
            return self._apply(chunks.set_space, chunk, str(value))
        return False

    # ----------------------------------------------------------------- helpers

    def _apply(self, setter, chunk: Chunk, value: Any) -> bool:
        # A refused value is reported; returning False leaves the view showing the old one.
        try:
            setter(chunk, value)
        except SemeditError as error:
            self.message.emit(str(error))
            return False
        return True

    def _space_settable(self, chunk: Chunk) -> bool:
        return chunk.code is None and self._session is not None

    def _space_tip(self, chunk: Chunk) -> str:
        label = SPACE_LABELS.get(chunk.space, chunk.space)
        if chunk.code is not None:
            return f"Inverted in {label}: the space is fixed while the chunk has a latent code"
        return f"Latent space for the inversion: {label}; double-click to change"


class SpaceDelegate(QStyledItemDelegate):
    """A combo box of latent spaces for the Space column; a choice applies at once."""

    def createEditor(self, parent, option, index):
        combo = QComboBox(parent)
        for space in SPACES:
            combo.addItem(SPACE_LABELS.get(space, space), space)
        combo.activated.connect(lambda _i: self._commit(combo))
        return combo

    def setEditorData(self, editor, index) -> None:
        editor.setCurrentIndex(max(editor.findData(index.data(Qt.ItemDataRole.EditRole)), 0))

    def setModelData(self, editor, model, index) -> None:
        model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)

    def _commit(self, combo: QComboBox) -> None:
        self.commitData.emit(combo)
        self.closeEditor.emit(combo)
