"""Recipes: the edits of one project, written down so they can be made on other photos.

A recipe is a small JSON file (format "semedit-recipe", version 1) that a person can read
and change:

    {
      "format": "semedit-recipe", "version": 1,
      "generator": {"id": "stylegan2-ffhq-1024", "sha256": "…", "resolution": 1024},
      "chunks": {"source": "auto", "align": true},          # or "masks": {"hair": "x.png"}
      "inversion": {"space": "wplus", "steps": 300, "lambda_reg": 1.0, "loss": "lpips",
                    "coverage": "edit_regions", "pti_steps": 0, "init": "mean", "seed": 0, …},
      "edits": {"mouth": [{"direction": "pc3", "strength": 1.0, "sha256": "…"}]},
      "export": {"full_photo": true, "format": "png", "quality": 95, "keep_metadata": true}
    }

Chunks come from the automatic face chunks, or from masks named by chunk (PNG files
beside the recipe, in the aligned frame; the later one wins where they overlap). The
generator and every direction are named by sha256, so a recipe is never run with another
network or another direction by mistake.

`apply_recipe` makes one photo the way the app does, with the app's own workflows: open
the photo -> chunks -> invert -> apply the edits; `export` then writes it. Same recipe,
same photo, same device type and thread count: the same bits as the app.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InvalidInputError, JobCancelled, SemeditError
from core.fileio import write_atomically
from core.imageio import Photo
from core.invert import COVERAGES, LOSS_KINDS, InversionSettings
from core.jobs import JobControl, control_or_new
from core.latents import SPACES
from core.mask_png import mask_png_bytes
from core.models.loaded import LoadedModels
from core.project import Document
from core.segment.face_chunks import CHUNK_ORDER
from core.workflows.encoder_init import INITS, choose_init
from core.workflows.inversion import apply_inversion, invert
from core.workflows.photos import auto_chunks, open_photo
from core.workflows.progress import Progress
from core.workflows.render import apply_edit_plan

RECIPE_FORMAT = "semedit-recipe"
RECIPE_VERSION = 1
CHUNK_SOURCES = ("auto", "masks")
# Export format -> file extension.
EXPORT_FORMATS = {"png": ".png", "jpeg": ".jpg", "webp": ".webp", "tiff": ".tif"}
# InversionSettings fields that only shape the live preview: not part of a recipe.
_PREVIEW_FIELDS = {"preview_every_steps", "preview_every_seconds", "preview_size"}
_SETTING_FIELDS = [f.name for f in dataclasses.fields(InversionSettings)
                   if f.name not in _PREVIEW_FIELDS]
_HEX = set("0123456789abcdef")


class MissingDirectionError(SemeditError):
    """A direction the recipe edits along is not in this machine's direction library."""


class MissingChunkError(SemeditError):
    """The photo has no chunk the recipe edits (an automatic chunk that was not found)."""


@dataclass(frozen=True)
class RecipeEdit:
    direction: str
    strength: float
    sha256: str | None = None  # the direction's content (direction_sha256); None: unchecked


@dataclass(frozen=True)
class ExportSettings:
    full_photo: bool = True  # the photo with the edit pasted back; False: the aligned crop
    format: str = "png"
    quality: int = 95
    keep_metadata: bool = True  # EXIF and colour profile of the photo

    @property
    def extension(self) -> str:
        return EXPORT_FORMATS[self.format]


