"""The opened project's generator: found by content, or located by the user; a choice of
that document only.

When a project opens, its generator is looked up the way the CLI does (id, model index by
sha256, recorded path; `core.workflows.project_generator`). The lookup may hash a model
file (about a second for 360 MB, longer on a slow disk), so it runs as a job on the GPU
worker, never on the UI thread; being on that worker it also switches the models there,
before the jobs the new session queued behind it (its first preview, its directions), so
those run with the project's generator. Found and not the Preferences' generator: the
document uses it (`choice_changed`, `found`); the Preferences (settings.json) keep the
user's default, which the next new photo uses again. Not found: `missing` carries a
sentence naming the file, and the window offers "Locate generator…"; `locate` checks the
chosen file's sha256 against the project (on the worker too) and remembers it in the
model index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.errors import ModelMissingError, SemeditError
from core.models.loaded import LoadedModels, ModelChoice
from core.models.store import ModelStore
from core.project import Document
from core.workflows.project_generator import find_project_generator
from semedit_gui.controllers.job_registry import JobRegistry
from semedit_gui.settings import AppSettings
from semedit_gui.worker import Task

GUI_HOW = "use Locate generator… to point at it (it is then remembered)"
LOCATE_LABEL = "Locate generator…"
KIND = "project_generator"


@dataclass(frozen=True)
class GeneratorBinding:
    """A document's generator fields, copied on the UI thread for the worker's lookup
    (what `find_project_generator` reads of a document)."""

    generator_id: str | None
    generator_sha256: str | None
    generator_name: str | None
    generator_path: str | None

    @classmethod
    def of(cls, doc: Document) -> GeneratorBinding:
        return cls(doc.generator_id, doc.generator_sha256, doc.generator_name,
                   doc.generator_path)


@dataclass(frozen=True)
class GeneratorLookup:
    """What the worker found: the project's own generator (None: the Preferences' one is
    it), or the sentence saying it is missing or the chosen file was refused."""

    path: Path | None
    missing: str | None = None
    refused: str | None = None


class ProjectGeneratorController(QObject):
    missing = Signal(str)  # which generator the project needs and that it was not found
    found = Signal(str)  # the path of the project's generator, now used for this document
    choice_changed = Signal(object)  # the ModelChoice the open document uses from now on
    message = Signal(str, bool)  # text, is it an error

    def __init__(self, registry: JobRegistry, settings: Callable[[], AppSettings],
                 parent: QObject | None = None):
        super().__init__(parent)
        self._registry = registry
        self._settings = settings
        self._doc: Document | None = None  # the document the last check was for
        self._restore: Document | None = None  # on screen while a photo opens (`new_photo`)
        # (project generator path, the Preferences' generator it stands in for) or None
        self._document_generator: tuple[str, str] | None = None

    def model_choice(self, settings: AppSettings) -> ModelChoice:
        """The models to use with `settings`: the Preferences' choice, with the open
        project's own generator while the Preferences still name the generator it stood
        in for (choosing another one there applies to the open project too)."""
        choice = settings.model_choice()
        own = self._document_generator
        if own is not None and own[1] == (settings.generator or ""):
            return replace(choice, generator=own[0])
        return choice

    def check(self, doc: Document | None) -> Task | None:
        """Use the generator `doc` was made with, or say it is missing; a document bound
        to no generator (a new photo) uses the Preferences' generator again."""
        if doc is None:
            return None
        self._doc, self._restore = doc, None
        if doc.generator_sha256 is None:
            self._use(None)
            return None
        return self._lookup(doc, None)

    def new_photo(self) -> None:
        """A photo is about to be opened as a new document: it is made with the
        Preferences' generator. Should it fail to open, the document still on screen gets
        its own generator back (`job_ended`)."""
        self._restore = self._doc if self._document_generator is not None else None
        self._use(None)

    def job_ended(self, task: Task) -> None:
        """After the job that opened a photo: a failed or stopped one left the project on
        screen, which is checked again."""
        if task.kind != "open":
            return
        restore, self._restore = self._restore, None
        if restore is not None and restore is self._doc:
            self.check(restore)

    def locate(self, doc: Document | None, path: str | Path) -> Task | None:
        """The user points at the project's generator: checked by sha256, remembered."""
        if doc is None:
            return None
        self._doc = doc
        return self._lookup(doc, str(path))

    # ----------------------------------------------------------------- the lookup

    def _lookup(self, doc: Document, given: str | None) -> Task:
        binding = GeneratorBinding.of(doc)
        settings = self._settings()
        preferred, base = settings.generator or None, settings.model_choice()

        def work(models: LoadedModels, task: Task) -> GeneratorLookup:  # the worker
            lookup = find_generator(models.store, binding, given, preferred)
            if lookup.refused is None:  # the jobs queued behind this one use it
                models.use(base if lookup.path is None
                           else replace(base, generator=str(lookup.path)))
            return lookup

        return self._registry.submit(
            KIND, "Finding the project's generator", work, quiet=True,
            on_success=lambda lookup: self._looked_up(doc, given, lookup))

    def _looked_up(self, doc: Document, given: str | None, lookup: GeneratorLookup) -> None:
        if doc is not self._doc or self._registry.closing:
            return  # another document was opened meanwhile: its own check decides
        if lookup.refused is not None:
            self.message.emit(lookup.refused, True)
            return
        self._use(lookup.path)
        if lookup.missing is not None:
            self.missing.emit(lookup.missing)
            return
        if lookup.path is None:
            return
        self.found.emit(str(lookup.path))
        self.message.emit(
            f"Using {lookup.path.name}; SemEdit will find it there from now on." if given
            else f"Using {lookup.path.name}, the generator this project was made with.",
            False)

    def _use(self, path: Path | None) -> None:
        """The open document's generator: `path`, or None for the Preferences' one."""
        settings = self._settings()
        before = self.model_choice(settings)
        self._document_generator = None if path is None \
            else (str(path), settings.generator or "")
        after = self.model_choice(settings)
        if after != before:
            self.choice_changed.emit(after)


def find_generator(store: ModelStore, binding: GeneratorBinding, given: str | None,
                   preferred: str | None) -> GeneratorLookup:
    """On the worker (it may hash files): the generator file for `binding`; `given` is a
    file the user located, `preferred` the Preferences' generator (None: the default)."""
    try:
        if given is not None:
            located = find_project_generator(
                store, binding, given, how=GUI_HOW,
                force_how="choose another generator in Preferences to render it anyway")
            return GeneratorLookup(located.path)
        if _sha256_or_none(store, preferred) == binding.generator_sha256:
            return GeneratorLookup(None)
        return GeneratorLookup(find_project_generator(store, binding, how=GUI_HOW).path)
    except ModelMissingError as error:
        if given is not None:
            return GeneratorLookup(None, refused=str(error))
        return GeneratorLookup(None, missing=str(error))
    except SemeditError as error:
        return GeneratorLookup(None, refused=str(error))


def _sha256_or_none(store: ModelStore, spec: str | None) -> str | None:
    try:
        return store.sha256_of(store.resolve(spec, "generator"))
    except SemeditError:
        return None  # nothing usable chosen: look for the project's own
