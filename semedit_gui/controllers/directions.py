"""The direction library of the current generator, without widgets: listing, importing,
fitting the supervised directions (stoppable and resumable), naming, describing, removing,
exporting, and the published direction packs.

The library lives with the models on the GPU worker, so every call here is one worker job;
after any change the new list goes out through `directions_changed` (the Directions dialog
and the Edits picker show it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from core import workflows
from core.errors import SemeditError
from core.workflows.directions import SupervisedFit, fit_supervised
from semedit_gui.controllers.job_registry import JobRegistry
from semedit_gui.worker import Task

KIND = "directions"
FIT_KIND = "directions_fit"
PACK_KIND = "direction_pack"


@dataclass(frozen=True)
class Library:
    """What the Directions dialog shows: the directions, the packs and whether Segment
    Anything is there (the hair directions need it)."""

    directions: list
    packs: list  # workflows.PackOffer
    sam_installed: bool


@dataclass(frozen=True)
class ImportOptions:
    """The CLI's `directions import` options."""

    name: str | None = None
    layers: tuple[int, int] | None = None
    scale: float | None = None
    replace: bool = False


def seconds_left(done: int, total: int, elapsed: float) -> float | None:
    """The time the rest of a fitting will take at the pace so far (None before a face)."""
    if done <= 0 or elapsed <= 0:
        return None
    return max(total - done, 0) * elapsed / done


def describe_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "estimating the time…"
    if seconds < 90:
        return f"about {max(1, round(seconds))} s left"
    if seconds < 5400:
        return f"about {round(seconds / 60)} min left"
    return f"about {seconds / 3600:.1f} h left"


