"""The main window opens and closes cleanly, offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from semedit_gui.main_window import MainWindow
from semedit_gui.settings import AppSettings

ROOT = Path(__file__).resolve().parents[2]


def test_window_opens_and_closes(qtbot):
    window = MainWindow(AppSettings(autosave_seconds=0))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "SemEdit"
    assert window.statusBar().currentMessage() == "Ready"
    assert not window.commands.save.isEnabled() and not window.commands.undo.isEnabled()
    window.close()
    assert not window.isVisible()


def _run_semedit(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "semedit_gui.launcher", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_entry_point_opens_the_window_and_quits():
    result = _run_semedit(env_extra={"SEMEDIT_QUIT_AFTER_SHOW": "1"})
    assert result.returncode == 0, result.stderr


def test_screenshot_renders_the_window(tmp_path):
    out = tmp_path / "window.png"
    result = _run_semedit("--screenshot", str(out))
    assert result.returncode == 0, result.stderr
    with Image.open(out) as img:
        assert img.size[0] >= 640 and img.size[1] >= 400
        assert len(np.unique(np.asarray(img.convert("L")))) > 2  # menus and text, not a blank image


def test_screenshot_of_an_opened_photo(tmp_path):
    """`semedit PHOTO --screenshot OUT.png` opens the photo with the configured generator."""
    import skimage.data

    home = tmp_path / "home"
    AppSettings(generator=str(ROOT / "tests" / "data" / "ada_tiny.pkl"), device="cpu").save(
        home / "settings.json")
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    out = tmp_path / "window.png"
    result = _run_semedit(str(photo), "--screenshot", str(out),
                          env_extra={"SEMEDIT_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    with Image.open(out) as img:
        shot = np.asarray(img.convert("RGB"))
    # The aligned face fills the canvas: many distinct colours, unlike the empty window.
    assert len(np.unique(shot.reshape(-1, 3), axis=0)) > 200
