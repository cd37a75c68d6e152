"""Inverting a document's chunks (ChunkyGAN, then optional PTI and the metrics), and
storing the outcome in a live document.

`invert` runs where the models are (the CLI's thread, the app's GPU worker) and returns
an `InversionOutcome` holding only numpy arrays and plain values, so the UI thread can
apply it (`apply_inversion`) without touching torch or the GPU.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from core.errors import InvalidInputError
from core.invert.engine import InversionResult, InversionSettings
from core.invert.masks import check_chunks_not_empty, composite
from core.jobs import JobControl, control_or_new
from core.latents.codes import ChunkCode, CodeSpace
from core.models.loaded import LoadedModels
from core.project import Document
from core.project.document import Chunk
from core.project.history import CompoundItem, MaskDiff, ValueChange
from core.workflows.encoder_init import choose_init, encoder_codes
from core.workflows.progress import Progress, drive


@dataclass(frozen=True)
class LatentCode:
    """One chunk's code as stored in a project: its space and a float32 array."""

    space: str
    value: np.ndarray


@dataclass
class InvertedCodes:
    """What an inversion ended with, on the CPU."""

    codes: list[LatentCode]
    masks: np.ndarray  # float32 [n, R, R]: the chunk weights of the final composite
    input_masks: np.ndarray  # float32 [n, R, R]: the document's masks the run started from
    output: np.ndarray  # uint8 [R, R, 3]: the composite (with PTI's generator, when tuned)
    steps: int
    seconds: float
    losses: dict[str, float] = field(default_factory=dict)


@dataclass
class InversionOutcome:
    result: InvertedCodes
    settings: InversionSettings  # as run (a resumed run keeps the codes' space)
    metrics: dict
    generator_id: str | None
    generator_sha256: str | None
    pti_weights: dict[str, np.ndarray] | None
    stopped: bool
    notes: list[str] = field(default_factory=list)
    generator_name: str | None = None  # what to call it when it must be found again
    generator_path: str | None = None  # the file it was loaded from
    loss_kind: str = "lpips"  # as asked for, stored with the settings (apply_inversion)
    pti_steps: int = 0


def invert(models: LoadedModels, doc: Document, settings: InversionSettings, *,
           loss_kind: str = "lpips", pti_steps: int = 0, resume: bool = False,
           faces: bool | None = None, init: str | None = None,
           control: JobControl | None = None
           ) -> Generator[Progress, None, InversionOutcome]:
    """ChunkyGAN inversion of `doc`'s chunks (a snapshot nobody changes meanwhile).

    Overlapping masks are settled top-wins first. `resume` starts from the chunks' codes
    (in their space). `pti_steps` > 0 tunes the generator around the codes afterwards.
    A stop on `control` ends the run after the current step with what it reached (PTI is
    then skipped). `faces`: whether the identity metric applies (default: the document
    has an alignment). `init`: where a new run starts, "e4e" (the encoder's guess for
    every chunk), "mean", or None for e4e when an encoder is installed
    (`core.workflows.encoder_init`); the metrics record it ("resume" when resumed).
    """
    from core.invert import InversionJob, ReconstructionLoss
    from core.invert.metrics import inversion_metrics
    from core.invert.pti import PivotalTuningJob, PtiSettings
    from core.segment.mask_ops import resolve_overlaps
    from core.stylegan import images_to_uint8, uint8_to_images

    control = control_or_new(control)
    if not doc.chunks:
        raise InvalidInputError("There are no chunks to invert; add one (Auto chunks, or "
                                "paint one) first.")
    painted = [np.asarray(c.mask, np.float32) for c in doc.chunks]  # named errors, early
    check_chunks_not_empty([c.name for c in doc.chunks], resolve_overlaps(painted), painted)
    generator = models.generator()
    if generator.img_resolution != doc.resolution:
        raise InvalidInputError(
            f"The photo was aligned at {doc.resolution}×{doc.resolution} but the "
            f"chosen generator makes {generator.img_resolution}×"
            f"{generator.img_resolution} images; open the photo again with this generator.")
    device = generator.w_avg.device
    initial, notes, init_used = None, [], "resume"
    if resume:
        check_generator(doc, generator)
        initial = chunk_codes(doc, device)
        settings = dataclasses.replace(settings, space=initial[0].space)
    else:
        chosen = choose_init(models, init, generator)
        init_used = chosen.name
        notes += [chosen.note] if chosen.note else []
        if chosen.encoder is not None:
            control.check("Encoding the face")
            initial = encoder_codes(chosen.encoder, generator, doc.aligned, settings.space,
                                    len(doc.chunks))
    lpips = models.lpips_for(loss_kind)
    loss = ReconstructionLoss(loss_kind, lpips_model=lpips if "lpips" in loss_kind else None)
    input_masks = np.stack([np.asarray(c.mask, np.float32) for c in doc.chunks])
    masks = torch.from_numpy(np.stack(resolve_overlaps(list(input_masks))))
    job = InversionJob(generator, uint8_to_images(doc.aligned, device), masks, settings, loss,
                       initial_codes=initial, control=control)
    stopped = yield from drive(job, lambda p: Progress(
        "invert", p.step, p.total_steps, "Inverting", losses=dict(p.losses),
        preview=p.preview, stopped=p.stopped))
    result = job.result()
    pti_weights = None
    if pti_steps > 0 and not stopped:
        pti = PivotalTuningJob(generator, job.target, result.codes, result.masks,
                               settings.coverage, PtiSettings(steps=pti_steps, seed=settings.seed),
                               loss, control=control)
        stopped = yield from drive(pti, lambda p: Progress(
            "pti", p.step, p.total_steps, "Tuning (PTI)", losses=dict(p.losses),
            stopped=p.stopped))
        pti_weights = pti.tuned_weights()
        result.output = composite_with(pti.tuned_generator(), result, job)
    metrics = inversion_metrics(doc.aligned, result, lpips=lpips,
                                faces=doc.transform is not None if faces is None else faces)
    metrics["init"] = init_used
    codes = InvertedCodes(
        codes=[LatentCode(c.space, c.value.detach().cpu().numpy().astype(np.float32))
               for c in result.codes],
        masks=result.masks.detach().cpu().numpy().astype(np.float32),
        input_masks=input_masks, output=images_to_uint8(result.output)[0],
        steps=result.steps, seconds=result.seconds, losses=dict(result.losses))
    return InversionOutcome(codes, settings, metrics, models.generator_id,
                            generator.source_sha256, pti_weights, stopped, notes,
                            generator_name=models.generator_id or Path(
                                generator.source_path or "").name or None,
                            generator_path=generator.source_path, loss_kind=loss_kind,
                            pti_steps=pti_steps)


