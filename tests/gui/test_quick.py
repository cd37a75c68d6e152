"""Quick: the encoder's reconstruction at once, as one undo step; Refine on top; without
an encoder the panel says what one would give."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.encoders import encoder_input, load_encoder
from core.invert import InversionSettings
from core.models.loaded import ModelChoice
from core.workflows.encoder_init import ENCODER_BENEFIT
from semedit_gui.controllers import InversionController
from semedit_gui.controllers.inversion import QUICK_LABEL
from semedit_gui.panels import InversionPanel
from tests.encoder_writers import TINY_WIDTHS, write_e4e
from tests.gui.controller_fixtures import (
    GEN,
    WAIT_MS,
    controller_stack,
    wait_ended,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def setup(qtbot, tmp_path):
    with controller_stack(qtbot, tmp_path) as stack:
        yield stack


def choice(tmp_path) -> ModelChoice:
    return ModelChoice(generator=GEN, models_dir=str(tmp_path / "models"), device="cpu")


def install_encoder(tmp_path):
    """The tiny encoder as the default e4e model of the registry's models folder."""
    (tmp_path / "models").mkdir(exist_ok=True)
    return write_e4e(tmp_path / "models" / "e4e_ffhq_encode.pt", TINY_WIDTHS, seed=4)


def open_photo(qtbot, documents, tmp_path, inversion):
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    documents.document_opened.connect(
        lambda: inversion.quick_on_open(InversionSettings(space="wplus")))
    with qtbot.waitSignal(documents.document_opened, timeout=WAIT_MS):
        documents.open_path(photo)
    return documents.session


def test_opening_a_photo_shows_the_encoders_reconstruction_at_once(qtbot, setup, tmp_path):
    registry, documents = setup
    encoder = load_encoder(install_encoder(tmp_path))
    inversion = InversionController(registry, documents,
                                    model_choice=lambda: choice(tmp_path))
    shown, available = [], []
    inversion.preview.connect(shown.append)
    inversion.encoder_changed.connect(available.append)
    session = open_photo(qtbot, documents, tmp_path, inversion)
    assert available == [True]
    task = inversion.task
    assert task is not None  # Quick started by itself
    wait_ended(qtbot, task)
    doc = session.doc
    assert [c.name for c in doc.chunks] == ["all"] and session.inverted
    expected = encoder(encoder_input(doc.aligned))[0].numpy()
    np.testing.assert_allclose(doc.chunks[0].code, expected, atol=1e-5)
    assert doc.inversion["metrics"]["init"] == "e4e" and doc.inversion["metrics"]["steps"] == 0
    assert shown and shown[-1].shape[2] == 3  # the reconstruction is on screen
    assert doc.history.labels == ["Whole-image chunk", QUICK_LABEL]
    doc.history.undo()  # the codes are one undo step ...
    assert doc.chunks[0].code is None
    doc.history.redo()
    np.testing.assert_allclose(doc.chunks[0].code, expected, atol=1e-5)

    # ... and Refine optimises on top of them
    refine = inversion.run(InversionSettings(steps=3), "l2", 0, resume=True)
    wait_ended(qtbot, refine)
    assert doc.inversion["metrics"]["steps"] == 3
    assert not np.allclose(doc.chunks[0].code, expected)
    # a new Run also starts from the encoder's guess (the default init with one installed)
    rerun = inversion.run(InversionSettings(steps=1), "l2", 0)
    wait_ended(qtbot, rerun)
    assert doc.inversion["metrics"]["init"] == "e4e"
    # ... unless the inversion settings say the mean face
    rerun = inversion.run(InversionSettings(steps=0), "l2", 0, init="mean")
    wait_ended(qtbot, rerun)
    assert doc.inversion["metrics"]["init"] == "mean"
    np.testing.assert_array_equal(doc.chunks[0].code[0], doc.chunks[0].code[-1])


def test_quick_on_chunks_gives_each_the_encoders_code(qtbot, setup, tmp_path):
    registry, documents = setup
    install_encoder(tmp_path)
    inversion = InversionController(registry, documents,
                                    model_choice=lambda: choice(tmp_path))
    photo = tmp_path / "a.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    with qtbot.waitSignal(documents.document_opened, timeout=WAIT_MS):
        documents.open_path(photo)
    session = documents.session
    top = np.zeros((32, 32), np.float32)
    top[:16] = 1
    session.chunk_set.add_many({"top": top, "bottom": 1 - top}, "Two chunks")
    task = inversion.quick(InversionSettings(space="w"))
    wait_ended(qtbot, task)
    codes = [c.code for c in session.doc.chunks]
    assert [c.space for c in session.doc.chunks] == ["w", "w"] and codes[0].shape == (64,)
    np.testing.assert_array_equal(codes[0], codes[1])


def test_without_an_encoder_quick_is_off_and_the_panel_says_why(qtbot, setup, tmp_path):
    registry, documents = setup
    inversion = InversionController(registry, documents,
                                    model_choice=lambda: choice(tmp_path))
    messages = []
    inversion.message.connect(lambda text, error: messages.append(text))
    session = open_photo(qtbot, documents, tmp_path, inversion)
    assert inversion.task is None and not session.doc.chunks  # everything as before
    assert inversion.quick(InversionSettings()) is None and messages[-1] == ENCODER_BENEFIT

    panel = InversionPanel()
    qtbot.addWidget(panel)
    panel.set_encoder(inversion.encoder_available(), inversion.encoder_benefit)
    panel.set_state(running=False, can_run=True, can_continue=False)
    assert not panel.quick_button.isEnabled() and panel.run_button.text() == "Run"
    assert panel.init == "mean" and not panel.start.isEnabled()
    assert not panel.encoder_hint.isHidden() and "encoder" in panel.encoder_hint.text()

    install_encoder(tmp_path)
    panel.set_encoder(inversion.encoder_available(), inversion.encoder_benefit)
    assert panel.quick_button.isEnabled() and panel.run_button.text() == "Refine"
    assert panel.init == "e4e" and panel.start.isEnabled()
    panel.start.setCurrentIndex(panel.start.findData("mean"))  # the user's choice ...
    assert panel.init == "mean" and panel.run_button.text() == "Run"
    panel.set_encoder(True, inversion.encoder_benefit)  # ... stays on the next document
    assert panel.init == "mean"
    panel.start.setCurrentIndex(panel.start.findData("e4e"))
    assert panel.encoder_hint.isHidden()
    with qtbot.waitSignal(panel.quick_requested) as sent:
        panel.quick_button.click()
    assert isinstance(sent.args[0], InversionSettings)
    panel.set_state(running=True, can_run=True, can_continue=False)
    assert not panel.quick_button.isEnabled()
