"""The main window. For now: menus, an empty canvas area and the status bar."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox

import core


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("SemEdit")
        self.resize(1280, 800)
        placeholder = QLabel("Open a portrait photo to start editing.")
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        placeholder.setObjectName("canvasPlaceholder")
        self.setCentralWidget(placeholder)
        self._build_menus()
        self.statusBar().showMessage("Ready")

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About SemEdit", self)
        about.triggered.connect(self._show_about)
        help_menu.addAction(about)

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text)

    def _show_about(self) -> None:
        QMessageBox.about(self, "About SemEdit",
                          f"SemEdit {core.__version__}\n"
                          "Semantic editing of portrait photos with StyleGAN2.")
