"""Segment Anything on an image: one object's mask from clicks and/or a box."""

from __future__ import annotations

from collections.abc import Generator, Sequence

import numpy as np

from core.jobs import JobControl, control_or_new
from core.models.loaded import LoadedModels
from core.segment.sam import SamPrediction
from core.workflows.progress import Progress


def sam_mask(models: LoadedModels, image: np.ndarray, *,
             points: Sequence[tuple[float, float]] = (), labels: Sequence[int] = (),
             box: tuple[float, float, float, float] | None = None, multimask: bool = True,
             control: JobControl | None = None) -> Generator[Progress, None, SamPrediction]:
    """The best mask for clicks (x, y) in `image` pixels (labels 1 = object, 0 = not)
    and/or a box; the image embedding is cached by the segmenter, so the next click on
    the same image is cheap."""
    control = control_or_new(control)
    segmenter = models.sam()
    yield Progress("embed", 0, 2, "Reading the image")
    segmenter.set_image(image)
    control.check("Segmenting")
    yield Progress("predict", 1, 2, "Finding the object")
    return segmenter.predict(list(points) or None, list(labels) or None, box,
                             multimask=multimask)
