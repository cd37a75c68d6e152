"""Rendering a project (with its edits) and exporting it: the crop, or the full photo."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.jobs import JobControl, control_or_new
from core.models.loaded import LoadedModels
from core.project import Document
from core.workflows.inversion import check_generator, chunk_codes
from core.workflows.progress import Progress


@dataclass
class Rendered:
    image: np.ndarray  # uint8 [R, R, 3] (wider for side_by_side)
    changed: np.ndarray  # float32 [R, R]: what paste-back replaces
    seconds: float


@dataclass
class FullPhoto:
    image: np.ndarray  # uint8 [H, W, 3]: the original photo with the render pasted back
    edited: bool  # False: nothing was pasted back, `image` is the original's pixels
    seconds: float  # the render's


@dataclass
class Exported:
    path: Path
    size: tuple[int, int]  # (width, height) written
    seconds: float


@dataclass
class AppliedEdits:
    """The edits an edit plan set: [{"chunk", "direction", "strength"}]."""

    applied: list[dict] = field(default_factory=list)


def render_project(models: LoadedModels, doc: Document, *, mode: str = "edited",
                   require_codes: bool = False, force_fp32: bool | None = None,
                   control: JobControl | None = None) -> Generator[Progress, None, Rendered]:
    """The project rendered with the current generator and its direction library.

    `mode` as in `EditRenderer.request`: "edited" re-renders edited chunks only,
    "reconstruction" every chunk. A project whose chunks are not all inverted renders as
    its aligned image, or with `require_codes` is refused (naming those chunks).
    `force_fp32` (None: as the inversion ran) renders in float32 on a half-precision GPU.
    """
    from core.edit.render import EditRenderer

    control_or_new(control).check("Rendering")
    yield Progress("render", 0, 1, "Rendering")
    if require_codes:
        chunk_codes(doc)  # says which chunks have no code yet
    if not doc.chunks or any(c.code is None for c in doc.chunks):
        return Rendered(doc.aligned.copy(), np.zeros(doc.aligned.shape[:2], np.float32), 0.0)
    generator = models.generator()
    check_generator(doc, generator)
    renderer = EditRenderer(generator, doc, models.directions().get, force_fp32=force_fp32)
    result = renderer.render(renderer.request(mode))
    return Rendered(result.image, result.changed_mask, result.seconds)


def render_full_photo(models: LoadedModels, doc: Document, *, mode: str = "edited",
                      require_codes: bool = False, force_fp32: bool | None = None,
                      control: JobControl | None = None
                      ) -> Generator[Progress, None, FullPhoto]:
    """The pixels `export(..., full_photo=True)` writes, without writing them: the render
    (as `render_project`) pasted back into the full-resolution original photo."""
    from core.project.export import original_photo, photo_with_edit

    control = control_or_new(control)
    photo = original_photo(doc)  # says so before rendering when there is none
    rendered = yield from render_project(models, doc, mode=mode, require_codes=require_codes,
                                         force_fp32=force_fp32, control=control)
    control.check("Pasting the edit back into the photo")
    yield Progress("paste_back", 0, 1, "Pasting the edit back into the photo")
    image = photo_with_edit(doc, rendered.image, rendered.changed, photo)
    return FullPhoto(image, bool(rendered.changed.any()), rendered.seconds)


def export(models: LoadedModels, doc: Document, path: str | Path, *, full_photo: bool,
           mode: str = "edited", quality: int = 95, keep_metadata: bool = True,
           source_path: str | Path | None = None, require_codes: bool = False,
           force_fp32: bool | None = None, scale: float | None = None,
           max_side: int | None = None, control: JobControl | None = None
           ) -> Generator[Progress, None, Exported]:
    """Render and write the result: the aligned crop, or (`full_photo`) the original
    photo with the changed region pasted back; `scale` / `max_side` shrink what is
    written (`core.project.export.export_size`). `source_path` is never overwritten."""
    from core.project.export import check_export_size, export_image

    check_export_size(scale, max_side)  # refused before rendering
    rendered = yield from render_project(models, doc, mode=mode, require_codes=require_codes,
                                         force_fp32=force_fp32, control=control)
    control_or_new(control).check("Exporting")
    written = export_image(doc, rendered.image, rendered.changed, path, full_photo=full_photo,
                           quality=quality, keep_metadata=keep_metadata,
                           source_path=source_path, scale=scale, max_side=max_side)
    return Exported(Path(path), (written.shape[1], written.shape[0]), rendered.seconds)


def apply_edit_plan(models: LoadedModels, doc: Document,
                    plan: Sequence[tuple[str, Sequence[tuple[str, float]]]]) -> AppliedEdits:
    """Set edits on `doc`: for each (chunk name or index, [(direction, strength)]), the
    chunk's edit along that direction gets the strength (added when it has none)."""
    from core.edit.stack import EditStacks

    library = models.directions()
    stacks = EditStacks(doc, directions=library.get)
    applied = AppliedEdits()
    for chunk_ref, edits in plan:
        chunk = stacks.get(chunk_ref)
        for name, value in edits:
            library.get(name)  # the library's own message names close matches
            existing = [i for i, e in enumerate(chunk.edits) if e.direction == name]
            if existing:
                stacks.set_strength(chunk, existing[0], value)
                stacks.set_enabled(chunk, existing[0], True)
            else:
                stacks.add(chunk, name, value)
            applied.applied.append({"chunk": chunk.name, "direction": name,
                                    "strength": value})
    return applied
