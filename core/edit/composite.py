"""Rendering a project: every chunk's code composited over the photo as the inversion did.

A thin wrapper over `EditRenderer`'s "reconstruction" mode, so previews and exports share
one compositing implementation.
"""

from __future__ import annotations

import numpy as np
import torch

from core.edit.render import DirectionSource, EditRenderer, without_edits
from core.project import Document
from core.stylegan import Generator


@torch.no_grad()
def render_document(generator: Generator, doc: Document,
                    directions: DirectionSource | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(aligned composite uint8 [R, R, 3], changed region float [R, R]) of the project.

    Uses the same masks and compositing as the inversion, so an unedited project renders
    exactly what the inversion produced. The changed region is what paste-back replaces.
    With `directions` (a direction library) the chunks' edits are applied; without one they
    are left out and the inversion is rendered as it was.
    """
    renderer = EditRenderer(generator, doc, directions or {})
    request = renderer.request("reconstruction")
    if directions is None:
        request = without_edits(request)
    result = renderer.render(request)
    return result.image, result.changed_mask
