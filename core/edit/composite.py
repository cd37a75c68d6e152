"""Rendering a project: every chunk's code in one batched call, composited over the photo."""

from __future__ import annotations

import numpy as np
import torch

from core.invert.codes import CodeSpace
from core.invert.masks import ChunkMasks, composite
from core.invert.pti import with_tuned_weights
from core.invert.workflow import chunk_codes
from core.project import Document
from core.stylegan import Generator, images_to_uint8, uint8_to_images


@torch.no_grad()
def render_document(generator: Generator, doc: Document) -> tuple[np.ndarray, np.ndarray]:
    """(aligned composite uint8 [R, R, 3], changed region float [R, R]) of the project.

    Uses the same masks and compositing as the inversion, so an unedited project renders
    exactly what the inversion produced. The changed region is what paste-back replaces.
    """
    device = generator.w_avg.device
    coverage = doc.inversion.get("settings", {}).get("coverage", "edit_regions")
    masks = torch.from_numpy(np.stack([c.mask for c in doc.chunks])).to(device)
    weights, photo_weight = ChunkMasks(masks, coverage, optimise=False).to(device)()
    if doc.pti_weights:
        generator = with_tuned_weights(generator, doc.pti_weights)
    images = CodeSpace(generator).render(chunk_codes(doc, device))
    out = composite(images, weights, photo_weight, uint8_to_images(doc.aligned, device))
    changed = weights.sum(0)[0].clamp(max=1.0).cpu().numpy()
    return images_to_uint8(out)[0], changed
