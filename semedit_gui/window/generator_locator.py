"""The window's side of a project's generator: use it for the open document (the
Preferences keep their own generator), offer "Locate generator…" in the message bar when
it is missing (`ProjectGeneratorController`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from semedit_gui.controllers.project_generator import LOCATE_LABEL, ProjectGeneratorController


def connect_generator_locator(window) -> ProjectGeneratorController:
    locator = ProjectGeneratorController(window.jobs, lambda: window.settings, window)

    def current_doc():
        return window.session.doc if window.session is not None else None

    def choose_file() -> None:
        path, _ = QFileDialog.getOpenFileName(
            window, "Locate the project's generator", str(Path.home()),
            "StyleGAN2 generators (*.pkl *.pt *.pth);;All files (*)")
        if path:
            locator.locate(current_doc(), path)

    def use(choice) -> None:
        window.worker.set_models(choice)  # settings.json is left as the user set it
        window.preview.refresh()  # the preview renders again with the new generator

    # On session_changed, which comes before the session renders or loads its directions:
    # the lookup job is queued (and switches the worker's models) ahead of those jobs.
    window.documents.session_changed.connect(
        lambda session: locator.check(session.doc if session is not None else None))
    window.documents.photo_opening.connect(locator.new_photo)
    window.jobs.job_ended.connect(locator.job_ended)
    # Kept: the renders and directions that fail without it must not hide the way out.
    locator.missing.connect(lambda text: window.message_bar.show_action(
        text, LOCATE_LABEL, choose_file, keep=True))
    locator.choice_changed.connect(use)
    locator.message.connect(window.show_message)
    return locator
