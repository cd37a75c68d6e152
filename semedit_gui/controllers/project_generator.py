"""The opened project's generator: found by content, or located by the user.

When a project opens, its generator is looked up the way the CLI does (id, model index by
sha256, recorded path; `core.workflows.project_generator`). Found and not the chosen one:
`found` asks the window to switch to it. Not found: `missing` carries a sentence naming
the file, and the window offers "Locate generator…"; `locate` checks the chosen file's
sha256 against the project and remembers it in the model index.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.errors import ModelMissingError, SemeditError
from core.models import ModelStore
from core.project import Document
from core.workflows.project_generator import find_project_generator

GUI_HOW = "use Locate generator… to point at it (it is then remembered)"
LOCATE_LABEL = "Locate generator…"


class ProjectGeneratorController(QObject):
    missing = Signal(str)  # which generator the project needs and that it was not found
    found = Signal(str)  # the path of the project's generator: the window switches to it
    message = Signal(str, bool)  # text, is it an error

    def __init__(self, store: Callable[[], ModelStore],
                 chosen_generator: Callable[[], str | None],
                 parent: QObject | None = None):
        super().__init__(parent)
        self._store = store
        self._chosen = chosen_generator

    def check(self, doc: Document | None) -> None:
        """Make sure the generator `doc` was made with is the one in use, or say it is
        missing. Hashes only files the model index does not know yet."""
        if doc is None or doc.generator_sha256 is None:
            return
        try:
            store = self._store()
            if self._chosen_sha256(store) == doc.generator_sha256:
                return
            located = find_project_generator(store, doc, how=GUI_HOW)
        except ModelMissingError as error:
            self.missing.emit(str(error))
            return
        except SemeditError as error:
            self.message.emit(str(error), True)
            return
        self.found.emit(str(located.path))
        self.message.emit(f"Using {located.path.name}, the generator this project was made "
                          "with.", False)

    def locate(self, doc: Document | None, path: str | Path) -> bool:
        """The user points at the project's generator: checked by sha256, remembered."""
        if doc is None:
            return False
        try:
            located = find_project_generator(
                self._store(), doc, str(path), how=GUI_HOW,
                force_how="choose another generator in Preferences to render it anyway")
        except SemeditError as error:
            self.message.emit(str(error), True)
            return False
        self.found.emit(str(located.path))
        self.message.emit(f"Using {located.path.name}; SemEdit will find it there from now "
                          "on.", False)
        return True

    def _chosen_sha256(self, store: ModelStore) -> str | None:
        try:
            return store.sha256_of(store.resolve(self._chosen(), "generator"))
        except SemeditError:
            return None  # nothing usable chosen: look for the project's own
