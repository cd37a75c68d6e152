"""`semedit render PROJECT.semedit -o OUT.png [--full-photo]`."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from core.commands.common import (
    add_device_argument,
    add_models_dir_argument,
    load_generator_argument,
)
from core.edit.composite import render_document
from core.errors import ImageError, InvalidInputError
from core.face import paste_back
from core.face.align import AlignTransform
from core.imageio import decode_photo, save_image
from core.project import load_project


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("render", help="render a project to an image",
                              description="Render the project's chunks over its aligned image, "
                              "or (--full-photo) put the result back into the original photo "
                              "at full resolution.")
    p.add_argument("project")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--full-photo", action="store_true",
                   help="paste the edited face back into the original photo")
    p.add_argument("--generator", metavar="PATH|ID",
                   help="generator (default: the one the project was made with)")
    add_models_dir_argument(p)
    add_device_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    doc = load_project(args.project)
    _refuse_to_overwrite_original(Path(args.output), doc.photo_bytes)
    generator, _ = load_generator_argument(args.generator or doc.generator_id, args)
    if doc.generator_sha256 and generator.source_sha256 != doc.generator_sha256:
        raise InvalidInputError(
            f"{args.project} was made with a different generator (sha256 "
            f"{doc.generator_sha256[:12]}…) than {generator.source_path} "
            f"({generator.source_sha256[:12]}…); pass the right one with --generator.")
    aligned, changed = render_document(generator, doc)
    if not args.full_photo:
        save_image(args.output, aligned)
        print(json.dumps({"output": args.output, "size": list(aligned.shape[:2])}))
        return 0
    if doc.photo_bytes is None or doc.transform is None:
        raise InvalidInputError(f"{args.project} holds no original photo to paste back into.")
    photo = decode_photo(doc.photo_bytes, doc.photo_name or "photo")
    full = paste_back(photo.rgb, aligned, AlignTransform.from_json(doc.transform), changed)
    save_image(args.output, full, icc_profile=photo.icc_profile, exif=photo.exif)
    print(json.dumps({"output": args.output, "size": [full.shape[1], full.shape[0]]}))
    return 0


def _refuse_to_overwrite_original(output: Path, photo_bytes: bytes | None) -> None:
    """The project does not know where its photo lives, so compare contents instead."""
    if photo_bytes is None or not output.is_file() or output.stat().st_size != len(photo_bytes):
        return
    if hashlib.sha256(output.read_bytes()).digest() == hashlib.sha256(photo_bytes).digest():
        raise ImageError(f"{output} is the project's original photo; SemEdit never overwrites "
                         "it. Choose another file name.")
