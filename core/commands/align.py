"""`semedit align PHOTO -o OUT.png --transform OUT.json [--size N] [--face K]`."""

from __future__ import annotations

import argparse
import json

from core.commands.common import write_json
from core.face import prepare_photo
from core.imageio import load_photo, save_image


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
    photo = load_photo(args.photo)
    prepared = prepare_photo(photo, args.size, align=not args.no_align, face_index=args.face)
    save_image(args.output, prepared.aligned, source_path=photo.path)
    write_json(args.transform, prepared.transform.to_json())
    faces = "centre crop" if prepared.face is None else f"face score {prepared.face.score:.2f}"
    print(json.dumps({"output": args.output, "transform": args.transform, "size": args.size,
                      "method": faces}))
    return 0
