"""The brush options toolbar: size, hardness and opacity, kept in step with the canvas."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSlider, QSpinBox, QToolBar

from core.segment.brush import MAX_BRUSH_SIZE, Brush


class BrushBar(QToolBar):
    def __init__(self, canvas, parent=None):
        super().__init__("Brush", parent)
        self.setObjectName("brushToolbar")
        self.canvas = canvas
        self.size = QSpinBox(minimum=1, maximum=int(MAX_BRUSH_SIZE), suffix=" px")
        self.size.setToolTip("Brush size ([ and ] change it)")
        self.hardness = _percent_slider("Edge hardness")
        self.opacity = _percent_slider("Opacity: one stroke never paints above it")
        self.opacity.setMinimum(1)
        for text, widget in (("Size", self.size), ("Hardness", self.hardness),
                             ("Opacity", self.opacity)):
            self.addWidget(QLabel(f" {text} "))
            self.addWidget(widget)
        self._show(canvas.brush)
        canvas.brush_changed.connect(self._show)
        self.size.valueChanged.connect(self._apply)
        self.hardness.valueChanged.connect(self._apply)
        self.opacity.valueChanged.connect(self._apply)

    def _show(self, brush: Brush) -> None:
        for widget, value in ((self.size, round(brush.size)),
                              (self.hardness, round(brush.hardness * 100)),
                              (self.opacity, round(brush.opacity * 100))):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)

    def _apply(self) -> None:
        self.canvas.set_brush(replace(self.canvas.brush, size=float(self.size.value()),
                                      hardness=self.hardness.value() / 100,
                                      opacity=self.opacity.value() / 100))


def _percent_slider(tip: str) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, 100)
    slider.setFixedWidth(90)
    slider.setToolTip(tip)
    return slider