@dataclass(frozen=True)
class Recipe:
    generator_sha256: str
    resolution: int
    inversion: InversionSettings
    loss: str = "lpips"
    pti_steps: int = 0
    init: str = "mean"  # where codes start: "mean" latent, or "e4e" (the encoder's guess)
    chunk_source: str = "auto"
    align: bool = True
    masks: Mapping[str, np.ndarray] = field(default_factory=dict)  # chunk name -> [R, R]
    edits: Mapping[str, tuple[RecipeEdit, ...]] = field(default_factory=dict)
    export: ExportSettings = ExportSettings()
    generator_id: str | None = None

    @property
    def directions(self) -> dict[str, str | None]:
        """Every direction the recipe edits along, with its sha256."""
        return {e.direction: e.sha256 for edits in self.edits.values() for e in edits}

    def to_json(self, mask_files: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The recipe as plain JSON; `mask_files` names each chunk's mask file."""
        chunks: dict[str, Any] = {"source": self.chunk_source, "align": self.align}
        if self.chunk_source == "masks":
            chunks["masks"] = dict(mask_files or {name: f"{name}.png" for name in self.masks})
        inversion = {name: getattr(self.inversion, name) for name in _SETTING_FIELDS}
        inversion.update(loss=self.loss, pti_steps=self.pti_steps, init=self.init)
        return {
            "format": RECIPE_FORMAT, "version": RECIPE_VERSION,
            "generator": {"id": self.generator_id, "sha256": self.generator_sha256,
                          "resolution": self.resolution},
            "chunks": chunks,
            "inversion": inversion,
            "edits": {chunk: [{"direction": e.direction, "strength": e.strength,
                               "sha256": e.sha256} for e in edits]
                      for chunk, edits in self.edits.items()},
            "export": dataclasses.asdict(self.export),
        }

    def sha256(self) -> str:
        """Identity of what the recipe does (masks included), for a batch manifest."""
        digest = hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode())
        for name, mask in self.masks.items():
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(mask, np.float32).tobytes())
        return digest.hexdigest()


@dataclass
class RecipeApplied:
    """One photo made by a recipe: its document (inverted and edited), on the CPU."""

    document: Document
    path: Path  # the photo's file (its name is the document's photo name)
    metrics: dict
    notes: list[str]


# ----------------------------------------------------------------- making a recipe


def direction_sha256(direction: Any) -> str:
    """Identity of a direction's content (space, layers, scale and vector; not its name)."""
    head = json.dumps({"space": direction.space, "scale": float(direction.scale).hex(),
                       "layers": list(direction.layers) if direction.layers else None})
    digest = hashlib.sha256(head.encode())
    digest.update(np.ascontiguousarray(direction.vector, "<f4").tobytes())
    return digest.hexdigest()


def default_chunk_source(doc: Document) -> str:
    """"auto" when every chunk has an automatic chunk's name (made by Auto Chunks: each
    photo gets its own), "masks" otherwise (the project's masks on every photo)."""
    names = {c.name for c in doc.chunks}
    return "auto" if names and names <= set(CHUNK_ORDER) else "masks"


def recipe_from_document(doc: Document, *, directions: Any, chunk_source: str = "masks",
                         loss: str | None = None, pti_steps: int | None = None,
                         export: ExportSettings = ExportSettings(), align: bool = True
                         ) -> Recipe:
    """A recipe that makes `doc`'s edits: its inversion settings, its enabled edits per
    chunk name and its generator; `directions` looks up a direction by name (the direction
    library's `get`) to record its sha256.

    `chunk_source` "masks" keeps the document's masks (what the inversion ended with);
    "auto" makes the automatic face chunks on each photo, so the edited chunks must have
    their names. `loss` and `pti_steps` default to those the project records with its
    inversion settings; projects from before they were recorded say "lpips" and, unless
    tuned with PTI (then `pti_steps` must be given), no PTI.
    """
    if not doc.generator_sha256 or not doc.chunks or any(c.code is None for c in doc.chunks):
        raise InvalidInputError("Only an inverted project can be saved as a recipe; run the "
                                "inversion first.")
    stored = (doc.inversion or {}).get("settings")
    if not isinstance(stored, dict):
        raise InvalidInputError("The project does not say how it was inverted; run the "
                                "inversion again before saving a recipe.")
    if loss is None:
        loss = stored.get("loss", "lpips")
    if pti_steps is None:
        pti_steps = stored.get("pti_steps")
    if pti_steps is None:
        if doc.pti_weights is not None:
            raise InvalidInputError("This project was tuned with PTI; say how many PTI steps "
                                    "the recipe should use.")
        pti_steps = 0
    settings = _settings({k: v for k, v in stored.items() if k in _SETTING_FIELDS}, "project")
    # Where the codes started ("resume" for a continued run: its first run is not known).
    init = ((doc.inversion or {}).get("metrics") or {}).get("init")
    init = init if init in INITS else "mean"
    edits: dict[str, tuple[RecipeEdit, ...]] = {}
    for chunk in doc.chunks:
        kept = tuple(RecipeEdit(e.direction, float(e.strength),
                                direction_sha256(directions(e.direction)))
                     for e in chunk.edits if e.enabled and e.strength != 0)
        if kept:
            edits[chunk.name] = kept
    masks = {c.name: np.array(c.mask, np.float32) for c in doc.chunks}
    if chunk_source == "auto":
        strangers = sorted(set(edits) - set(CHUNK_ORDER))
        if strangers:
            raise InvalidInputError(
                f"Automatic chunks are called {', '.join(CHUNK_ORDER)}; the edited chunks "
                f"{', '.join(strangers)} are not among them. Save the recipe with the "
                "project's masks instead.")
        masks = {}
    recipe = Recipe(generator_sha256=doc.generator_sha256.lower(), resolution=doc.resolution,
                    inversion=settings, loss=loss, pti_steps=int(pti_steps), init=init,
                    chunk_source=chunk_source, align=align, masks=masks, edits=edits,
                    export=export, generator_id=doc.generator_id)
    validate(recipe)
    return recipe


