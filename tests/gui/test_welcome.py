"""The start page: first run without a generator, importing one, the sample photo."""

from __future__ import annotations

from pathlib import Path

import pytest

from semedit_gui.main_window import MainWindow
from semedit_gui.settings import AppSettings
from semedit_gui.welcome import sample_photo
from tests.model_fixtures import resources_with_tiny_ffhq

GEN = Path(__file__).resolve().parents[1] / "data" / "ada_tiny.pkl"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_first_run_import_then_sample_photo(qtbot, tmp_path, monkeypatch):
    # the FFHQ entry describes the tiny generator: import reads what a file is
    monkeypatch.setenv("SEMEDIT_RESOURCES", str(resources_with_tiny_ffhq(tmp_path)))
    window = MainWindow(AppSettings(device="cpu", autosave_seconds=0,
                                    models_dir=str(tmp_path / "models")),
                        settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    window.show()
    welcome = window.welcome
    assert welcome.isVisible() and not window.canvas.isVisible()
    assert not welcome.generator_ready and "Before you start" in welcome.heading.text()
    assert "stylegan2-ffhq-1024" in welcome.model_rows["generator"].text()
    assert "NVIDIA Source Code License-NC" in welcome.model_rows["generator"].text()

    # "I already have the file": imported into the models folder, checked, then ready.
    dialog = window.models.import_file("stylegan2-ffhq-1024", GEN)
    with qtbot.waitSignal(dialog.models_changed, timeout=30_000):
        pass
    assert welcome.generator_ready and "ready to edit" in welcome.heading.text()
    dialog.close()

    assert sample_photo().is_file()
    with qtbot.waitSignal(window.document_opened, timeout=60_000):
        welcome.sample_button.click()
    assert window.session.doc.photo_name == sample_photo().name
    assert not welcome.isVisible() and window.canvas.isVisible()
    window.close()
