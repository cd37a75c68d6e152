"""`semedit segment IMAGE --point X,Y ... -o MASK.png`, and `--face-chunks -o FOLDER`.

Points and boxes are in the photo's pixels. With `--align N` the photo is FFHQ-aligned
first, exactly as `semedit invert` aligns it, and the mask is written at N×N in the
aligned image's frame, ready for `semedit invert --mask`.
"""

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
    output_guard,
    run_workflow,
)
from core.errors import InvalidInputError
from core.face.align import AlignTransform
from core.imageio import load_photo
from core.segment.face_chunks import CHUNK_ORDER
from core.segment.mask_io import save_mask
from core.workflows import auto_chunks, open_photo, sam_mask


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "segment", help="cut a mask out of a photo with Segment Anything",
        description="Click with --point/--negative and/or give a --box (photo pixels); the "
        "best Segment Anything mask is written as a greyscale PNG. --face-chunks writes the "
        "automatic face chunks instead, one PNG each.")
    p.add_argument("image")
    p.add_argument("--point", action="append", default=[], metavar="X,Y", type=_pair,
                   help="a point on the object; repeat for more")
    p.add_argument("--negative", action="append", default=[], metavar="X,Y", type=_pair,
                   help="a point that is not on the object; repeat for more")
    p.add_argument("--box", metavar="X0,Y0,X1,Y1", type=_box, help="a box around the object")
    p.add_argument("--face-chunks", action="store_true",
                   help="write face, eyes, mouth, hair and background chunks into the folder "
                   "given by -o (needs a face; falls back to landmarks without SAM weights)")
    p.add_argument("--align", type=int, metavar="N", default=None,
                   help="align the face first, as `semedit invert` does, and write an N×N "
                   "mask of the aligned image (--face-chunks aligns to 1024 by default)")
    p.add_argument("--face", type=int, default=None, metavar="K", help="which face, 0 = largest")
    p.add_argument("--sam", metavar="PATH|ID",
                   help="Segment Anything weights (default: sam-vit-b when installed)")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8,
                   help="bits per mask pixel in the PNG (default 8)")
    p.add_argument("--soft", action="store_true",
                   help="keep SAM's soft edge instead of a hard 0/1 mask")
    p.add_argument("-o", "--output", required=True, metavar="MASK.png|FOLDER")
    add_models_dir_argument(p)
    add_device_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.face_chunks:
        return _run_face_chunks(args)
    if not args.point and args.box is None:
        raise InvalidInputError(
            ("Negative points alone do not say what to segment; add" if args.negative
             else "Give") + " a --point on the object or a --box around it.")
    output = Path(args.output)
    if output.suffix.lower() != ".png":
        raise InvalidInputError(f"The mask is written as PNG; {output.name} does not end in .png.")
    guard = output_guard(args)
    guard.check(output, option="-o")
    models, control = models_for(args), control_of(args)
    photo = load_photo(args.image)
    if args.align is not None:
        doc = run_workflow(open_photo(models, photo, size=args.align, face_index=args.face,
                                      control=control), bars=no_bar).document
        image = doc.aligned
        to_image = AlignTransform.from_json(doc.transform).photo_to_aligned(args.align)
    else:
        image, to_image = photo.rgb, np.eye(3)
    points = [*args.point, *args.negative]
    labels = [1] * len(args.point) + [0] * len(args.negative)
    prediction = run_workflow(sam_mask(
        models, image, points=[_mapped(to_image, p, image.shape) for p in points],
        labels=labels,
        box=None if args.box is None else _mapped_box(to_image, args.box, image.shape),
        # Several candidates only help an ambiguous prompt: a single click.
        multimask=len(points) == 1 and args.box is None, control=control), bars=no_bar)
    mask = prediction.soft_mask if args.soft else prediction.mask.astype(np.float32)
    save_mask(output, mask, bits=args.bits)
    print(json.dumps({"output": str(output), "score": round(prediction.score, 4),
                      "size": list(mask.shape[::-1]),
                      "area": round(float((mask >= 0.5).mean()), 4),
                      "aligned": args.align is not None}))
    return 0


def _run_face_chunks(args: argparse.Namespace) -> int:
    if args.point or args.negative or args.box:
        raise InvalidInputError("--face-chunks places its own prompts; leave out --point, "
                                "--negative and --box.")
    folder = Path(args.output)
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"With --face-chunks, -o names a folder; {folder} is a file.")
    guard = output_guard(args)
    names = [f"{name}.png" for name in CHUNK_ORDER]
    if folder.is_dir():
        guard.check_folder(folder, names, option="-o")
    models, control = models_for(args), control_of(args)
    doc = run_workflow(open_photo(models, args.image, size=args.align or 1024,
                                  face_index=args.face, control=control), bars=no_bar).document
    chunks = run_workflow(auto_chunks(models, doc, control=control), bars=no_bar)
    for text in chunks.notes:
        note(text)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidInputError(f"Cannot create the folder {folder}: "
                                f"{error.strerror or error}.") from error
    guard.check_folder(folder, [f"{name}.png" for name in chunks.masks], option="-o")
    written = [str(save_mask(folder / f"{name}.png", mask, bits=args.bits))
               for name, mask in chunks.masks.items()]
    print(json.dumps({"output": written, "method": chunks.method, "notes": chunks.notes}))
    return 0



# --------------------------------------------------------------------- parsing


def _numbers(text: str, count: int, what: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count or not all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return values


def _pair(text: str) -> tuple[float, float]:
    x, y = _numbers(text, 2, "X,Y (two numbers)")
    return x, y


def _box(text: str) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = _numbers(text, 4, "X0,Y0,X1,Y1 (four numbers)")
    if x1 <= x0 or y1 <= y0:
        raise argparse.ArgumentTypeError(f"{text!r}: the box needs X1 > X0 and Y1 > Y0")
    return x0, y0, x1, y1


def _mapped(to_image: np.ndarray, point: tuple[float, float], shape: tuple[int, ...]
            ) -> tuple[float, float]:
    x, y, _ = to_image @ np.array([point[0], point[1], 1.0])
    if not (0 <= x < shape[1] and 0 <= y < shape[0]):
        raise InvalidInputError(
            f"The point {point[0]:g},{point[1]:g} falls outside the "
            f"{'aligned crop' if not np.allclose(to_image, np.eye(3)) else 'image'}.")
    return float(x), float(y)


def _mapped_box(to_image: np.ndarray, box: tuple[float, float, float, float],
                shape: tuple[int, ...]) -> tuple[float, float, float, float]:
    # An aligned crop may be rotated: take the box around the mapped corners, clipped.
    corners = np.array([[box[0], box[1], 1], [box[2], box[1], 1], [box[0], box[3], 1],
                        [box[2], box[3], 1]], dtype=np.float64) @ to_image.T
    low = np.clip(corners[:, :2].min(0), 0, [shape[1] - 1, shape[0] - 1])
    high = np.clip(corners[:, :2].max(0), 0, [shape[1] - 1, shape[0] - 1])
    if (high <= low).any():
        raise InvalidInputError("The box falls outside the image.")
    return float(low[0]), float(low[1]), float(high[0]), float(high[1])
