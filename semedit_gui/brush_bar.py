"""The brush options toolbar: size, hardness and opacity, kept in step with the canvas."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSlider, QSpinBox, QToolBar

from core.segment.brush import MAX_BRUSH_SIZE, Brush
from core.segment.bucket import MAX_TOLERANCE


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
        self.on_screen = QLabel("")  # the same size in screen pixels, at this zoom
        self.on_screen.setToolTip("The brush size on screen at the current zoom (the size "
                                  "box is in pixels of the image)")
        for text, widget in (("Size", self.size), ("", self.on_screen),
                             ("Hardness", self.hardness), ("Opacity", self.opacity)):
            self.addWidget(QLabel(f" {text} "))
            self.addWidget(widget)
        # Fill's option, first in the bar while Fill is the tool (brush options stay after).
        self.tolerance = _fill_tolerance_box(canvas.tools["fill"])
        first = self.actions()[0]
        self.fill_options = [self.insertWidget(first, QLabel(" Fill tolerance ")),
                             self.insertWidget(first, self.tolerance)]
        canvas.tool_changed.connect(self._show_tool_options)
        self._show_tool_options(canvas.tool)
        self._document_open = True
        self._show(canvas.brush)
        canvas.brush_changed.connect(self._show)
        canvas.zoom_changed.connect(lambda _zoom: self._show_on_screen())
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
        self._show_on_screen()

    def set_document_open(self, is_open: bool) -> None:
        """Without a document there is nothing to paint: the bar is off and says no
        on-screen size (the zoom is of no image)."""
        self._document_open = is_open
        self.setEnabled(is_open)
        self._show_on_screen()

    def _show_on_screen(self) -> None:
        if not self._document_open:
            self.on_screen.setText("")
            return
        on_screen = self.canvas.brush.size * self.canvas.zoom_factor
        self.on_screen.setText(f"= {on_screen:.0f} px on screen")

    def _show_tool_options(self, tool: str) -> None:
        for action in self.fill_options:
            action.setVisible(tool == "fill")

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


def _fill_tolerance_box(fill_tool) -> QSpinBox:
    """How similar a colour must be for Fill to take it (0: the clicked colour only)."""
    box = QSpinBox(minimum=0, maximum=int(MAX_TOLERANCE))
    box.setValue(round(fill_tool.tolerance))
    box.setToolTip("Fill tolerance: how far a colour may be from the clicked one (0–255, in "
                   "perceived colour) and still be filled. Larger takes more of the photo.")
    box.valueChanged.connect(lambda value: setattr(fill_tool, "tolerance", float(value)))
    return box
