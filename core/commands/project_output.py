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
    run_workflow,
)
from core.errors import ImageError, InvalidInputError
from core.models.loaded import LoadedModels
from core.project import Document, load_project
from core.workflows import export


def add_arguments(p: argparse.ArgumentParser) -> None:
    """-o, --full-photo, --generator, --models-dir, --device."""
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--full-photo", action="store_true",
                   help="paste the edited face back into the original photo")
    p.add_argument("--generator", metavar="PATH|ID",
                   help="generator (default: the one the project was made with)")
    add_models_dir_argument(p)
    add_device_argument(p)


def open_project(args: argparse.Namespace) -> tuple[Document, LoadedModels]:
    """The project and a model provider with the generator it was made with (checked by
    sha256)."""
    doc = load_project(args.project)
    refuse_to_overwrite_original(Path(args.output), doc.photo_bytes)
    models = models_for(args, generator=args.generator or doc.generator_id)
    generator = models.generator()
    if doc.generator_sha256 and generator.source_sha256 != doc.generator_sha256:
        raise InvalidInputError(
            f"{args.project} was made with a different generator (sha256 "
            f"{doc.generator_sha256[:12]}…) than {generator.source_path} "
            f"({generator.source_sha256[:12]}…); pass the right one with --generator.")
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
