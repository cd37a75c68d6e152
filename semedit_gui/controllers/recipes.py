"""Recipes in the app, without widgets: save the open project's edits as a recipe, and
apply a recipe to photos (one batch job on the GPU worker, with progress and Stop).

Both run on the GPU worker: saving looks the directions up in the generator's library
(their sha256 goes into the recipe), and applying makes each photo with the worker's own
models, photo after photo, exactly as `semedit batch` does in one process. Stop ends the
batch after the current step of the photo in progress; that photo is not written, the
manifest says so, and `semedit batch --resume` (or applying again) finishes the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from core.workflows.batch import BatchProgress, BatchSummary, WorkerSpec, batch
from core.workflows.recipe import (
    default_chunk_source,
    load_recipe,
    recipe_from_document,
    save_recipe,
)
from semedit_gui.controllers.documents import DocumentController
from semedit_gui.controllers.job_registry import JobRegistry
from semedit_gui.worker import Task

KIND = "batch"
SAVE_KIND = "recipe"


class RecipeController(QObject):
    running_changed = Signal(bool)
    progress = Signal(int, int, str)  # photos finished, photos in all, the last one's line
    # BatchSummary (its `stopped` says whether Stop ended it); None: stopped before it began
    finished = Signal(object)
    recipe_saved = Signal(object)  # the recipe's Path
    message = Signal(str, bool)

    def __init__(self, registry: JobRegistry, documents: DocumentController,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.registry = registry
        self.documents = documents

    @property
    def task(self) -> Task | None:
        return self.registry.active(KIND)

    @property
    def running(self) -> bool:
        return self.task is not None

    def save(self, path: Path, *, loss_kind: str, pti_steps: int,
             chunk_source: str | None = None) -> Task | None:
        """Write the open project's inversion settings and edits as a recipe at `path`
        (`chunk_source` None: automatic chunks when the chunks have their names)."""
        session = self.documents.session
        if session is None:
            return None
        if not session.inverted:
            self.message.emit("Run the inversion first: a recipe repeats an inverted, edited "
                              "project.", True)
            return None
        snapshot = session.doc.snapshot()
        source = chunk_source or default_chunk_source(snapshot)

        def work(models, task) -> Path:
            recipe = recipe_from_document(snapshot, directions=models.directions().get,
                                          chunk_source=source, loss=loss_kind,
                                          pti_steps=pti_steps)
            return save_recipe(recipe, path)

        return self.registry.submit(SAVE_KIND, "Saving the recipe", work,
                                    on_success=self._saved, reason="Saving the recipe")

    def apply(self, recipe: Path, photos: Sequence[Path], output: Path, *,
              projects: bool = False) -> Task | None:
        """Make `photos` with the recipe into `output` (its manifest records each photo)."""
        if self.running:
            return None

        def work(models, task):
            spec = WorkerSpec(load_recipe(recipe), models.choice, threads=None,
                              projects=projects)
            return (yield from batch(spec, photos, output, control=task.control,
                                     models=models, extra_inputs=[recipe]))

        task = self.registry.submit(KIND, "Applying the recipe", work,
                                    on_success=self._finished, on_progress=self._progress,
                                    reason="Applying the recipe")
        task.cancelled.connect(self._cancelled)
        if not task.finished:
            self.running_changed.emit(True)
            task.ended.connect(lambda: self.running_changed.emit(False))
        return task

    def stop(self) -> None:
        self.registry.cancel(KIND)

    def _saved(self, path: Path) -> None:
        self.recipe_saved.emit(path)
        self.message.emit(f"Saved the recipe {Path(path).name}.", False)

    def _cancelled(self) -> None:
        self.message.emit("The recipe was stopped before any photo was made.", False)
        self.finished.emit(None)

    def _progress(self, progress: BatchProgress) -> None:
        outcome = progress.outcome
        if outcome is not None:
            line = f"{Path(outcome.path).name}: {outcome.status}" + (
                f" ({outcome.reason})" if outcome.reason else "")
        else:  # a step within the photo being made, or the start
            line = f"{Path(progress.photo).name}: {progress.label}" if progress.photo else ""
        self.progress.emit(progress.step, progress.total, line)

    def _finished(self, summary: BatchSummary) -> None:
        counts = summary.counts
        state = "stopped" if summary.stopped else "finished"
        self.message.emit(
            f"The recipe {state}: {counts['done']} made, {counts['skipped']} skipped, "
            f"{counts['failed']} failed (see {summary.manifest.name} in "
            f"{summary.output}).", counts["failed"] > 0)
        self.finished.emit(summary)