# ----------------------------------------------------------------- files


def save_recipe(recipe: Recipe, path: str | Path) -> Path:
    """Write the recipe as JSON; its masks go beside it as 16-bit PNGs in
    `<name>.masks/<chunk>.png` (each file atomically; the JSON last)."""
    path = Path(path)
    validate(recipe)
    if not path.parent.is_dir():
        raise InvalidInputError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    mask_files: dict[str, str] = {}
    if recipe.chunk_source == "masks":
        folder = path.with_name(f"{path.stem}.masks")
        folder.mkdir(exist_ok=True)
        for i, (name, mask) in enumerate(recipe.masks.items()):
            target = folder / f"{i:02d}-{_file_safe(name)}.png"
            data = mask_png_bytes(mask, 16)
            write_atomically(target, lambda stream, data=data: stream.write(data))
            mask_files[name] = target.relative_to(path.parent).as_posix()
    text = json.dumps(recipe.to_json(mask_files), indent=2, ensure_ascii=False) + "\n"
    write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))
    return path


def load_recipe(path: str | Path) -> Recipe:
    """Read and check a recipe; every problem is an InvalidInputError naming the file."""
    from core.segment.mask_io import load_mask

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise InvalidInputError(f"There is no recipe file {path}.") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInputError(f"{path} is not a readable recipe (JSON): {error}.") from error
    try:
        return recipe_from_json(data, lambda name, file, size: load_mask(
            _inside(path.parent, file, name), size).mask)
    except InvalidInputError as error:
        raise InvalidInputError(f"Recipe {path}: {error}") from error


