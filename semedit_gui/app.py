"""Creating the QApplication and the main window."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from core.resources import resource_path
from semedit_gui.main_window import MainWindow
from semedit_gui.settings import AppSettings

# Tests and the packaged smoke test set this so the app quits once its window is up.
QUIT_AFTER_SHOW_ENV = "SEMEDIT_QUIT_AFTER_SHOW"
SCREENSHOT_WAIT_S = 120.0  # how long a screenshot waits for the file to open


def run_app(path: str | None = None, screenshot: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SemEdit")
    app.setOrganizationName("SemEdit")
    app.setDesktopFileName("semedit")
    app.setWindowIcon(QIcon(str(resource_path("icons", "semedit.png"))))
    settings, warnings = AppSettings.load()
    from semedit_gui.dialogs.preferences import apply_theme

    apply_theme(app, settings.theme)
    window = MainWindow(settings, settings_warnings=warnings)
    # A job that could not stop in time keeps the app alive, hidden, until it ends.
    window.shutdown.threads_ended.connect(app.quit, Qt.ConnectionType.QueuedConnection)
    window.show()
    unattended = bool(screenshot or os.environ.get(QUIT_AFTER_SHOW_ENV))
    if path:
        window.open_path(Path(path))
    elif not unattended:
        QTimer.singleShot(0, window.offer_recovery)
    if screenshot:
        _when_idle(window, lambda: _save_screenshot_and_quit(window, Path(screenshot)))
    elif os.environ.get(QUIT_AFTER_SHOW_ENV):
        QTimer.singleShot(0, window.close_discarding)
    return app.exec()


def _when_idle(window: MainWindow, then, deadline: float | None = None) -> None:
    """Call `then` once the window's workers are idle (a file being opened has arrived)."""
    deadline = deadline or time.monotonic() + SCREENSHOT_WAIT_S
    if not window.busy or time.monotonic() > deadline:
        QTimer.singleShot(100, then)  # let the last results paint
        return
    QTimer.singleShot(100, lambda: _when_idle(window, then, deadline))


def _save_screenshot_and_quit(window: MainWindow, out: Path) -> None:
    pixmap = window.grab()
    if not pixmap.save(str(out), "PNG"):
        print(f"semedit: error: could not write the screenshot to {out}", file=sys.stderr)
        window.close_discarding()
        QApplication.exit(1)
        return
    window.close_discarding()
