"""Creating the QApplication and the main window."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from semedit_gui.main_window import MainWindow

# Tests and the packaged smoke test set this so the app quits once its window is up.
QUIT_AFTER_SHOW_ENV = "SEMEDIT_QUIT_AFTER_SHOW"


def run_app(path: str | None = None, screenshot: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SemEdit")
    app.setOrganizationName("SemEdit")
    window = MainWindow()
    if path:
        window.show_message(f"Opening files arrives with the editor: {Path(path).name}")
    window.show()
    if screenshot:
        QTimer.singleShot(0, lambda: _save_screenshot_and_quit(window, Path(screenshot)))
    elif os.environ.get(QUIT_AFTER_SHOW_ENV):
        QTimer.singleShot(0, window.close)
    return app.exec()


def _save_screenshot_and_quit(window: MainWindow, out: Path) -> None:
    pixmap = window.grab()
    if not pixmap.save(str(out), "PNG"):
        print(f"semedit: error: could not write the screenshot to {out}", file=sys.stderr)
        QApplication.exit(1)
        return
    window.close()
