"""The dock panels around the canvas, and their default layout.

Left, the jobs that make codes: Inversion and Hair transfer as tabs (Inversion in front;
each is taller than half a small screen). Right, the editing: Chunks, Edits, History,
Edits with the most height so several edit rows show. Every panel's buttons stay on
screen in a 1024×700 window (tests/gui/test_layout_sizes.py).

A layout the user arranged comes back at the next start (`window.actions.restore_layout`)
only when it was saved under this LAYOUT_VERSION: one saved by an older version, whose
docks were all stacked, gives way to this default once.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QFrame, QScrollArea, QWidget

from semedit_gui.panels import ChunksPanel, EditsPanel, HairPanel, HistoryPanel, InversionPanel

# 0: what Qt's saveState wrote before versions (Hair stacked under Edits); 1: Hair and
# Inversion as tabs. Bump it when the default layout changes again.
LAYOUT_VERSION = 1
RIGHT, LEFT = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.LeftDockWidgetArea
# Shares of the right side's height; Qt alone gives nearly all of it to the Chunks table.
RIGHT_SHARES = (("Chunks", 26), ("Edits", 54), ("History", 20))
SCROLLED = ("Inversion", "Hair")  # tall forms: they scroll in a window lower than they are


def scrolled(panel: QWidget) -> QScrollArea:
    """`panel` in a vertical scroll area as wide as the panel needs (no sideways scroll)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes to the form's fields, not here
    area.setWidget(panel)
    bar = area.verticalScrollBar().sizeHint().width()
    area.setMinimumWidth(panel.minimumSizeHint().width() + bar)
    return area


class DockLayout(QObject):
    """The panels of `window` (set as `window.chunks_panel`, `.edits_panel`,
    `.history_panel`, `.hair_panel`, `.inversion_panel`), their docks (`docks`, by
    title) in the default layout, and saving / restoring the user's arrangement."""

    def __init__(self, window):
        super().__init__(window)
        self._window = window
        window.chunks_panel, window.edits_panel = ChunksPanel(), EditsPanel()
        window.history_panel, window.hair_panel = HistoryPanel(), HairPanel()
        window.inversion_panel = InversionPanel(defaults=window.settings.inversion_defaults())
        self.docks: dict[str, QDockWidget] = {}
        for title, panel, area in (("Chunks", window.chunks_panel, RIGHT),
                                   ("Edits", window.edits_panel, RIGHT),
                                   ("History", window.history_panel, RIGHT),
                                   ("Inversion", window.inversion_panel, LEFT),
                                   ("Hair", window.hair_panel, LEFT)):
            dock = QDockWidget(title, window)
            dock.setObjectName(f"{title.lower()}Dock")  # saveState/restoreState use it
            dock.setWidget(scrolled(panel) if title in SCROLLED else panel)
            window.addDockWidget(area, dock)
            self.docks[title] = dock
        window.tabifyDockWidget(self.docks["Inversion"], self.docks["Hair"])
        self.docks["Inversion"].raise_()
        self.restored = False  # True once the user's own arrangement came back
        # Hidden docks cannot be sized: the shares apply when they first show (a photo).
        self.docks["Edits"].visibilityChanged.connect(self._first_shown)

    def restore(self, state: str) -> bool:
        """The arrangement `save` wrote (base64); False, keeping the default, for one saved
        by an older version or damaged."""
        self.restored = bool(state) and self._window.restoreState(
            QByteArray.fromBase64(state.encode()), LAYOUT_VERSION)
        return self.restored

    def save(self) -> str:
        return bytes(self._window.saveState(LAYOUT_VERSION).toBase64()).decode()

    def _first_shown(self, visible: bool) -> None:
        if not visible:
            return
        self.docks["Edits"].visibilityChanged.disconnect(self._first_shown)
        if not self.restored:  # after this round of layout, when the docks have a size
            QTimer.singleShot(0, self._share_right_side)

    def _share_right_side(self) -> None:
        docks = [self.docks[title] for title, _ in RIGHT_SHARES]
        total = self._window.centralWidget().height()  # about the docks' column
        self._window.resizeDocks(docks, [total * share // 100 for _, share in RIGHT_SHARES],
                                 Qt.Orientation.Vertical)
