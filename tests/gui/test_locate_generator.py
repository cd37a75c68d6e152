"""A project whose generator moved: the app names the file and offers "Locate generator…";
the located file is checked by sha256, used, and remembered; a wrong file is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import skimage.data
from PIL import Image
from PySide6.QtWidgets import QFileDialog

from core.hashing import hash_file
from core.models.validation import open_model_store
from semedit_gui.launcher import main as semedit
from semedit_gui.main_window import MainWindow
from semedit_gui.settings import AppSettings

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = DATA / "ada_tiny.pkl"
OTHER = DATA / "rosinality_tiny.pt"  # same architecture, other weights

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def moved_project(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A project made with a generator that was then moved elsewhere."""
    generator = tmp_path / "gans" / "portrait-finetune.pkl"
    generator.parent.mkdir()
    shutil.copyfile(TINY, generator)
    Image.fromarray(skimage.data.astronaut()).save(tmp_path / "astronaut.png")
    project = tmp_path / "p.semedit"
    assert semedit(["invert", str(tmp_path / "astronaut.png"), "--generator", str(generator),
                    "--loss", "l2", "--steps", "2", "--no-align", "-o", str(project),
                    "--models-dir", str(tmp_path / "cli-models")]) == 0
    moved = tmp_path / "archive" / "renamed.pkl"
    moved.parent.mkdir()
    generator.rename(moved)
    return project, generator, moved


def open_window(qtbot, tmp_path: Path) -> MainWindow:
    window = MainWindow(AppSettings(device="cpu", autosave_seconds=0,
                                    models_dir=str(tmp_path / "models"), generator=str(OTHER)),
                        settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    window.show()
    return window


def test_locate_generator_finds_uses_and_remembers_it(qtbot, tmp_path, moved_project,
                                                      monkeypatch):
    project, old_path, moved = moved_project
    window = open_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.document_opened, timeout=60_000):
        window.open_path(project)
    bar = window.message_bar
    qtbot.waitUntil(bar.action_button.isVisible, timeout=10_000)
    # The follow-on failures (renders, directions with another generator) do not hide
    # the way out: the offer stays until it is used or dismissed.
    qtbot.waitUntil(lambda: window.jobs.idle, timeout=30_000)
    assert bar.action_button.isVisible() and bar.keeping
    text = bar.text()
    sha = hash_file(TINY).sha256
    assert "portrait-finetune.pkl" in text and str(old_path.resolve()) in text
    assert sha[:12] in text and "Locate generator…" in text
    assert bar.action_button.text() == "Locate generator…"

    # A file of another network is refused and changes nothing.
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: (str(OTHER), "")))
    bar.action_button.click()  # checked on the worker (it hashes the file)
    qtbot.waitUntil(lambda: "different generator" in bar.text(), timeout=10_000)
    assert window.settings.generator == str(OTHER)

    # Offered again; the moved file: checked, chosen, remembered in the model index.
    bar.hide()
    window.generator_locator.check(window.session.doc)
    qtbot.waitUntil(bar.action_button.isVisible, timeout=10_000)
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: (str(moved), "")))
    with qtbot.waitSignal(window.generator_locator.found, timeout=10_000) as found:
        bar.action_button.click()
    assert found.args == [str(moved.resolve())]
    # Used for this project; the Preferences keep the user's default generator.
    assert window.worker.choice.generator == str(moved.resolve())
    assert window.settings.generator == str(OTHER)
    store = open_model_store(tmp_path / "models")
    assert [e.path for e in store.index.find(sha)] == [str(moved.resolve())]

    # Opened again, the project finds its generator by itself, before its session renders
    # or loads directions: no offer, and no job fails on the generator chosen before (the
    # default model, not installed here).
    window.apply_settings(AppSettings(device="cpu", autosave_seconds=0,
                                      models_dir=str(tmp_path / "models"), generator=None))
    qtbot.waitUntil(lambda: window.worker.idle, timeout=60_000)
    bar.hide()
    failures = []
    window.jobs.job_failed.connect(lambda task, _feature: failures.append(task.error))
    with qtbot.waitSignal(window.documents.directions_loaded, timeout=60_000), \
            qtbot.waitSignal(window.generator_locator.found, timeout=60_000) as again:
        window.open_path(project)
    qtbot.waitUntil(lambda: window.worker.idle, timeout=60_000)
    assert again.args == [str(moved.resolve())] and not bar.action_button.isVisible()
    assert failures == []
    window.close()
