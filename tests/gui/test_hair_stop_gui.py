"""The app's hair transfer, stopped: what was kept is shown (the canvas preview, the
slider, the panel's status), or "nothing changed" said plainly when nothing could be."""

from __future__ import annotations

import time

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.hair import HairTransferSettings
from core.workflows.hair import STOPPED_BEFORE_TRANSFER
from semedit_gui.controllers import HairController
from semedit_gui.panels.hair_panel import HairPanel
from tests.gui.controller_fixtures import WAIT_MS, controller_stack, wait_ended

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def hair_setup(qtbot, tmp_path):
    with controller_stack(qtbot, tmp_path) as (registry, documents):
        photo = tmp_path / "astronaut.png"
        Image.fromarray(skimage.data.astronaut()).save(photo)
        flipped = tmp_path / "flipped.png"
        Image.fromarray(np.ascontiguousarray(skimage.data.astronaut()[:, ::-1])).save(flipped)
        with qtbot.waitSignal(documents.document_opened, timeout=WAIT_MS):
            documents.open_path(photo)
        hair = np.zeros((32, 32), np.float32)
        hair[:9, 4:28] = 1
        documents.session.chunk_set.add(hair, name="hair")
        documents.session.chunk_set.add(1 - hair, name="rest")
        controller = HairController(registry, documents)
        panel = HairPanel()
        qtbot.addWidget(panel)
        controller.progress.connect(panel.show_progress)  # as the window wires them
        messages, previews = [], []
        controller.message.connect(lambda text, _error: messages.append(text))
        controller.preview.connect(previews.append)
        yield controller, panel, flipped, hair, messages, previews


def run_and_stop_at(qtbot, controller, flipped, hair, text: str | None):
    """Run a transfer and press Stop when the status shows `text` (None: at once)."""
    task = controller.run(flipped, HairTransferSettings(
        inversion_steps=40, refine_steps=40, pose_match=False, loss="l2"), hair_mask_b=hair)
    if text is None:
        controller.stop()
    else:
        controller.progress.connect(lambda _f, status: status.startswith(text)
                                    and controller.stop())
    wait_ended(qtbot, task)
    return task


def test_a_transfer_stopped_while_refining_shows_what_it_kept(qtbot, hair_setup):
    controller, panel, flipped, hair, messages, previews = hair_setup
    task = run_and_stop_at(qtbot, controller, flipped, hair, "Refining the hair 3/")
    assert task.state == "done"
    outcome = controller.outcome
    assert outcome is not None and outcome.stopped
    assert outcome.result.metrics["stopped"] == "refine"
    assert 3 <= outcome.result.metrics["steps"]["refine"] < 40
    assert np.array_equal(previews[-1], outcome.result.output)  # on the canvas
    assert messages[-1].startswith("Hair transfer stopped; what it reached is kept")
    assert "Stopped while refining the hair" in messages[-1]
    assert panel.status.text().startswith("Stopped while refining the hair after ")
    assert "the result so far is kept" in panel.status.text()
    assert 0.75 < panel.progress.value() / 1000 < 1.0  # the bar stays where it stopped
    panel.set_state(running=False, has_document=True, has_result=True)
    assert panel.apply_button.isEnabled() and panel.blend.isEnabled()


def test_a_transfer_stopped_before_the_hair_says_nothing_changed(qtbot, hair_setup):
    controller, panel, flipped, hair, messages, _ = hair_setup
    task = run_and_stop_at(qtbot, controller, flipped, hair, None)
    assert task.state == "cancelled" and controller.outcome is None
    assert messages[-1] == STOPPED_BEFORE_TRANSFER
    assert panel.status.text() == STOPPED_BEFORE_TRANSFER


def test_a_stop_during_the_preparation_is_honoured_between_its_steps(qtbot, hair_setup,
                                                                     monkeypatch):
    import core.face

    controller, _panel, flipped, hair, messages, _ = hair_setup
    real, calls = core.face.prepare_photo, []

    def slow_prepare(photo, *args, **kwargs):  # a real photo's alignment takes seconds
        calls.append(photo.path.name)
        controller.stop()
        time.sleep(0.5)
        return real(photo, *args, **kwargs)

    monkeypatch.setattr(core.face, "prepare_photo", slow_prepare)
    task = controller.run(flipped, HairTransferSettings(
        inversion_steps=40, refine_steps=40, pose_match=False, loss="l2"), hair_mask_b=hair)
    wait_ended(qtbot, task)
    assert task.state == "cancelled" and len(calls) == 1  # the hair photo was not aligned
    assert messages[-1] == STOPPED_BEFORE_TRANSFER
