"""The main window opens and closes cleanly, offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from semedit_gui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]


def test_window_opens_and_closes(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "SemEdit"
    assert window.statusBar().currentMessage() == "Ready"
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