def recipe_from_json(data: Any, read_mask=None) -> Recipe:
    """A recipe from its JSON form; `read_mask(chunk, file, resolution)` reads masks."""
    _object(data, "The recipe", {"format", "version", "generator", "chunks", "inversion",
                                 "edits", "export"})
    if data.get("format") != RECIPE_FORMAT:
        raise InvalidInputError(f"it is not a SemEdit recipe (format {data.get('format')!r}).")
    if data.get("version") != RECIPE_VERSION:
        raise InvalidInputError(f"it has version {data.get('version')!r}; this SemEdit reads "
                                f"version {RECIPE_VERSION} (a newer SemEdit wrote it?).")
    generator = _object(data.get("generator"), "'generator'", {"id", "sha256", "resolution"})
    chunks = _object(data.get("chunks"), "'chunks'", {"source", "align", "masks"})
    inversion = dict(_object(data.get("inversion"), "'inversion'",
                             {*_SETTING_FIELDS, "loss", "pti_steps", "init"}))
    export = _object(data.get("export"), "'export'",
                     {f.name for f in dataclasses.fields(ExportSettings)})
    resolution = generator.get("resolution")
    if not _whole(resolution) or not 4 <= resolution <= 8192:
        raise InvalidInputError(f"'generator.resolution' must be a whole number of pixels, "
                                f"not {resolution!r}.")
    loss = inversion.pop("loss", "lpips")
    pti_steps = inversion.pop("pti_steps", 0)
    init = inversion.pop("init", "mean")
    masks: dict[str, np.ndarray] = {}
    source = chunks.get("source")
    mask_files = chunks.get("masks", {})
    if source == "masks":
        if not isinstance(mask_files, dict) or not mask_files:
            raise InvalidInputError("'chunks.masks' must name one mask file per chunk, e.g. "
                                    "{\"hair\": \"hair.png\"}.")
        if read_mask is None:
            raise InvalidInputError("the recipe's masks cannot be read here.")
        for name, file in mask_files.items():
            if not isinstance(file, str) or not file:
                raise InvalidInputError(f"the mask of chunk {name!r} must be a file name.")
            masks[name] = read_mask(name, file, resolution)
    edits_data = data.get("edits", {})
    if not isinstance(edits_data, dict):
        raise InvalidInputError("'edits' must map chunk names to lists of edits.")
    edits = {chunk: tuple(_edit(e, chunk) for e in _list(items, f"'edits.{chunk}'"))
             for chunk, items in edits_data.items()}
    recipe = Recipe(
        generator_sha256=str(generator.get("sha256", "")).lower(), resolution=resolution,
        inversion=_settings(inversion, "'inversion'"), loss=loss, pti_steps=pti_steps,
        init=init, chunk_source=source, align=chunks.get("align", True), masks=masks,
        edits=edits, export=_export(export), generator_id=generator.get("id"))
    validate(recipe)
    return recipe


def validate(recipe: Recipe) -> None:
    """InvalidInputError with a clear sentence when the recipe does not fit together."""
    if len(recipe.generator_sha256) != 64 or set(recipe.generator_sha256) - _HEX:
        raise InvalidInputError("'generator.sha256' must be the generator file's sha256 (64 "
                                "hexadecimal digits).")
    if recipe.generator_id is not None and not isinstance(recipe.generator_id, str):
        raise InvalidInputError("'generator.id' must be a model id or null.")
    if recipe.loss not in LOSS_KINDS:
        raise InvalidInputError(f"'inversion.loss' is {recipe.loss!r}; use one of "
                                f"{', '.join(LOSS_KINDS)}.")
    if not _whole(recipe.pti_steps) or recipe.pti_steps < 0:
        raise InvalidInputError(f"'inversion.pti_steps' must be a whole number ≥ 0, not "
                                f"{recipe.pti_steps!r}.")
    if recipe.init not in INITS:
        raise InvalidInputError(f"'inversion.init' is {recipe.init!r}; use one of "
                                f"{', '.join(INITS)}.")
    if recipe.chunk_source not in CHUNK_SOURCES:
        raise InvalidInputError(f"'chunks.source' is {recipe.chunk_source!r}; use "
                                f"{' or '.join(CHUNK_SOURCES)}.")
    if not isinstance(recipe.align, bool):
        raise InvalidInputError("'chunks.align' must be true or false.")
    if recipe.chunk_source == "auto" and not recipe.align:
        raise InvalidInputError("automatic chunks are placed on an aligned face; set "
                                "'chunks.align' to true or give masks.")
    size = (recipe.resolution, recipe.resolution)
    for name, mask in recipe.masks.items():
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError("every chunk needs a name.")
        if np.shape(mask) != size:
            raise InvalidInputError(f"the mask of chunk {name!r} is not {size[0]}×{size[1]}.")
    chunk_names = set(recipe.masks) if recipe.chunk_source == "masks" else set(CHUNK_ORDER)
    for chunk, edits in recipe.edits.items():
        if chunk not in chunk_names:
            raise InvalidInputError(f"the edits name chunk {chunk!r}, which the recipe does "
                                    f"not make (its chunks: {', '.join(sorted(chunk_names))}).")
        names = [e.direction for e in edits]
        if len(set(names)) != len(names):
            raise InvalidInputError(f"chunk {chunk!r} is edited twice along one direction.")
    shas: dict[str, str | None] = {}
    for edits in recipe.edits.values():
        for e in edits:
            if shas.setdefault(e.direction, e.sha256) != e.sha256:
                raise InvalidInputError(f"direction {e.direction!r} is given two different "
                                        "sha256 values.")
    export = recipe.export
    if export.format not in EXPORT_FORMATS:
        raise InvalidInputError(f"'export.format' is {export.format!r}; use one of "
                                f"{', '.join(EXPORT_FORMATS)}.")
    if not _whole(export.quality) or not 1 <= export.quality <= 100:
        raise InvalidInputError(f"'export.quality' must be 1–100, not {export.quality!r}.")
    if not isinstance(export.full_photo, bool) or not isinstance(export.keep_metadata, bool):
        raise InvalidInputError("'export.full_photo' and 'export.keep_metadata' must be true "
                                "or false.")


