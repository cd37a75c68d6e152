"""Edit directions of the current generator: listing them and fitting the built-in ones."""

from __future__ import annotations

from collections.abc import Generator

from core.edit.directions import Direction
from core.errors import InvalidInputError
from core.jobs import JobControl, control_or_new
from core.models.loaded import LoadedModels
from core.workflows.progress import FittingProgress, Progress, drive


def list_directions(models: LoadedModels, control: JobControl | None = None
                    ) -> list[Direction]:
    """The directions the current generator has (GANSpace ones computed on first use;
    a stop then raises JobCancelled)."""
    return models.directions().list(control)


def compute_directions(models: LoadedModels, *, supervised: bool = False, hair: bool = False,
                       samples: int = 1000, control: JobControl | None = None
                       ) -> Generator[Progress, None, list[Direction]]:
    """Fit the built-in directions now: GANSpace always; with `supervised` the
    landmark-labelled ones (yaw, pitch, ...), with `hair` hair_volume and hair_length
    (labels from Segment Anything). A stop fits on the faces labelled so far."""
    from core.hair.directions import hair_direction_job, sam_hair_segmenter, store_hair_directions

    control = control_or_new(control)
    library = models.directions()
    segmenter = models.sam() if hair else None  # a missing SAM is said before any work
    yield Progress("ganspace", 0, 1, "Principal components")
    directions = library.builtin(control=control)
    if (supervised or hair) and samples < 1:
        raise InvalidInputError("--samples must be at least 1.")
    stopped = False
    if supervised:
        fitted, stopped = yield from _fitted(
            library.supervised_job(samples=samples, control=control), control)
        names = {d.name for d in fitted}  # keep the others (hair) that were fitted before
        library.store_supervised(fitted + [d for d in library.supervised()
                                           if d.name not in names])
        directions = directions + fitted
    if hair and not stopped:
        job = hair_direction_job(library, sam_hair_segmenter(segmenter), samples=samples,
                                 control=control)
        fitted, _ = yield from _fitted(job, control)
        directions = directions + store_hair_directions(library, fitted)
    return directions


def _fitted(job, control: JobControl
            ) -> Generator[Progress, None, tuple[list[Direction], bool]]:
    """The job's directions, fitted on the faces labelled until the end or a stop; and
    whether it was stopped."""
    stopped = yield from drive(job, lambda p: FittingProgress(
        "labelling", p.done, p.total, "Labelling faces", faces=p.faces, stopped=p.stopped))
    return job.result(), stopped
