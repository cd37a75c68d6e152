"""What `render` and `edit` share: a project with its generator in, an image out."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from core.commands.common import (
    add_device_argument,
    add_models_dir_argument,
    control_of,
    models_for,
    no_bar,
    note,
    open_store,
    run_workflow,
)
from core.errors import ImageError, InvalidInputError
from core.models.loaded import LoadedModels
from core.project import Document, load_project
from core.workflows import export
from core.workflows.project_generator import find_project_generator


def add_arguments(p: argparse.ArgumentParser) -> None:
    """-o, --full-photo, --generator, --models-dir, --device."""
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--full-photo", action="store_true",
                   help="paste the edited face back into the original photo")
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
    refuse_to_overwrite_original(Path(args.output), doc.photo_bytes)
    found = find_project_generator(open_store(getattr(args, "models_dir", None)), doc,
                                   args.generator, force=args.force_generator)
    if found.warning:
        note(found.warning, stderr=True)
        # Forced: the render checks codes against the generator, so the document (in
        # memory, and in a project written with --save) now names the forced file.
        doc.generator_id, doc.generator_sha256 = None, found.sha256
        doc.generator_name, doc.generator_path = found.path.name, str(found.path.resolve())
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
                                   mode=mode, require_codes=True, control=control_of(args)),
                            bars=no_bar)
    if with_seconds:
        report["seconds"] = round(exported.seconds, 3)
    print(json.dumps({"output": args.output, "size": list(exported.size), **report}))


def refuse_to_overwrite_original(output: Path, photo_bytes: bytes | None) -> None:
    """The project does not know where its photo lives, so compare contents instead."""
    if photo_bytes is None or not output.is_file() or output.stat().st_size != len(photo_bytes):
        return
    if hashlib.sha256(output.read_bytes()).digest() == hashlib.sha256(photo_bytes).digest():
        raise ImageError(f"{output} is the project's original photo; SemEdit never overwrites "
                         "it. Choose another file name.")
