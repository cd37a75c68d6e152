"""The live preview controller on a real GPU worker: its renderer comes from the model
provider (a generator switch frees the old generator, a precision change gets a new
renderer), and a slider drag shows fast low-resolution renders, then the full one."""

from __future__ import annotations

import gc
import shutil
import weakref

import numpy as np
import pytest
import torch
from PySide6.QtCore import QObject

from core.models.loaded import ModelChoice
from core.project import Document
from core.stylegan import load_generator
from semedit_gui.preview import PreviewController, render_status
from semedit_gui.session import EditorSession
from semedit_gui.worker import GpuWorker
from tests.gui.controller_fixtures import GEN, WAIT_MS

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _document(force_fp32: bool = False, seed: int = 0) -> Document:
    generator = load_generator(GEN)
    size = generator.img_resolution
    rng = np.random.default_rng(seed)
    doc = Document(aligned=rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
                   inversion={"settings": {"force_fp32": force_fp32}},
                   generator_sha256=generator.source_sha256)
    mask = np.zeros((size, size), np.float32)
    mask[4:28, 6:26] = 1
    with torch.no_grad():
        ws = generator.mapping(torch.randn(1, generator.z_dim,
                                           generator=torch.Generator().manual_seed(seed)))
    doc.add_chunk(mask, name="face", space="wplus", code=ws[0].numpy())
    return doc


@pytest.fixture
def rig(tmp_path, qtbot):
    owner = QObject()
    worker = GpuWorker(ModelChoice(generator=GEN, models_dir=str(tmp_path / "models"),
                                   device="cpu"), owner)
    precision = {"force_fp32": None}
    preview = PreviewController(worker, owner, force_fp32=lambda: precision["force_fp32"])
    preview.set_mode("reconstruction")
    results = []
    preview.rendered.connect(results.append)
    yield preview, worker, precision, results
    preview.set_session(None)
    worker.shutdown(10_000)


def _wait_for(qtbot, results, count: int) -> None:
    qtbot.waitUntil(lambda: len(results) >= count, timeout=WAIT_MS)


def test_the_renderer_follows_the_precision_the_document_and_the_generator(
        rig, qtbot, tmp_path):
    preview, worker, precision, results = rig
    preview.set_session(EditorSession(_document(force_fp32=False)))
    _wait_for(qtbot, results, 1)
    first = preview.last_renderer()
    assert first is not None and first.force_fp32 is False  # as inverted
    old_generator = weakref.ref(first.generator)

    precision["force_fp32"] = True  # Preferences: fp32
    preview.refresh()  # the same document state renders again, with a new renderer
    _wait_for(qtbot, results, 2)
    forced = preview.last_renderer()
    assert forced is not first and forced.force_fp32 is True and forced.renders == 1

    precision["force_fp32"] = None  # back to "as inverted", then a document inverted in fp32
    preview.set_session(EditorSession(_document(force_fp32=True, seed=1)))
    _wait_for(qtbot, results, 3)
    assert preview.last_renderer() is forced  # that precision's renderer, reused
    assert forced.doc.inversion["settings"]["force_fp32"] is True
    del first, forced

    # Another generator file (a copy: a new model object): the old one must be freed.
    other = tmp_path / "other.pkl"
    shutil.copyfile(GEN, other)
    worker.set_models(ModelChoice(generator=str(other), models_dir=str(tmp_path / "models"),
                                  device="cpu"))
    preview.set_session(EditorSession(_document()))
    _wait_for(qtbot, results, 4)
    latest = preview.last_renderer()
    assert latest.generator.source_path == str(other)
    gc.collect()
    assert old_generator() is None
    np.testing.assert_array_equal(results[3].image, results[0].image)  # same weights


def test_a_drag_shows_fast_low_resolution_renders_then_the_full_one(rig, qtbot):
    preview, _worker, _precision, results = rig
    preview.drag_size = 8  # the tiny generator's blocks: 4, 8, 16, 32
    session = EditorSession(_document())
    preview.set_session(session)
    _wait_for(qtbot, results, 1)
    assert results[0].size is None and render_status(results[0]).startswith("full render")
    chunk = session.doc.chunks[0]
    history = session.doc.history
    history.begin_group("Adjust")  # what EditStacks.begin_drag does on a slider press
    for step in range(1, 4):
        chunk.code = chunk.code + np.float32(0.05 * step)
        session.changed_elsewhere()
        preview.wait_idle()
        _wait_for(qtbot, results, 1 + step)
        assert results[-1].size == 8 and results[-1].image.shape == (32, 32, 3)
        qtbot.wait(3 * 100)  # still dragging: no full render sneaks in
        assert len(results) == 1 + step
    assert render_status(results[-1]).startswith("fast 8² preview")
    history.end_group()  # the release
    _wait_for(qtbot, results, 5)
    final = results[-1]
    assert final.size is None and final.chunks_synthesised == 1
    qtbot.wait(3 * 100)
    assert len(results) == 5  # one full render after the release, no more
    renderer = preview.last_renderer()
    assert renderer.renders == 5
    # The full render is what a render of the final state gives, the fast ones were not.
    assert not np.array_equal(results[-2].image, final.image)
