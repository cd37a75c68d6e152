"""User-level workflows, shared by the `semedit` commands and the desktop app.

Each workflow is a generator: it takes the model provider (`core.models.loaded.
LoadedModels`), its inputs and an optional `JobControl`, yields `Progress` between steps
and returns a CPU-only result (numpy arrays, plain values, Documents; never a tensor or a
model), so a result can cross to the UI thread and outlive a generator switch:

    outcome = yield from workflows.invert(models, doc, settings, control=control)

`run(workflow)` drives one to its end and returns its result (for scripts and tests).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

from core.workflows.directions import (
    PackOffer,
    compute_directions,
    direction_packs,
    install_direction_pack,
    list_directions,
)
from core.workflows.hair import (
    HairBlendState,
    HairOutcome,
    HairTransfer,
    hair_blend,
    hair_transfer,
)
from core.workflows.inversion import (
    InversionOutcome,
    InvertedCodes,
    LatentCode,
    apply_inversion,
    check_generator,
    chunk_codes,
    invert,
)
from core.workflows.photos import AutoChunks, OpenedPhoto, auto_chunks, open_photo
from core.workflows.progress import FittingProgress, Progress
from core.workflows.render import (
    AppliedEdits,
    Exported,
    FullPhoto,
    Rendered,
    apply_edit_plan,
    export,
    render_full_photo,
    render_project,
)
from core.workflows.segment import sam_mask

R = TypeVar("R")


def run(workflow: Generator[Any, None, R],
        on_progress: Callable[[Any], None] | None = None) -> R:
    """Drive a workflow to its end; returns what it returns."""
    while True:
        try:
            item = next(workflow)
        except StopIteration as finished:
            return finished.value
        if on_progress is not None:
            on_progress(item)


__all__ = [
    "AppliedEdits", "AutoChunks", "Exported", "FittingProgress", "FullPhoto", "HairBlendState",
    "HairOutcome", "HairTransfer", "InversionOutcome", "InvertedCodes", "LatentCode",
    "OpenedPhoto", "PackOffer", "Progress", "Rendered", "apply_edit_plan",
    "apply_inversion", "auto_chunks", "check_generator", "chunk_codes", "compute_directions",
    "direction_packs", "export", "hair_blend", "hair_transfer", "install_direction_pack",
    "invert", "list_directions", "open_photo", "render_full_photo", "render_project", "run",
    "sam_mask",
]