# ----------------------------------------------------------------- applying


def check_models(models: LoadedModels, recipe: Recipe) -> dict[str, str]:
    """Refuse (InvalidInputError) when the chosen generator or a direction differs from
    the recipe's; returns the recipe's directions this library lacks, with the reason
    (photos that need them are skipped)."""
    generator = models.generator()
    sha = (generator.source_sha256 or "").lower()
    if sha != recipe.generator_sha256:
        raise InvalidInputError(
            f"The recipe was made with the generator {recipe.generator_sha256[:12]}… but "
            f"{generator.source_path} is {sha[:12] or 'unknown'}…; choose that generator "
            "(--generator).")
    if generator.img_resolution != recipe.resolution:
        raise InvalidInputError(f"The recipe is for {recipe.resolution}² images; the "
                                f"generator makes {generator.img_resolution}².")
    choose_init(models, recipe.init, generator)  # "e4e" without an encoder: said now
    library = models.directions()
    missing = {}
    for name, expected in recipe.directions.items():
        try:
            direction = library.get(name)
        except InvalidInputError as error:
            missing[name] = str(error)
            continue
        if expected is not None and direction_sha256(direction) != expected:
            raise InvalidInputError(
                f"The direction {name!r} here is not the recipe's (sha256 "
                f"{direction_sha256(direction)[:12]}… instead of {expected[:12]}…); import "
                "the recipe's direction under that name.")
    return missing


def apply_recipe(models: LoadedModels, recipe: Recipe, photo: Photo | str | Path, *,
                 control: JobControl | None = None
                 ) -> Generator[Progress, None, RecipeApplied]:
    """One photo through the recipe: open (align) -> chunks -> invert (+PTI) -> edits.

    Raises NoFaceError, ImageError, MissingDirectionError or MissingChunkError before the
    inversion when the photo cannot be made, and JobCancelled when a stop ends the
    inversion early (a partial inversion is not the recipe's result).
    """
    control = control_or_new(control)
    missing = check_models(models, recipe)
    if missing:
        name, reason = next(iter(missing.items()))
        raise MissingDirectionError(f"The recipe edits along {name!r}, which is not in the "
                                    f"direction library here: {reason}")
    opened = yield from open_photo(models, photo, align=recipe.align, control=control)
    doc, notes = opened.document, list(opened.notes)
    if recipe.chunk_source == "auto":
        chunks = yield from auto_chunks(models, doc, control=control)
        masks, notes = chunks.masks, notes + list(chunks.notes)
    else:
        masks = recipe.masks
    absent = [name for name in recipe.edits if name not in masks]
    if absent:
        raise MissingChunkError(f"No {', '.join(absent)} chunk was found on this photo "
                                f"(found: {', '.join(masks) or 'none'}).")
    for name, mask in masks.items():
        doc.add_chunk(mask, name=name)
    outcome = yield from invert(models, doc, recipe.inversion, loss_kind=recipe.loss,
                                pti_steps=recipe.pti_steps, faces=opened.face_found,
                                init=recipe.init, control=control)
    if outcome.stopped:
        raise JobCancelled("The inversion was stopped before it finished.")
    apply_inversion(doc, list(doc.chunks), outcome.result, outcome.settings,
                    metrics=outcome.metrics, generator_id=outcome.generator_id,
                    generator_sha256=outcome.generator_sha256, pti_weights=outcome.pti_weights,
                    loss_kind=outcome.loss_kind, pti_steps=outcome.pti_steps)
    apply_edit_plan(models, doc, [(chunk, [(e.direction, e.strength) for e in edits])
                                  for chunk, edits in recipe.edits.items()])
    return RecipeApplied(doc, opened.path, dict(outcome.metrics), notes)


