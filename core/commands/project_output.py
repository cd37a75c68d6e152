"""What `render` and `edit` share: a project with its generator in, an image out."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from core.commands.common import (
    add_device_argument,
    add_models_dir_argument,
    control_of,
    models_for,
    no_bar,
    note,
    open_store,
    output_guard,
    run_workflow,
)
from core.errors import ImageError, InvalidInputError, SemeditError
from core.imageio import decode_photo, load_photo
from core.models.loaded import LoadedModels
from core.outputs import OutputGuard
from core.project import Document, load_project
from core.workflows import export
from core.workflows.project_generator import find_project_generator


def add_arguments(p: argparse.ArgumentParser) -> None:
    """-o, --full-photo, --scale, --max-size, --generator, --models-dir, --device."""
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--full-photo", action="store_true",
                   help="paste the edited face back into the original photo")
    p.add_argument("--scale", type=float, metavar="X",
                   help="write the image shrunk by X (0 < X <= 1, e.g. 0.5 = half size)")
    p.add_argument("--max-size", type=int, metavar="PX",
                   help="shrink the image until its longer side is at most PX pixels "
                   "(never enlarged)")
    p.add_argument("--generator", metavar="PATH|ID",
                   help="generator (default: the one the project was made with, found by "
                   "its sha256; a file given here is checked and remembered)")
    p.add_argument("--force-generator", action="store_true",
                   help="use --generator even though its sha256 is not the project's")
    add_models_dir_argument(p)
    add_device_argument(p)


def open_project(args: argparse.Namespace) -> tuple[Document, LoadedModels]:
    """The project and a model provider with the generator it was made with, found by
    content (`core.workflows.project_generator`)."""
    doc = load_project(args.project)
    guard = guard_outputs(args, doc, ("-o", args.output), ("--save", getattr(args, "save", None)))
    found = find_project_generator(open_store(getattr(args, "models_dir", None)), doc,
                                   args.generator, force=args.force_generator)
    if found.warning:
        note(found.warning, stderr=True)
        # Forced: the render checks codes against the generator, so the document (in
        # memory, and in a project written with --save) now names the forced file.
        doc.generator_id, doc.generator_sha256 = None, found.sha256
        doc.generator_name, doc.generator_path = found.path.name, str(found.path.resolve())
    guard.add_input(found.path)
    guard.check(args.output, option="-o")  # not the generator file either
    if getattr(args, "save", None):
        guard.check(args.save, option="--save")
    models = models_for(args, generator=str(found.path))
    generator = models.generator()
    if not found.warning and doc.generator_sha256 \
            and generator.source_sha256 != doc.generator_sha256:  # changed since it was found
        raise InvalidInputError(
            f"{generator.source_path} changed while it was read (sha256 "
            f"{generator.source_sha256[:12]}…, the project's is {doc.generator_sha256[:12]}…).")
    return doc, models


def write_output(args: argparse.Namespace, models: LoadedModels, doc: Document, *,
                 mode: str, with_seconds: bool = False, **report: object) -> None:
    """Render the project and write the aligned result, or paste it back into the photo
    (--full-photo); print JSON (`report`, then the render's seconds when asked)."""
    exported = run_workflow(export(models, doc, args.output, full_photo=args.full_photo,
                                   mode=mode, require_codes=True, scale=args.scale,
                                   max_side=args.max_size, control=control_of(args)),
                            bars=no_bar)
    if with_seconds:
        report["seconds"] = round(exported.seconds, 3)
    print(json.dumps({"output": args.output, "size": list(exported.size), **report}))


def guard_outputs(args: argparse.Namespace, doc: Document,
                  *options: tuple[str, str | None]) -> OutputGuard:
    """The command's output guard, checked for `options` ((flag, path) pairs) before any
    work. The project does not know where its photo lives, so an existing output whose
    pixels are the photo's counts as the photo (its metadata may have changed since)."""
    guard = output_guard(args)
    for option, value in options:
        if value is None:
            continue
        path = guard.check(value, option=option)
        if doc.photo_bytes is not None and _holds_photo(path, doc):
            raise ImageError(f"{option} {path} is the project's original photo; SemEdit "
                             "never overwrites it. Choose another file name.")
    return guard


def _holds_photo(path: Path, doc: Document) -> bool:
    try:
        if not path.is_file():
            return False
        existing = load_photo(path)
    except (OSError, SemeditError):
        return False  # not an image SemEdit reads: not the photo
    photo = decode_photo(doc.photo_bytes, doc.photo_name or "photo")
    return existing.rgb.shape == photo.rgb.shape and np.array_equal(existing.rgb, photo.rgb)
