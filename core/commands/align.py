"""`semedit align PHOTO -o OUT.png --transform OUT.json [--size N] [--face K]`."""

from __future__ import annotations

import argparse
import json

from core.commands.common import (
    control_of,
    models_for,
    no_bar,
    output_guard,
    run_workflow,
    write_json,
)
from core.imageio import save_image
from core.workflows import open_photo


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "align", help="FFHQ-align the face of a photo",
        description="Detect the face (largest unless --face), align it the FFHQ way and "
        "write the crop and the exact transform (for paste-back).")
    parser.add_argument("photo")
    parser.add_argument("-o", "--output", required=True, help="aligned image (PNG, JPEG, ...)")
    parser.add_argument("--transform", required=True, metavar="OUT.json",
                        help="where to write the alignment transform")
    parser.add_argument("--size", type=int, default=1024, help="output size (default 1024)")
    parser.add_argument("--face", type=int, default=None, metavar="K",
                        help="which face, 0 = largest (default)")
    parser.add_argument("--no-align", action="store_true",
                        help="centre-crop instead (photos without a face, other domains)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    guard = output_guard(args)
    guard.check(args.output, option="-o")
    guard.check(args.transform, option="--transform")
    opened = run_workflow(open_photo(models_for(args), args.photo, align=not args.no_align,
                                     face_index=args.face, size=args.size,
                                     control=control_of(args)), bars=no_bar)
    save_image(args.output, opened.document.aligned, source_path=opened.path)
    write_json(args.transform, opened.document.transform)
    faces = "centre crop" if opened.face_score is None else f"face score {opened.face_score:.2f}"
    print(json.dumps({"output": args.output, "transform": args.transform, "size": args.size,
                      "method": faces}))
    return 0