# ----------------------------------------------------------------- JSON helpers


def _object(value: Any, what: str, allowed: set[str]) -> dict:
    if not isinstance(value, dict):
        raise InvalidInputError(f"{what} must be a JSON object.")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise InvalidInputError(f"{what} has unknown keys {unknown}; allowed: "
                                f"{sorted(allowed)}.")
    return value


def _list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise InvalidInputError(f"{what} must be a list.")
    return value


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _edit(data: Any, chunk: str) -> RecipeEdit:
    item = _object(data, f"an edit of chunk {chunk!r}", {"direction", "strength", "sha256"})
    direction, strength, sha = item.get("direction"), item.get("strength"), item.get("sha256")
    if not isinstance(direction, str) or not direction.strip():
        raise InvalidInputError(f"an edit of chunk {chunk!r} needs a direction name.")
    if isinstance(strength, bool) or not isinstance(strength, int | float) \
            or not math.isfinite(strength):
        raise InvalidInputError(f"the strength of {direction!r} on {chunk!r} must be a "
                                f"finite number, not {strength!r}.")
    if sha is not None and (not isinstance(sha, str) or len(sha) != 64
                            or set(sha.lower()) - _HEX):
        raise InvalidInputError(f"the sha256 of direction {direction!r} must be 64 "
                                "hexadecimal digits or null.")
    return RecipeEdit(direction, float(strength), sha.lower() if sha else None)


def _settings(values: dict, what: str) -> InversionSettings:
    for name, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInputError(f"{what}: {name} must be a finite number.")
    defaults = {f.name: f.default for f in dataclasses.fields(InversionSettings)}
    for name, value in values.items():
        expected = type(defaults[name])
        if expected is bool:
            ok = isinstance(value, bool)
        elif expected is int:
            ok = _whole(value)
        elif expected is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        else:
            ok = isinstance(value, expected)
        if not ok:
            raise InvalidInputError(f"{what}: {name} must be {expected.__name__}, "
                                    f"not {value!r}.")
    if "space" in values and values["space"] not in SPACES:
        raise InvalidInputError(f"{what}: space {values['space']!r}; use one of "
                                f"{', '.join(SPACES)}.")
    if "coverage" in values and values["coverage"] not in COVERAGES:
        raise InvalidInputError(f"{what}: coverage {values['coverage']!r}; use one of "
                                f"{', '.join(COVERAGES)}.")
    try:
        return InversionSettings(**values)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{what}: {error}") from error


def _export(values: dict) -> ExportSettings:
    defaults = ExportSettings()
    return ExportSettings(**{f.name: values.get(f.name, getattr(defaults, f.name))
                             for f in dataclasses.fields(ExportSettings)})


def _file_safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:60] or "chunk"


def _inside(folder: Path, file: str, chunk: str) -> Path:
    """A mask path relative to the recipe, never outside its folder."""
    target = (folder / file).resolve()
    if folder.resolve() not in target.parents:
        raise InvalidInputError(f"the mask of chunk {chunk!r} ({file}) is outside the "
                                "recipe's folder.")
    return target
