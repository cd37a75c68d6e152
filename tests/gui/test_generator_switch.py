"""Switching generators: the preview renders again with the new one (Preferences, or a
project's own generator); a project's generator is that document's choice and never
rewrites the Preferences' generator; a generator is hashed on the worker, never on the
UI thread."""

from __future__ import annotations

import dataclasses
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from PySide6.QtCore import QObject

import core.models.index
import core.models.store
from core.hashing import hash_file
from core.invert import InversionSettings
from core.models.loaded import ModelChoice
from core.project import Document
from core.stylegan import load_generator
from semedit_gui.launcher import main as semedit
from semedit_gui.main_window import MainWindow
from semedit_gui.preview import PreviewController
from semedit_gui.session import EditorSession
from semedit_gui.settings import AppSettings
from semedit_gui.worker import GpuWorker

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = Path(__file__).resolve().parents[1] / "data"
GEN_A = DATA / "ada_tiny.pkl"
GEN_B = DATA / "rosinality_tiny.pt"  # same architecture, other weights
WAIT_MS = 60_000


def unbound_document() -> Document:
    """An inverted document without a generator sha256 (an old project): both tiny
    generators may render it."""
    generator = load_generator(GEN_A)
    size = generator.img_resolution
    doc = Document(aligned=np.full((size, size, 3), 128, np.uint8))
    mask = np.zeros((size, size), np.float32)
    mask[4:28, 6:26] = 1
    with torch.no_grad():
        ws = generator.mapping(torch.randn(1, generator.z_dim,
                                           generator=torch.Generator().manual_seed(3)))
    doc.add_chunk(mask, name="face", space="wplus", code=ws[0].numpy())
    return doc


def test_the_preview_renders_again_after_a_generator_switch(qtbot, tmp_path):
    owner = QObject()
    models = str(tmp_path / "models")
    worker = GpuWorker(ModelChoice(generator=str(GEN_A), models_dir=models, device="cpu"),
                       owner)
    preview = PreviewController(worker, owner)
    preview.set_mode("reconstruction")
    results = []
    preview.rendered.connect(results.append)
    try:
        preview.set_session(EditorSession(unbound_document()))
        qtbot.waitUntil(lambda: len(results) == 1, timeout=WAIT_MS)
        worker.set_models(ModelChoice(generator=str(GEN_B), models_dir=models, device="cpu"))
        preview.refresh()  # what the window does after a switch: the same state, again
        qtbot.waitUntil(lambda: len(results) == 2, timeout=20_000)
        assert preview.last_renderer().generator.source_path == str(GEN_B)
        assert np.abs(results[1].image.astype(int) - results[0].image).mean() > 5
        preview.refresh()  # nothing changed since: no third render
        assert preview.wait_idle(10)
        qtbot.wait(200)
        assert len(results) == 2
    finally:
        preview.set_session(None)
        worker.shutdown(10_000)


# ----------------------------------------------------------------- a project's generator


@pytest.fixture
def project_b(tmp_path) -> Path:
    """A project made with generator B, which the app's model index does not know."""
    generator = tmp_path / "gans" / "b.pt"
    generator.parent.mkdir()
    shutil.copyfile(GEN_B, generator)
    Image.fromarray(skimage.data.astronaut()).save(tmp_path / "astronaut.png")
    project = tmp_path / "b.semedit"
    assert semedit(["invert", str(tmp_path / "astronaut.png"), "--generator", str(generator),
                    "--loss", "l2", "--steps", "2", "--no-align", "-o", str(project),
                    "--models-dir", str(tmp_path / "cli-models")]) == 0
    return project


def open_window(qtbot, tmp_path: Path) -> MainWindow:
    settings = AppSettings(device="cpu", autosave_seconds=0, generator=str(GEN_A),
                           models_dir=str(tmp_path / "models"))
    window = MainWindow(settings, settings_path=tmp_path / "settings.json")
    settings.save(tmp_path / "settings.json")
    qtbot.addWidget(window)
    window.show()
    window.ask_unsaved_changes = lambda: "discard"
    return window


def saved_generator(tmp_path: Path) -> str:
    return json.loads((tmp_path / "settings.json").read_text())["generator"]


def test_a_projects_generator_is_used_for_it_without_changing_the_preferences(
        qtbot, tmp_path, project_b, monkeypatch):
    hashed_on = []
    for module in (core.models.index, core.models.store):
        real = module.hash_file

        def recording(path, *args, _real=real, **kwargs):
            hashed_on.append((Path(path).name, threading.current_thread().name))
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(module, "hash_file", recording)
    window = open_window(qtbot, tmp_path)
    failures = []
    window.jobs.job_failed.connect(lambda task, _feature: failures.append(task.error))
    rendered = []
    window.preview.rendered.connect(rendered.append)
    with qtbot.waitSignal(window.generator_locator.found, timeout=WAIT_MS) as found, \
            qtbot.waitSignal(window.documents.directions_loaded, timeout=WAIT_MS):
        window.open_path(project_b)
    qtbot.waitUntil(lambda: window.worker.idle, timeout=WAIT_MS)
    b_path = tmp_path / "gans" / "b.pt"
    assert found.args == [str(b_path)]
    assert failures == []

    # The UI thread never hashed a model file; the project's generator was hashed.
    assert ("b.pt", threading.main_thread().name) not in hashed_on
    assert all(thread != threading.main_thread().name for _name, thread in hashed_on), \
        hashed_on
    assert "b.pt" in [name for name, _thread in hashed_on]

    # The project renders with B; the Preferences (in memory and on disk) still say A.
    assert window.worker.choice.generator == str(b_path)
    qtbot.waitUntil(lambda: bool(rendered), timeout=WAIT_MS)
    assert Path(window.preview.last_renderer().generator.source_path) == b_path
    assert window.settings.generator == str(GEN_A)
    assert saved_generator(tmp_path) == str(GEN_A)
    # Another preference changed meanwhile: the project keeps its generator.
    window.apply_settings(dataclasses.replace(window.settings, sam=str(tmp_path / "sam.pth")))
    assert window.worker.choice.generator == str(b_path)
    assert window.worker.choice.sam == str(tmp_path / "sam.pth")

    # A photo that cannot be opened leaves the project on screen, with its generator.
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    task = window.open_path(broken)
    qtbot.waitUntil(lambda: task.finished and window.worker.idle, timeout=WAIT_MS)
    assert task.state == "failed" and window.session.path == project_b
    qtbot.waitUntil(lambda: window.worker.choice.generator == str(b_path), timeout=WAIT_MS)
    failures.clear()

    # A new photo afterwards uses A (the Preferences' generator), its inversion too.
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.open_path(tmp_path / "astronaut.png")
    assert window.worker.choice.generator == str(GEN_A)
    session = window.session
    mask = np.zeros(session.doc.aligned.shape[:2], np.float32)
    mask[:12] = 1
    session.chunk_set.add(mask, name="hair")
    with qtbot.waitSignal(window.inversion.finished, timeout=WAIT_MS):
        window.inversion.run(InversionSettings(steps=2), "l2", 0)
    assert session.doc.generator_sha256 == hash_file(GEN_A).sha256
    assert saved_generator(tmp_path) == str(GEN_A) and failures == []
    window.close()
