"""What `render` and `edit` share: a project with its generator in, an image out."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np

from core.commands.common import (
    add_device_argument,
    add_models_dir_argument,
    load_generator_argument,
)
from core.errors import ImageError, InvalidInputError
from core.project import Document, load_project
from core.project.export import export_image
from core.stylegan import Generator


def add_arguments(p: argparse.ArgumentParser) -> None:
    """-o, --full-photo, --generator, --models-dir, --device."""
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--full-photo", action="store_true",
                   help="paste the edited face back into the original photo")
    p.add_argument("--generator", metavar="PATH|ID",
                   help="generator (default: the one the project was made with)")
    add_models_dir_argument(p)
    add_device_argument(p)


def open_project(args: argparse.Namespace) -> tuple[Document, Generator]:
    """The project and the generator it was made with (checked by sha256)."""
    doc = load_project(args.project)
    refuse_to_overwrite_original(Path(args.output), doc.photo_bytes)
    generator, _ = load_generator_argument(args.generator or doc.generator_id, args)
    if doc.generator_sha256 and generator.source_sha256 != doc.generator_sha256:
        raise InvalidInputError(
            f"{args.project} was made with a different generator (sha256 "
            f"{doc.generator_sha256[:12]}…) than {generator.source_path} "
            f"({generator.source_sha256[:12]}…); pass the right one with --generator.")
    return doc, generator


def write_output(args: argparse.Namespace, doc: Document, aligned: np.ndarray,
                 changed: np.ndarray, **report: object) -> None:
    """Write the aligned result, or paste it back into the photo (--full-photo); print JSON."""
    written = export_image(doc, aligned, changed, args.output, full_photo=args.full_photo)
    print(json.dumps({"output": args.output, "size": [written.shape[1], written.shape[0]],
                      **report}))


def refuse_to_overwrite_original(output: Path, photo_bytes: bytes | None) -> None:
    """The project does not know where its photo lives, so compare contents instead."""
    if photo_bytes is None or not output.is_file() or output.stat().st_size != len(photo_bytes):
        return
    if hashlib.sha256(output.read_bytes()).digest() == hashlib.sha256(photo_bytes).digest():
        raise ImageError(f"{output} is the project's original photo; SemEdit never overwrites "
                         "it. Choose another file name.")