class DirectionsController(QObject):
    library_changed = Signal(object)  # Library
    directions_changed = Signal(object)  # list[Direction], for the Edits picker
    running_changed = Signal(bool)  # a fitting or a pack download runs
    progress = Signal(float, str)  # fraction, what it is doing (with the time left)
    message = Signal(str, bool)  # sentence, is it an error

    def __init__(self, registry: JobRegistry, *, labeller: Callable | None = None,
                 clock: Callable[[], float] = time.monotonic, parent: QObject | None = None):
        """`labeller` replaces the landmark measurements of the supervised fit (tests)."""
        super().__init__(parent)
        self.registry = registry
        self.labeller = labeller
        self._clock = clock
        self.library: Library | None = None
        self.paused_fit: SupervisedFit | None = None
        self._fit_started = 0.0
        self._fit_done_before = 0
        registry.job_failed.connect(self._on_failed)

    # ----------------------------------------------------------------- state

    @property
    def running(self) -> bool:
        return any(self.registry.active(k) for k in (FIT_KIND, PACK_KIND))

    @property
    def can_resume(self) -> bool:
        return self.paused_fit is not None and not self.running

    def _on_failed(self, task: Task, what: str) -> None:
        if task.kind in (KIND, FIT_KIND, PACK_KIND):
            self.message.emit(task.error or f"{what} failed.", True)

    def _submit(self, name: str, work: Callable[[Any, Task], Any], *, kind: str = KIND,
                done: Callable[[Any], None] | None = None,
                on_progress: Callable[[Any], None] | None = None) -> Task:
        """Run `work(models, task)` and then list the library again (one job: the list
        reflects exactly this change)."""
        def job(models, task):
            result = work(models, task)
            if hasattr(result, "__next__"):
                result = yield from result
            return result, _read_library(models, task)

        def finished(value) -> None:
            result, library = value
            self._publish(library)
            if done is not None:
                done(result)

        return self.registry.submit(kind, name, job, on_success=finished,
                                    on_progress=on_progress, reason=name)

    def _publish(self, library: Library) -> None:
        self.library = library
        self.library_changed.emit(library)
        self.directions_changed.emit(library.directions)

    # ----------------------------------------------------------------- reading

    def refresh(self) -> Task:
        return self._submit("Reading the direction library", lambda models, task: None)

    # ----------------------------------------------------------------- changes

    def import_file(self, path: str | Path, options: ImportOptions = ImportOptions()) -> Task:
        """Import a direction file with the CLI's options (name, layer range, scale)."""
        path = Path(path)

        def work(models, task):
            return models.directions().import_file(
                path, name=options.name or None, layers=options.layers, scale=options.scale,
                replace=options.replace, control=task.control)

        return self._submit(f"Importing {path.name}", work, done=lambda added: self.message.emit(
            f"Imported {', '.join(d.name for d in added)} from {path.name}.", False))

    def rename(self, name: str, title: str) -> Task:
        return self._submit(f"Renaming {name}", lambda models, task: models.directions(
            ).set_label(name, title=title))

    def describe(self, name: str, description: str) -> Task:
        return self._submit(f"Describing {name}", lambda models, task: models.directions(
            ).set_label(name, description=description))

    def remove(self, name: str) -> Task:
        return self._submit(f"Deleting {name}",
                            lambda models, task: models.directions().remove(name),
                            done=lambda _r: self.message.emit(f"Deleted {name}.", False))

    def export(self, name: str, path: str | Path) -> Task:
        return self._submit(
            f"Exporting {name}", lambda models, task: models.directions().export(name, path),
            done=lambda written: self.message.emit(f"Exported {name} to {written}.", False))

    # ----------------------------------------------------------------- fitting

    def compute_supervised(self, samples: int = 1000, *, hair: bool = False) -> Task | None:
        """Fit the landmark-supervised directions (and the hair ones) on the worker; a
        stop keeps the faces labelled so far for `resume()`."""
        if self.running:
            return None
        self.paused_fit = None
        return self._start_fit(samples, hair, None)

    def resume(self) -> Task | None:
        if not self.can_resume:
            return None
        fit = self.paused_fit
        return self._start_fit(fit.job.total, False, fit)

    def stop(self) -> None:
        for kind in (FIT_KIND, PACK_KIND):
            task = self.registry.active(kind)
            if task is not None:
                task.stop()

    def _start_fit(self, samples: int, hair: bool, resume) -> Task:
        self._fit_started = self._clock()
        self._fit_done_before = resume.job.done if resume is not None else 0
        labeller = self.labeller

        def work(models, task):
            return fit_supervised(
                models, samples=samples, hair=hair, labeller=labeller, resume=resume,
                control=task.control)

        task = self._submit("Fitting the supervised directions", work, kind=FIT_KIND,
                            done=self._fit_ended, on_progress=self._on_fit_progress)
        self.running_changed.emit(True)
        task.ended.connect(lambda: self._progress_ended(task))
        task.ended.connect(lambda: self.running_changed.emit(self.running))
        return task

    def _on_fit_progress(self, p) -> None:
        fraction = p.step / max(p.total, 1)
        if p.stage == "labelling":
            left = seconds_left(p.step - self._fit_done_before, p.total - self._fit_done_before,
                                self._clock() - self._fit_started)
            text = f"Labelling faces: {p.step} of {p.total}, {describe_seconds(left)}"
        else:
            text = p.label
        self.progress.emit(fraction, text)

    def _fit_ended(self, fit) -> None:
        if fit.stopped:
            self.paused_fit = fit
            self.message.emit(f"Stopped after {fit.job.done} of {fit.job.total} faces; "
                              "Resume carries on from there.", False)
        else:
            self.paused_fit = None
            names = ", ".join(d.name for d in fit.directions)
            self.message.emit(f"Fitted {names}.", False)

    # ----------------------------------------------------------------- packs

    def download_pack(self, pack_id: str) -> Task | None:
        """Download a pack (resumable) and install it for the current generator; a pack
        made for another generator is refused with a sentence before anything is fetched."""
        if self.running:
            return None

        def work(models, task):
            return workflows.install_direction_pack(models, pack_id, control=task.control)

        def progress(p) -> None:
            self.progress.emit(p.step / max(p.total, 1), p.label)

        task = self._submit(f"Downloading the direction pack {pack_id}", work,
                            kind=PACK_KIND, on_progress=progress,
                            done=lambda added: self.message.emit(
                                f"Installed {len(added)} directions from {pack_id}.", False))
        self.running_changed.emit(True)
        task.ended.connect(lambda: self._progress_ended(task))
        task.ended.connect(lambda: self.running_changed.emit(self.running))
        return task

    def _progress_ended(self, task: Task) -> None:
        """The progress line never outlives its job with a time left: a fit stopped half-way
        says where it stopped, one that failed or never ran goes back to empty."""
        fit = self.paused_fit
        if task.state == "done" and task.kind == FIT_KIND and fit is not None:
            self.progress.emit(fit.job.done / max(fit.job.total, 1),
                               f"Stopped after {fit.job.done} of {fit.job.total} faces")
        elif task.state == "done":
            self.progress.emit(1.0, "Done")
        else:
            self.progress.emit(0.0, "")


def _read_library(models, task) -> Library:
    directions = workflows.list_directions(models, task.control)
    packs = workflows.direction_packs(models)
    try:
        sam = models.store.resolve(models.choice.sam, "sam").is_file()
    except SemeditError:  # missing, or a named file that is not there: not installed
        sam = False
    return Library(directions, packs, sam)
