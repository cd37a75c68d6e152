"""Inversion, hair blending and selection controllers without a window."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.invert import InversionSettings
from semedit_gui.controllers import HairController, InversionController, SelectionController
from tests.gui.controller_fixtures import (
    WAIT_MS,
    controller_stack,
    wait_ended,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def setup(qtbot, tmp_path):
    with controller_stack(qtbot, tmp_path) as stack:
        yield stack


def open_astronaut(qtbot, documents, tmp_path):
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    with qtbot.waitSignal(documents.document_opened, timeout=WAIT_MS):
        documents.open_path(photo)
    return documents.session


def test_inversion_stop_then_continue_keeps_counting(qtbot, setup, tmp_path):
    registry, documents = setup
    inversion = InversionController(registry, documents)
    session = open_astronaut(qtbot, documents, tmp_path)
    session.chunk_set.add(np.ones((32, 32), np.float32), name="all")
    states, shown = [], []
    inversion.state_changed.connect(states.append)
    inversion.progress.connect(lambda stage, step, total, loss: shown.append((step, total)))
    task = inversion.run(InversionSettings(steps=100_000), "l2", 0)
    assert inversion.state == "running" and registry.active("inversion") is task
    assert inversion.run(InversionSettings(steps=5), "l2", 0) is None  # one at a time
    qtbot.waitUntil(lambda: len(shown) >= 3, timeout=WAIT_MS)
    inversion.stop()
    assert inversion.state == "stopping"  # the moment Stop is pressed
    wait_ended(qtbot, task)
    assert inversion.state == "idle" and states == ["running", "stopping", "idle"]
    first = inversion.steps_done
    assert 3 <= first < 100_000 == shown[0][1]
    assert session.doc.inversion["metrics"]["steps"] == first
    assert session.doc.history.labels[-1] == "Inversion (stopped)"
    first_losses = list(inversion.losses)

    shown.clear()
    resumed = inversion.run(InversionSettings(steps=5), "l2", 0, resume=True)
    wait_ended(qtbot, resumed)
    assert inversion.steps_done == first + 5  # counts keep growing across Continue
    # The engine reports its last step twice (the step, then "finished").
    assert sorted({step for step, _ in shown}) == list(range(first + 1, first + 6))
    assert {total for _, total in shown} == {first + 5}
    steps = [step for step, _ in inversion.losses]
    assert inversion.losses[:len(first_losses)] == first_losses
    assert steps == sorted(steps) and len(set(steps)) == len(steps) and steps[-1] == first + 5
    assert session.doc.inversion["metrics"]["steps"] == 5  # the run's own figures
    assert session.doc.history.labels[-1] == "Inversion"

    # A new run (not Continue) starts counting again.
    again = inversion.run(InversionSettings(steps=2), "l2", 0)
    wait_ended(qtbot, again)
    assert inversion.steps_done == 2


class SlowBlend:
    """A hair result whose first blend render waits until released."""

    def __init__(self):
        self.rendered: list[float] = []
        self.first_started = threading.Event()
        self.release = threading.Event()

    def work(self, result, t: float):
        """The blend job (`jobs.hair_blend`'s shape) for `result` at `t`."""
        def render(models, task) -> tuple[float, np.ndarray]:
            assert result is self
            self.rendered.append(t)
            if len(self.rendered) == 1:
                self.first_started.set()
                assert self.release.wait(30)
            return t, np.full((8, 8, 3), round(t * 100), np.uint8)
        return render


def test_hair_blend_slider_is_latest_wins(qtbot, setup):
    registry, documents = setup
    result = SlowBlend()
    hair = HairController(registry, documents, blend_work=result.work)
    hair.set_outcome(SimpleNamespace(result=result))
    shown = []
    hair.preview.connect(lambda image: shown.append(int(image[0, 0, 0])))
    hair.blend(0.1)
    assert result.first_started.wait(10)  # a render is running
    for t in (0.2, 0.3, 0.4, 0.5, 0.6):  # the slider moves 5 times meanwhile
        hair.blend(t)
    result.release.set()
    qtbot.waitUntil(lambda: registry.idle and 60 in shown, timeout=WAIT_MS)
    qtbot.wait(50)
    assert result.rendered == [0.1, 0.6]  # at most 2 renders: the running one, the last
    assert shown == [60]  # the stale 0.1 render is never shown; the last position is
    assert hair.blend_renders == 2

    hair.blend(0.6)  # the position on screen: nothing to do
    qtbot.wait(50)
    assert result.rendered == [0.1, 0.6]
    hair.blend(0.0)
    qtbot.waitUntil(lambda: shown[-1] == 0, timeout=WAIT_MS)
    assert result.rendered == [0.1, 0.6, 0.0]


def test_hair_result_opens_as_a_new_unsaved_project(qtbot, setup, tmp_path):
    registry, documents = setup
    hair = HairController(registry, documents)
    session = open_astronaut(qtbot, documents, tmp_path)
    doc = session.doc

    class Result:
        def document(self, **_kwargs):
            return doc.snapshot()

    hair.set_outcome(SimpleNamespace(result=Result(), full_photo=np.zeros((4, 4, 3), np.uint8),
                                     photo_name="a-hair.png", generator_id=None,
                                     generator_sha256=None))
    new = hair.open_result()
    assert documents.session is new and new is not session
    assert new.dirty and new.path is None
    assert hair.outcome is None  # the result belonged to the document left behind


def test_selection_runs_one_prediction_and_keeps_only_the_newest_prompt(qtbot, setup,
                                                                        tmp_path):
    from tests.sam_writers import write_tiny_sam

    registry, documents = setup
    sam = write_tiny_sam(tmp_path / "tiny_sam.pth")
    from core.models.loaded import ModelChoice

    registry.gpu.set_models(ModelChoice(generator=registry.gpu._choice.generator,
                                        sam=str(sam), device="cpu"))
    selection = SelectionController(registry, documents)
    session = open_astronaut(qtbot, documents, tmp_path)
    started, release = threading.Event(), threading.Event()
    registry.submit("gate", "Busy GPU", lambda m, t: started.set() or release.wait(30))
    assert started.wait(10)
    for x in (4, 8, 12, 16):
        selection.prompt([(float(x), 16.0)], [1], None)
    release.set()
    with qtbot.waitSignal(selection.candidate_changed, timeout=WAIT_MS,
                          check_params_cb=lambda mask: mask is not None):
        pass
    qtbot.waitUntil(lambda: registry.idle, timeout=WAIT_MS)
    assert selection.predictions == 2  # the first click, then only the newest
    selection.new_chunk()
    assert session.doc.chunks and selection.candidate is None
