"""Turning an inversion into a project Document, and a Document back into latent codes."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from core.errors import InvalidInputError
from core.face.prepare import PreparedPhoto
from core.imageio import Photo
from core.invert.engine import InversionResult, InversionSettings
from core.invert.masks import composite
from core.latents.codes import ChunkCode, CodeSpace
from core.project import Document
from core.project.document import Chunk
from core.project.history import CompoundItem, MaskDiff, ValueChange


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


def apply_inversion(doc: Document, chunks: list[Chunk], result: InversionResult,
                    settings: InversionSettings, *, metrics: dict,
                    generator_id: str | None, generator_sha256: str | None,
                    pti_weights: dict[str, np.ndarray] | None = None,
                    label: str = "Inversion") -> None:
    """Store an inversion of `chunks` in `doc` as one undo step (the desktop app's path).

    Each chunk gets its code and, as in `document_from_inversion`, the weights the
    inversion ended with as its mask (overlaps settled, optimised borders), so the
    project's render reproduces the inversion. `chunks` must still be the document's
    chunk list: chunks added or removed while the inversion ran make it refuse.
    """
    if [id(c) for c in chunks] != [id(c) for c in doc.chunks]:
        raise InvalidInputError("The chunks were changed while the inversion ran; run the "
                                "inversion again to include the changes.")
    if len(result.codes) != len(chunks):
        raise InvalidInputError(f"{len(result.codes)} codes for {len(chunks)} chunks.")
    items = []
    for chunk, code, weights in zip(chunks, result.codes, result.masks, strict=True):
        new_code = code.value.detach().cpu().numpy().astype(np.float32)
        items.append(_set_attributes(chunk, {"space": code.space, "code": new_code},
                                     f"Code of {chunk.name}"))
        new_mask = weights.detach().cpu().numpy().astype(np.float32)
        diff = MaskDiff.from_change(chunk.mask, new_mask, chunk.mask, f"Mask of {chunk.name}")
        if diff is not None:
            chunk.mask[...] = new_mask
            items.append(diff)
    info = {"settings": dataclasses.asdict(settings), "metrics": _finite(metrics)}
    items.append(_set_attributes(doc, {"inversion": info, "pti_weights": pti_weights,
                                       "generator_id": generator_id,
                                       "generator_sha256": generator_sha256}, "Inversion"))
    doc.history.push(CompoundItem(items, label))


def _set_attributes(target: object, values: dict, label: str) -> ValueChange:
    """Set several attributes now, recorded as one undoable change."""
    old = {name: getattr(target, name) for name in values}

    def setter(new: dict) -> None:
        for name, value in new.items():
            setattr(target, name, value)

    setter(values)
    return ValueChange(setter, old, dict(values), label)


@torch.no_grad()
def composite_with(generator, result: InversionResult, job) -> torch.Tensor:
    """The inversion's composite re-rendered with another generator (PTI's tuned one)."""
    images = CodeSpace(generator).render(result.codes)
    chunk, photo = job.masks()
    return composite(images, chunk, photo, job.target).cpu()


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
