"""What a workflow yields while it runs: small immutable progress values.

Every workflow is a generator: it yields `Progress` (or `FittingProgress`) between
steps and returns a CPU-only result. The core jobs it drives share the caller's
`JobControl` and look at it between their steps.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np


@dataclass(frozen=True)
class Progress:
    """One step of a workflow stage ("invert", "pti", a hair stage, "pose_directions", ...)."""

    stage: str
    step: int  # done so far, within the stage
    total: int
    label: str = ""  # the stage in the user's words
    overall: float | None = None  # 0..1 over the whole workflow, when known
    losses: Mapping[str, float] = field(default_factory=dict)
    preview: np.ndarray | None = None  # uint8 [h, w, 3] of the current result, now and then
    stopped: bool = False  # the stage ended early on a stop request

    @property
    def total_steps(self) -> int:
        return self.total

    @property
    def fraction(self) -> float:
        return self.overall if self.overall is not None else self.step / max(self.total, 1)


@dataclass(frozen=True)
class FittingProgress(Progress):
    """Labelling generated faces for supervised directions: `faces` of `step` were usable."""

    faces: int = 0


class _Job(Protocol):
    def run(self) -> Iterator[Any]: ...


P = TypeVar("P")
R = TypeVar("R")


def drive(job: _Job, progress: Callable[[Any], P]) -> Generator[P, None, bool]:
    """Run a core job (made with the workflow's `control=`, so a stop ends it after its
    current step) to its end, yielding `progress(p)` for each of its steps. Returns True
    when the job reported that it stopped early."""
    stopped = False
    for item in job.run():
        stopped = stopped or bool(getattr(item, "stopped", False))
        yield progress(item)
    return stopped


def relay(steps: Generator[Any, None, R], progress: Callable[[Any], P]
          ) -> Generator[P, None, R]:
    """Yield `progress(item)` for each item of a core generator; returns what it returns."""
    while True:
        try:
            item = next(steps)
        except StopIteration as finished:
            return finished.value
        yield progress(item)
