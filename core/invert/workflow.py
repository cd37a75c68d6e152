"""Turning an inversion into a project Document, and a Document back into latent codes."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from core.errors import InvalidInputError
from core.face.prepare import PreparedPhoto
from core.imageio import Photo
from core.invert.codes import ChunkCode
from core.invert.engine import InversionResult, InversionSettings
from core.project import Document


def document_from_inversion(*, photo: Photo | None, prepared: PreparedPhoto, names: list[str],
                            result: InversionResult, settings: InversionSettings,
                            generator_id: str | None, generator_sha256: str | None,
                            metrics: dict,
                            pti_weights: dict[str, np.ndarray] | None = None) -> Document:
    """A project holding the photo, its alignment and one chunk per inverted code.

    Chunk masks are the weights the inversion ended with (the optimised ones when mask
    optimisation was on), so rendering the project reproduces the inversion's output.
    """
    doc = Document(
        aligned=prepared.aligned,
        photo_bytes=photo.file_bytes if photo else None,
        photo_name=photo.path.name if photo else "",
        transform=prepared.transform.to_json(),
        generator_id=generator_id,
        generator_sha256=generator_sha256,
        inversion={"settings": dataclasses.asdict(settings), "metrics": _finite(metrics)},
        pti_weights=pti_weights,
    )
    for name, code, mask in zip(names, result.codes, result.masks, strict=True):
        doc.add_chunk(mask.numpy(), name=name, space=code.space,
                      code=code.value.detach().cpu().numpy())
    doc.validate()
    return doc


def chunk_codes(doc: Document, device: torch.device | str = "cpu") -> list[ChunkCode]:
    missing = [c.name for c in doc.chunks if c.code is None]
    if missing:
        raise InvalidInputError(f"Chunks {missing} have not been inverted yet.")
    return [ChunkCode(c.space, torch.from_numpy(np.asarray(c.code, dtype=np.float32)).to(device))
            for c in doc.chunks]


def _finite(metrics: dict) -> dict:
    """JSON has no NaN: a figure that could not be computed is stored as null."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in metrics.items()}
