"""The Differences heat map comes with its key: a colour bar from no change to the
largest change and what is measured, only while the heat map shows (offscreen)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.edit.render import DIFF_FLOOR, RenderResult, difference_heat_map
from core.project import Document
from semedit_gui.canvas import CanvasView
from semedit_gui.canvas.heat_legend import BAR_WIDTH, heat_ramp
from semedit_gui.session import EditorSession

R = 64


@pytest.fixture
def view(qtbot):
    canvas = CanvasView()
    qtbot.addWidget(canvas)
    canvas.resize(500, 400)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_session(EditorSession(Document(aligned=np.full((R, R, 3), 90, np.uint8))))
    return canvas


def test_the_ramp_is_the_renderers_colours():
    ramp = heat_ramp(256)
    assert ramp.shape == (256, 3) and ramp.dtype == np.uint8
    assert tuple(ramp[0]) == (0, 0, 0) and tuple(ramp[-1]) == (255, 255, 0)
    assert tuple(ramp[128]) == (255, 1, 0)  # red half way
    levels = torch.arange(256, dtype=torch.uint8).view(1, 256, 1).expand(1, 256, 3)
    expected = difference_heat_map(levels.contiguous(), torch.zeros(1, 256, 3, dtype=torch.uint8))
    np.testing.assert_array_equal(ramp, expected[0].numpy())


def test_the_key_shows_with_the_heat_map_only(qtbot, view):
    legend = view.heat_legend
    heat = np.zeros((R, R, 3), np.uint8)
    assert not legend.isVisible()
    view.set_image(heat, heat_map=True)
    assert legend.isVisible()
    assert (legend.low.text(), legend.high.text()) == ("no change", "largest change")
    assert "red, green or blue" in legend.unit.text()
    assert f"at least {DIFF_FLOOR} of 255" in legend.unit.text()
    bar = legend.bar.pixmap().toImage()
    assert bar.width() == BAR_WIDTH
    assert bar.pixelColor(0, 5).getRgb()[:3] == (0, 0, 0)
    assert bar.pixelColor(BAR_WIDTH - 1, 5).getRgb()[:3] == (255, 255, 0)
    # In the view's bottom-left corner, inside the image area.
    viewport = view.viewport().geometry()
    box = legend.geometry()
    assert viewport.contains(box) and box.left() - viewport.left() < 20
    assert viewport.bottom() - box.bottom() < 20
    # It follows the view's size.
    view.resize(600, 500)
    qtbot.waitUntil(lambda: view.viewport().geometry().bottom() - legend.geometry().bottom() < 20)
    # The whole-photo view hides it; leaving it brings the key back with the map.
    view.set_photo_view(np.zeros((80, 100, 3), np.uint8), None)
    assert not legend.isVisible()
    view.set_photo_view(None, None)
    assert legend.isVisible()
    view.set_image(heat)  # another image (the edited preview): no key
    assert not legend.isVisible()
    view.set_image(heat, heat_map=True)
    view.set_session(None)
    assert not legend.isVisible()


def test_the_window_shows_the_key_for_a_difference_render(qtbot, tmp_path):
    from tests.gui.test_editor_workflow import make_window

    window = make_window(qtbot, tmp_path)
    window.documents.adopt(Document(aligned=np.full((R, R, 3), 90, np.uint8)))
    legend, image = window.canvas.heat_legend, np.zeros((R, R, 3), np.uint8)
    changed = np.zeros((R, R), np.float32)
    for mode, shown in (("difference", True), ("edited", False)):
        window.preview.rendered.emit(RenderResult(1, image, changed, 0.01, 1, mode))
        assert legend.isVisible() is shown
    window.close_discarding()