def apply_inversion(doc: Document, chunks: list[Chunk], result: InvertedCodes,
                    settings: InversionSettings, *, metrics: dict,
                    generator_id: str | None, generator_sha256: str | None,
                    pti_weights: dict[str, np.ndarray] | None = None,
                    label: str = "Inversion", generator_name: str | None = None,
                    generator_path: str | None = None, loss_kind: str | None = None,
                    pti_steps: int | None = None) -> list[str]:
    """Store an inversion of `chunks` in `doc` as one undo step; returns the names of the
    chunks whose masks were changed while the inversion ran. `loss_kind` and `pti_steps`
    (the outcome's), when given, are kept with the settings as "loss" and "pti_steps".

    Each chunk gets its code and the weights the inversion ended with as its mask
    (overlaps settled, optimised borders), so the project's render reproduces the
    inversion. A chunk painted on meanwhile keeps its newer mask (its code fits the old
    one: the caller can say so and offer to continue). `chunks` must still be the
    document's chunk list: chunks added or removed meanwhile make it refuse.
    """
    if [id(c) for c in chunks] != [id(c) for c in doc.chunks]:
        raise InvalidInputError("The chunks were changed while the inversion ran; run the "
                                "inversion again to include the changes.")
    if len(result.codes) != len(chunks):
        raise InvalidInputError(f"{len(result.codes)} codes for {len(chunks)} chunks.")
    items, changed = [], []
    for chunk, code, weights, used in zip(chunks, result.codes, result.masks,
                                          result.input_masks, strict=True):
        items.append(_set_attributes(chunk, {"space": code.space,
                                             "code": np.array(code.value, np.float32)},
                                     f"Code of {chunk.name}"))
        if not np.array_equal(chunk.mask, used):
            changed.append(chunk.name)  # painted on while it ran: the newer mask stays
            continue
        new_mask = np.array(weights, np.float32)
        diff = MaskDiff.from_change(chunk.mask, new_mask, chunk.mask, f"Mask of {chunk.name}")
        if diff is not None:
            chunk.mask[...] = new_mask
            items.append(diff)
    recorded = {"loss": loss_kind, "pti_steps": pti_steps}
    info = {"settings": {**dataclasses.asdict(settings),
                         **{k: v for k, v in recorded.items() if v is not None}},
            "metrics": finite(metrics)}
    items.append(_set_attributes(doc, {"inversion": info, "pti_weights": pti_weights,
                                       "generator_id": generator_id,
                                       "generator_sha256": generator_sha256,
                                       "generator_name": generator_name,
                                       "generator_path": generator_path}, "Inversion"))
    doc.history.push(CompoundItem(items, label))
    return changed


def check_generator(doc: Document, generator) -> None:
    """Refuse to render codes with a generator other than the one that made them."""
    if doc.generator_sha256 and generator.source_sha256 \
            and generator.source_sha256 != doc.generator_sha256:
        raise InvalidInputError(
            f"This project was inverted with another generator (sha256 "
            f"{doc.generator_sha256[:12]}…) than the one chosen in Preferences "
            f"({generator.source_sha256[:12]}…); choose that generator to edit it.")
    if generator.img_resolution != doc.resolution:
        raise InvalidInputError(
            f"The project is {doc.resolution}×{doc.resolution} but the chosen generator makes "
            f"{generator.img_resolution}×{generator.img_resolution} images; choose the "
            "generator the project was made with in Preferences.")


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
    """The document's codes as tensors on `device` (every chunk must have one)."""
    missing = [c.name for c in doc.chunks if c.code is None]
    if missing:
        raise InvalidInputError(f"Chunks {missing} have not been inverted yet.")
    return [ChunkCode(c.space, torch.from_numpy(np.asarray(c.code, dtype=np.float32)).to(device))
            for c in doc.chunks]


def finite(metrics: dict) -> dict:
    """JSON has no NaN: a figure that could not be computed is stored as null."""
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v)
            for k, v in metrics.items()}
