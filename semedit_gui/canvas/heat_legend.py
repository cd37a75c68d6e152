"""The key to the Differences heat map: its colour bar from "no change" to "largest
change", and what is measured, in the canvas's bottom-left corner while the map shows.

The bar's colours are made by the renderer's own `difference_heat_map`, so the key can
never disagree with the map.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

__all__ = ["HeatLegend", "heat_ramp"]

BAR_WIDTH, BAR_HEIGHT = 220, 12
_MARGIN = 10  # from the view's corner, in screen pixels


def heat_ramp(width: int = BAR_WIDTH) -> np.ndarray:
    """uint8 [width, 3]: the heat map's colours from no change (left) to the largest (right)."""
    import torch  # the renderer's module loads torch: only when a legend is first built

    from core.edit.render import difference_heat_map

    levels = torch.linspace(0, 255, width).round().to(torch.uint8)
    changed = levels.view(1, width, 1).expand(1, width, 3).contiguous()
    return difference_heat_map(changed, torch.zeros_like(changed))[0].numpy()


def unit_sentence() -> str:
    from core.edit.render import DIFF_FLOOR

    return ("Per pixel: the largest change of red, green or blue. Yellow = the largest "
            f"change in this view (at least {DIFF_FLOOR} of 255 levels).")


class HeatLegend(QFrame):
    """A key drawn over the bottom-left corner of `view` (a QAbstractScrollArea), following
    its size; it takes no mouse events, so painting under it works as usual."""

    def __init__(self, view: QWidget):
        super().__init__(view)
        self.setObjectName("heatLegend")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet("#heatLegend { background: rgba(0, 0, 0, 185); border-radius: 4px; }"
                           " QLabel { color: white; background: transparent; }")
        self.title = QLabel("<b>Differences</b>")
        self.bar = QLabel()
        self.low, self.high = QLabel("no change"), QLabel("largest change")
        self.high.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.unit = QLabel()
        self.unit.setWordWrap(True)
        self.unit.setFixedWidth(BAR_WIDTH)
        ends = QHBoxLayout()
        ends.setContentsMargins(0, 0, 0, 0)
        ends.addWidget(self.low)
        ends.addWidget(self.high)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.bar)
        layout.addLayout(ends)
        layout.addWidget(self.unit)
        self._built = False
        self._view = view
        view.viewport().installEventFilter(self)  # its size is settled after the view's
        self.hide()

    def show_for(self, shown: bool) -> None:
        """Show the key (the canvas shows a heat map) or hide it."""
        if shown and not self._built:
            self._build()
        self.setVisible(shown)
        if shown:
            self._place()
            self.raise_()

    def _build(self) -> None:
        ramp = np.ascontiguousarray(np.repeat(heat_ramp()[None], BAR_HEIGHT, axis=0))
        image = QImage(ramp.data, BAR_WIDTH, BAR_HEIGHT, 3 * BAR_WIDTH,
                       QImage.Format.Format_RGB888)
        self.bar.setPixmap(QPixmap.fromImage(image.copy()))
        self.unit.setText(unit_sentence())
        self._built = True

    def _place(self) -> None:
        # A child of the view, not of the viewport, so scrolling never moves it.
        self.adjustSize()
        viewport = self._view.viewport().geometry()
        self.move(viewport.bottomLeft() + QPoint(_MARGIN, -_MARGIN - self.height()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False
