"""`semedit invert IMAGE --generator G [--mask M.png ...] ... -o PROJECT.semedit`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from core.commands.common import (
    add_device_argument,
    add_init_arguments,
    add_models_dir_argument,
    control_of,
    models_for,
    no_bar,
    note,
    output_guard,
    run_workflow,
    write_json,
)
from core.device import describe_device
from core.errors import InvalidInputError
from core.invert import COVERAGES, LOSS_KINDS, InversionSettings
from core.invert.engine import AUTOCASTS
from core.invert.memory import GRADIENT_MODES
from core.latents import SPACES
from core.project import DEFAULT_LIMITS, save_project
from core.segment.mask_io import load_mask
from core.workflows import apply_inversion, auto_chunks, invert, open_photo


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "invert", help="invert a photo into per-chunk latent codes (ChunkyGAN)",
        description="Align the photo, invert each chunk into its own latent code and save a "
        "project. Each --mask makes one chunk (named after the file); without masks the whole "
        "image is one chunk.")
    p.add_argument("image")
    p.add_argument("--generator", metavar="PATH|ID",
                   help="generator file or model id (default: the default generator)")
    p.add_argument("--mask", action="append", default=[], metavar="M.png",
                   help="a chunk mask (greyscale); repeat for more chunks. Where masks "
                   "overlap, the later one wins")
    p.add_argument("--chunks", choices=["auto"],
                   help="automatic face chunks (face, eyes, mouth, hair, background) instead of "
                   "--mask files; uses Segment Anything when installed")
    p.add_argument("--sam", metavar="PATH|ID",
                   help="Segment Anything weights for --chunks auto (default: sam-vit-b when "
                   "installed, else chunks from the face landmarks)")
    p.add_argument("--space", choices=SPACES, default="wplus", help="latent space (default wplus)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lambda-reg", type=float, default=1.0, help="latent regulariser weight")
    p.add_argument("--loss", choices=LOSS_KINDS, default="lpips")
    p.add_argument("--vgg", metavar="PATH|ID", help="VGG16 weights for LPIPS "
                   "(default: the vgg16-imagenet model)")
    p.add_argument("--coverage", choices=COVERAGES, default="edit_regions",
                   help="edit_regions: pixels outside all chunks keep the photo (default); "
                   "whole_image: the chunks partition the image")
    p.add_argument("--optimise-masks", action="store_true", help="optimise the chunk borders")
    p.add_argument("--pti-steps", type=int, default=0, metavar="N",
                   help="pivotal tuning of the generator around the codes afterwards (PTI "
                   "uses about 350); stored in the project")
    p.add_argument("--gradient-mode", choices=GRADIENT_MODES, default="auto",
                   help="batched: all chunks in one pass (fastest, most memory); per_chunk: "
                   "one chunk at a time (least memory, slower); auto (default): as many "
                   "chunks a pass as the free memory holds. Same result either way")
    p.add_argument("--autocast", choices=AUTOCASTS, default="off",
                   help="mixed precision for the generator: bf16 (CPU or GPU) or fp16 (GPU): "
                   "less memory and time, a slightly different result (default off)")
    add_init_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-align", action="store_true",
                   help="centre-crop instead of FFHQ alignment (no face, other domains)")
    p.add_argument("--face", type=int, default=None, metavar="K", help="which face, 0 = largest")
    p.add_argument("-o", "--output", required=True, metavar="PROJECT.semedit")
    p.add_argument("--metrics", metavar="METRICS.json", help="write the figures as JSON")
    add_models_dir_argument(p)
    add_device_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.chunks == "auto" and args.mask:
        raise InvalidInputError("Use either --mask files or --chunks auto, not both.")
    if args.chunks == "auto" and args.no_align:
        raise InvalidInputError("--chunks auto places chunks on an aligned face; leave out "
                                "--no-align (or paint --mask files).")
    if len(args.mask) > DEFAULT_LIMITS.chunks:  # never write a project that cannot be opened
        raise InvalidInputError(f"{len(args.mask)} --mask files make {len(args.mask)} chunks; "
                                f"a project holds at most {DEFAULT_LIMITS.chunks}.")
    guard = output_guard(args)
    guard.check(args.output, option="-o")
    if args.metrics:
        guard.check(args.metrics, option="--metrics")
    models, control = models_for(args), control_of(args)
    guard.add_input(models.generator_file())
    models.lpips_for(args.loss)  # a missing VGG is said before the slow steps
    opened = run_workflow(open_photo(models, args.image, align=not args.no_align,
                                     face_index=args.face, control=control), bars=no_bar)
    doc = opened.document
    if args.chunks == "auto":
        chunks = run_workflow(auto_chunks(models, doc, control=control), bars=no_bar)
        for text in chunks.notes:
            note(text)
        masks = chunks.masks
    else:
        masks = _masks(args.mask, doc.resolution)
    for name, mask in masks.items():
        doc.add_chunk(mask, name=name)
    settings = InversionSettings(space=args.space, steps=args.steps, lambda_reg=args.lambda_reg,
                                 coverage=args.coverage, optimise_masks=args.optimise_masks,
                                 seed=args.seed, gradient_mode=args.gradient_mode,
                                 autocast=args.autocast)
    outcome = run_workflow(invert(models, doc, settings, loss_kind=args.loss,
                                  pti_steps=args.pti_steps, faces=opened.face_found,
                                  init=args.init, control=control))
    for text in outcome.notes:
        note(text)
    metrics = dict(outcome.metrics)
    metrics["device"] = describe_device(models.device)
    apply_inversion(doc, list(doc.chunks), outcome.result, outcome.settings, metrics=metrics,
                    generator_id=outcome.generator_id,
                    generator_sha256=outcome.generator_sha256,
                    pti_weights=outcome.pti_weights, generator_name=outcome.generator_name,
                    generator_path=outcome.generator_path, loss_kind=outcome.loss_kind,
                    pti_steps=outcome.pti_steps)
    doc.validate()
    save_project(doc, args.output, protect=opened.path)
    if args.metrics:
        write_json(args.metrics, metrics)
    state = f"stopped after {outcome.result.steps} steps" if outcome.stopped else "done"
    print(json.dumps({"project": args.output, "state": state, **metrics}))
    return 0



def _masks(paths: list[str], resolution: int) -> dict[str, np.ndarray]:
    """The --mask files by chunk name (the whole image as one chunk without any)."""
    if not paths:
        return {"all": np.ones((resolution, resolution), np.float32)}
    masks: dict[str, np.ndarray] = {}
    for path in paths:
        loaded = load_mask(path, resolution)
        if loaded.warning:
            print(f"semedit: warning: {loaded.warning}", flush=True)
        masks[_unique(Path(path).stem, list(masks))] = loaded.mask
    return masks


def _unique(name: str, taken: list[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate
