"""The dark theme shows what the light one shows: unticked check boxes and radio buttons
(their outline against the window), the Edits hints and the empty loss curve's note."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import QApplication, QCheckBox, QRadioButton, QStyle, QStyleOptionButton

from semedit_gui.panels import EditsPanel
from semedit_gui.panels.inversion_panel import LossCurve
from semedit_gui.theme import apply_theme

MIN_CONTRAST = 60  # grey levels between a drawn line or letter and what lies under it


@pytest.fixture
def dark(qapp):
    apply_theme(qapp, "dark")
    yield qapp
    apply_theme(qapp, "system")


def pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, image.bytesPerLine() * height)
    return data.reshape(height, image.bytesPerLine())[:, :width * 3].reshape(height, width, 3)


def contrast(widget, region=None) -> int:
    """The largest difference in grey level from the window colour inside `region`."""
    grey = pixels(widget).astype(np.int32).mean(axis=2)
    if region is not None:
        x, y, w, h = region
        grey = grey[y:y + h, x:x + w]
    window = widget.palette().color(QPalette.ColorRole.Window)
    background = (window.red() + window.green() + window.blue()) / 3
    return int(np.abs(grey - background).max())


@pytest.mark.parametrize("kind", [QCheckBox, QRadioButton])
def test_an_unticked_indicator_is_outlined_on_the_dark_palette(qtbot, dark, kind):
    button = kind("")  # no text: only the indicator is drawn
    qtbot.addWidget(button)
    button.resize(24, 24)
    option = QStyleOptionButton()
    button.initStyleOption(option)
    element = (QStyle.SubElement.SE_CheckBoxIndicator if kind is QCheckBox
               else QStyle.SubElement.SE_RadioButtonIndicator)
    indicator = QApplication.style().subElementRect(element, option, button)
    assert not button.isChecked()
    assert contrast(button, indicator.getRect()) >= MIN_CONTRAST


def test_hints_and_the_empty_loss_curve_can_be_read_on_the_dark_palette(qtbot, dark):
    panel = EditsPanel()
    qtbot.addWidget(panel)
    for label in (panel.hint_label, panel.directions_hint):
        label.setVisible(True)
        label.resize(label.sizeHint())
        assert contrast(label) >= MIN_CONTRAST, label.text()
    curve = LossCurve()
    qtbot.addWidget(curve)
    curve.resize(240, 80)
    assert contrast(curve) >= MIN_CONTRAST  # its "loss curve" note
