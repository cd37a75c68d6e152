"""The window's side of a project's generator: switch to it when it is found, offer
"Locate generator…" in the message bar when it is not (`ProjectGeneratorController`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from semedit_gui.controllers.project_generator import LOCATE_LABEL, ProjectGeneratorController


def connect_generator_locator(window) -> ProjectGeneratorController:
    locator = ProjectGeneratorController(window.models.store,
                                         lambda: window.settings.generator or None, window)

    def current_doc():
        return window.session.doc if window.session is not None else None

    def choose_file() -> None:
        path, _ = QFileDialog.getOpenFileName(
            window, "Locate the project's generator", str(Path.home()),
            "StyleGAN2 generators (*.pkl *.pt *.pth);;All files (*)")
        if path:
            locator.locate(current_doc(), path)

    def use(path: str) -> None:
        window.apply_settings(dataclasses.replace(window.settings, generator=path))

    # On session_changed, which comes before the session's directions are loaded, so
    # they load with the project's own generator rather than failing on the old one.
    window.documents.session_changed.connect(
        lambda session: locator.check(session.doc if session is not None else None))
    locator.missing.connect(lambda text: window.message_bar.show_action(
        text, LOCATE_LABEL, choose_file))
    locator.found.connect(use)
    locator.message.connect(window.show_message)
    return locator
