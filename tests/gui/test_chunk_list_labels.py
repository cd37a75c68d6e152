"""The Chunks list names latent spaces as the Inversion panel does ('W+', not 'wplus')
and its Space editor offers the panel's labels (offscreen)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyleOptionViewItem, QWidget

from core.project import Document
from semedit_gui.panels.chunk_list import COLUMN_SPACE, SpaceDelegate, space_short_label
from semedit_gui.panels.chunks_panel import ChunksPanel
from semedit_gui.panels.inversion_words import SPACE_LABELS
from semedit_gui.session import EditorSession

R = 32


def test_space_column_shows_the_inversion_panels_names(qtbot):
    assert [space_short_label(s) for s in ("w", "wplus", "s")] == ["W", "W+", "S"]
    doc = Document(aligned=np.zeros((R, R, 3), np.uint8))
    for name, space in (("face", "wplus"), ("eyes", "w"), ("hair", "s")):
        doc.add_chunk(np.zeros((R, R), np.float32), name=name, space=space)
    session = EditorSession(doc)
    panel = ChunksPanel(session)
    qtbot.addWidget(panel)
    model = panel.model
    rows = {model.index(row, 1).data(): model.index(row, COLUMN_SPACE) for row in range(3)}
    assert rows["face"].data() == "W+" and rows["eyes"].data() == "W" \
        and rows["hair"].data() == "S"
    assert rows["face"].data(Qt.ItemDataRole.EditRole) == "wplus"  # what the editor sets
    assert SPACE_LABELS["wplus"] in rows["face"].data(Qt.ItemDataRole.ToolTipRole)
    assert "wplus" not in model.headerData(COLUMN_SPACE, Qt.Orientation.Horizontal,
                                           Qt.ItemDataRole.ToolTipRole)

    # The editor lists the panel's labels and sets the space's id.
    parent = QWidget()
    qtbot.addWidget(parent)
    delegate = SpaceDelegate()
    combo = delegate.createEditor(parent, QStyleOptionViewItem(), rows["face"])
    assert [combo.itemText(i) for i in range(combo.count())] == \
        [SPACE_LABELS[s] for s in ("w", "wplus", "s")]
    delegate.setEditorData(combo, rows["face"])
    assert combo.currentText() == SPACE_LABELS["wplus"]
    combo.setCurrentIndex(combo.findData("s"))
    delegate.setModelData(combo, model, rows["face"])
    assert doc.chunk("face").space == "s" and rows["face"].data() == "S"
    session.close()
