"""`semedit hair IDENTITY_PHOTO HAIR_PHOTO --generator G -o OUT.png [--save P] [--metrics M]`.

Puts the hair of HAIR_PHOTO on the person in IDENTITY_PHOTO (see `core.hair`). Both photos
are FFHQ-aligned; the hair is found with Segment Anything, or given as painted masks
(`--hair-mask-a/-b`, in the aligned frame, e.g. from `semedit segment --align N`). With
`--no-align` the photos are used as centred square crops (already aligned faces).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from core.commands.common import (
    add_device_argument,
    add_init_arguments,
    add_models_dir_argument,
    control_of,
    models_for,
    note,
    output_guard,
    run_workflow,
    write_json,
)
from core.errors import JobCancelled
from core.hair import HairTransferSettings
from core.imageio import Photo, load_photo, save_image
from core.invert import LOSS_KINDS
from core.latents import SPACES
from core.models.loaded import LoadedModels
from core.project import save_project
from core.segment.mask_io import load_mask
from core.workflows import HairOutcome, hair_transfer

NO_FACE_HINT = ("For photos that are already aligned faces, use --no-align with "
                "--hair-mask-a and --hair-mask-b ({mask_option} for this one).")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "hair", help="put the hairstyle of one photo on the person in another",
        description="Transfer the hair of HAIR_PHOTO onto the person in IDENTITY_PHOTO, "
        "matching head pose and lighting, and write the edited identity photo at full "
        "resolution. Figures are printed as JSON.")
    p.add_argument("identity_photo", metavar="IDENTITY_PHOTO", help="the person (photo A)")
    p.add_argument("hair_photo", metavar="HAIR_PHOTO", help="the hairstyle (photo B)")
    p.add_argument("--generator", metavar="PATH|ID",
                   help="generator file or model id (default: the default generator)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.png",
                   help="the edited identity photo (PNG or TIFF keep untouched pixels exact)")
    p.add_argument("--save", metavar="PROJECT.semedit",
                   help="also save a project of the result with every chunk editable")
    p.add_argument("--metrics", metavar="M.json", help="write the figures as JSON")
    p.add_argument("--no-align", action="store_true",
                   help="use the photos as centred square crops (already aligned faces)")
    p.add_argument("--hair-mask-a", metavar="MA.png",
                   help="the identity photo's hair, painted in the aligned frame (default: "
                   "found with Segment Anything)")
    p.add_argument("--hair-mask-b", metavar="MB.png", help="the hair photo's hair, likewise")
    p.add_argument("--face-a", type=int, default=None, metavar="K",
                   help="which face of the identity photo, 0 = largest")
    p.add_argument("--face-b", type=int, default=None, metavar="K",
                   help="which face of the hair photo, 0 = largest")
    p.add_argument("--sam", metavar="PATH|ID",
                   help="Segment Anything weights (default: sam-vit-b when installed)")
    p.add_argument("--loss", choices=LOSS_KINDS, default="lpips+l2",
                   help="inversion and refinement loss (default lpips+l2)")
    p.add_argument("--vgg", metavar="PATH|ID", help="VGG16 weights for LPIPS "
                   "(default: the vgg16-imagenet model)")
    p.add_argument("--space", choices=SPACES, default="wplus", help="latent space (default wplus)")
    p.add_argument("--steps", type=int, default=HairTransferSettings.inversion_steps,
                   help="inversion steps per photo (default %(default)s)")
    p.add_argument("--refine-steps", type=int, default=HairTransferSettings.refine_steps,
                   help="joint refinement steps (default %(default)s)")
    p.add_argument("--no-pose-match", action="store_true",
                   help="keep the hair in its own head pose")
    p.add_argument("--no-lighting", action="store_true",
                   help="keep the hair photo's lighting on the hair")
    add_init_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    add_models_dir_argument(p)
    add_device_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    guard = output_guard(args)
    for option, value in (("-o", args.output), ("--save", args.save),
                          ("--metrics", args.metrics)):
        if value is not None:
            guard.check(value, option=option)
    photo_a, photo_b = load_photo(args.identity_photo), load_photo(args.hair_photo)
    settings = HairTransferSettings(space=args.space, loss=args.loss, inversion_steps=args.steps,
                                    refine_steps=args.refine_steps,
                                    pose_match=not args.no_pose_match,
                                    lighting=not args.no_lighting, seed=args.seed)
    models = models_for(args)
    guard.add_input(models.generator_file())
    size = models.generator().img_resolution
    models.lpips_for(args.loss)  # a missing VGG is said before the slow steps
    try:
        outcome = _transfer(args, models, photo_a, photo_b, settings, size)
    except JobCancelled:
        raise JobCancelled("The hair transfer was stopped (Ctrl-C) before it finished; "
                           "nothing was written.") from None
    for text in outcome.notes:
        note(text, stderr=True)
    full = outcome.full_photo
    save_image(args.output, full, icc_profile=photo_a.icc_profile, exif=photo_a.exif,
               source_path=photo_a.path)
    metrics = dict(outcome.result.metrics)
    if args.save:
        doc = outcome.result.document(photo_bytes=Path(args.output).read_bytes(),
                                      photo_name=Path(args.output).name,
                                      generator_id=outcome.generator_id,
                                      generator_sha256=outcome.generator_sha256)
        generator_file = models.generator_file().resolve()  # found by content later
        doc.generator_name = outcome.generator_id or generator_file.name
        doc.generator_path = str(generator_file)
        save_project(doc, args.save, protect=photo_a.path)
    if args.metrics:
        write_json(args.metrics, metrics)
    print(json.dumps({"output": args.output, "project": args.save,
                      "size": [full.shape[1], full.shape[0]], **metrics}))
    return 0


def _transfer(args: argparse.Namespace, models: LoadedModels, photo_a: Photo, photo_b: Photo,
              settings: HairTransferSettings, size: int) -> HairOutcome:
    """The workflow with its bars: pose fitting (the first time), then the transfer."""
    return run_workflow(
        hair_transfer(models, photo_a, photo_b, settings,
                      hair_mask_a=_mask(args.hair_mask_a, size),
                      hair_mask_b=_mask(args.hair_mask_b, size), align=not args.no_align,
                      face_a=args.face_a, face_b=args.face_b,
                      mask_options=("--hair-mask-a", "--hair-mask-b"),
                      no_face_hint=NO_FACE_HINT, init=args.init, control=control_of(args)),
        bars=lambda p: ("Fitting pose directions (once per generator)"
                        if p.stage == "pose_directions" else "Hair transfer"),
        detail=lambda p: (f"{p.step}/{p.total} faces" if p.stage == "pose_directions"
                          else f"{p.label} {p.step}/{p.total}"))


def _mask(path: str | None, size: int) -> np.ndarray | None:
    if path is None:
        return None
    loaded = load_mask(path, size)
    if loaded.warning:
        print(f"semedit: warning: {loaded.warning}", file=sys.stderr, flush=True)
    return loaded.mask
