"""`semedit eval PHOTO|DIR... -o OUTDIR`: the paper's reconstruction table on your photos.

Runs W+ optimisation (mean and encoder init), the encoder alone, ChunkyGAN and
ChunkyGAN + PTI on each photo and writes OUTDIR/eval.csv, eval-summary.csv and eval.md
(see `core.workflows.eval`). Running it again with the same settings goes on where it
stopped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.commands.common import (
    add_device_argument,
    add_models_dir_argument,
    control_of,
    models_for,
    output_guard,
    run_workflow,
)
from core.errors import InvalidInputError
from core.imageio import PHOTO_SUFFIXES, photos_in_folder
from core.invert import LOSS_KINDS
from core.workflows.eval import MARKDOWN, METHODS, SUMMARY, TABLE, EvalSettings, evaluate


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval", help="compare inversion methods on your photos (LPIPS, L2, identity, time)",
        description="For each photo: W+ optimisation from the mean face, the encoder (e4e) "
        "alone, W+ optimisation from the encoder's code, ChunkyGAN W+ and ChunkyGAN + PTI; "
        "LPIPS, L2, identity distance and time per photo and averaged, written to "
        "OUTDIR/eval.md and OUTDIR/eval.csv (+ eval-summary.csv). A method whose model is "
        "missing is marked skipped. Run again to resume.")
    p.add_argument("photos", nargs="+", metavar="PHOTO|DIR",
                   help="photos, or folders of photos")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="folder for the tables (created if missing)")
    p.add_argument("--generator", metavar="PATH|ID",
                   help="generator file or model id (default: the default generator)")
    p.add_argument("--encoder", metavar="PATH|ID",
                   help="encoder file or model id (default: e4e-ffhq-encode)")
    p.add_argument("--vgg", metavar="PATH|ID", help="VGG16 weights for LPIPS "
                   "(default: the vgg16-imagenet model)")
    p.add_argument("--sam", metavar="PATH|ID",
                   help="Segment Anything for --chunks auto (default: sam-vit-b when "
                   "installed, else chunks from the face landmarks)")
    p.add_argument("--chunks", default="auto", metavar="N|auto",
                   help="ChunkyGAN's chunks: the automatic face chunks (default) or N "
                   "horizontal bands")
    p.add_argument("--steps", type=int, default=300, help="optimisation steps (default 300)")
    p.add_argument("--pti-steps", type=int, default=350, help="PTI steps (default 350)")
    p.add_argument("--loss", choices=LOSS_KINDS, default="lpips",
                   help="the optimisation loss (default lpips; needs the VGG weights)")
    p.add_argument("--lambda-reg", type=float, default=1.0, help="latent regulariser weight")
    p.add_argument("--methods", default=",".join(METHODS), metavar="M,M,...",
                   help=f"which methods (default all: {','.join(METHODS)})")
    p.add_argument("--no-align", action="store_true",
                   help="centre-crop instead of FFHQ alignment (already aligned faces)")
    p.add_argument("--seed", type=int, default=0)
    add_models_dir_argument(p)
    add_device_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    photos = photo_paths(args.photos)
    chunks = args.chunks if args.chunks == "auto" else _count(args.chunks)
    methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    settings = EvalSettings(steps=args.steps, pti_steps=args.pti_steps, chunks=chunks,
                            loss=args.loss, lambda_reg=args.lambda_reg,
                            align=not args.no_align, seed=args.seed)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"{out} is a file; -o takes a folder for the tables.")
    output_guard(args, *photos).check_folder(out, (TABLE, SUMMARY, MARKDOWN), option="-o")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidInputError(f"Cannot create the folder {out}: "
                                f"{error.strerror or error}.") from error
    report = run_workflow(evaluate(models_for(args), photos, out, settings, methods=methods,
                                   control=control_of(args)),
                          bars=lambda p: "Evaluating", detail=lambda p: p.label)
    print(json.dumps({"tables": [str(f) for f in report.files], "rows": len(report.rows),
                      "ran": report.ran, "kept": len(report.rows) - report.ran,
                      "averages": report.summary}))
    return 0


def photo_paths(items: list[str]) -> list[Path]:
    """The photos named, folders expanded to their photos (sorted by name)."""
    photos: list[Path] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found = photos_in_folder(path)
            if not found:
                raise InvalidInputError(f"The folder {path} holds no photos "
                                        f"({', '.join(PHOTO_SUFFIXES)}).")
            photos += found
        elif path.is_file():
            photos.append(path)
        else:
            raise InvalidInputError(f"There is no photo or folder at {path}.")
    return photos


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidInputError(f"--chunks takes a number or 'auto', not {text!r}.") from None
    if value < 1:
        raise InvalidInputError("--chunks must be at least 1.")
    return value
