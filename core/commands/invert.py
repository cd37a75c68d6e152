"""`semedit invert IMAGE --generator G [--mask M.png ...] ... -o PROJECT.semedit`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from core.commands.common import (
    add_device_argument,
    add_models_dir_argument,
    load_generator_argument,
    lpips_for_loss,
    write_json,
)
from core.commands.progress import ProgressBar
from core.commands.segment import automatic_face_chunks
from core.device import describe_device
from core.errors import InvalidInputError
from core.face import prepare_photo
from core.imageio import load_photo
from core.invert import (
    COVERAGES,
    LOSS_KINDS,
    SPACES,
    InversionJob,
    InversionSettings,
    ReconstructionLoss,
)
from core.invert.metrics import inversion_metrics
from core.invert.pti import PivotalTuningJob, PtiSettings
from core.invert.workflow import composite_with, document_from_inversion
from core.project import save_project
from core.segment.mask_io import load_mask
from core.segment.mask_ops import resolve_overlaps
from core.stylegan import uint8_to_images


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
    generator, generator_id = load_generator_argument(args.generator, args)
    device = generator.w_avg.device
    lpips_model = lpips_for_loss(args, device)
    photo = load_photo(args.image)
    prepared = prepare_photo(photo, generator.img_resolution, align=not args.no_align,
                             face_index=args.face)
    if args.chunks == "auto":
        chunks = automatic_face_chunks(prepared, args.sam, args.models_dir, args.device)
        masks, names = torch.from_numpy(np.stack(list(chunks.masks.values()))), list(chunks.masks)
    else:
        masks, names = _masks(args.mask, generator.img_resolution)
    settings = InversionSettings(space=args.space, steps=args.steps, lambda_reg=args.lambda_reg,
                                 coverage=args.coverage, optimise_masks=args.optimise_masks,
                                 seed=args.seed)
    loss = ReconstructionLoss(args.loss, lpips_model=lpips_model if "lpips" in args.loss
                              else None)
    job = InversionJob(generator, uint8_to_images(prepared.aligned, device), masks, settings,
                       loss)
    interrupted = _run_with_progress(job, "Inverting")
    result = job.result()
    pti_weights = None
    if args.pti_steps > 0 and not interrupted:
        pti = PivotalTuningJob(generator, job.target, result.codes, result.masks, args.coverage,
                               PtiSettings(steps=args.pti_steps, seed=args.seed), loss)
        interrupted = _run_with_progress(pti, "Tuning (PTI)")
        pti_weights = pti.tuned_weights()
        result.output = composite_with(pti.tuned_generator(), result, job)
    metrics = inversion_metrics(prepared.aligned, result, lpips=lpips_model,
                                faces=prepared.face is not None)
    metrics["device"] = describe_device(device)
    doc = document_from_inversion(photo=photo, prepared=prepared, names=names, result=result,
                                  settings=settings, generator_id=generator_id,
                                  generator_sha256=generator.source_sha256, metrics=metrics,
                                  pti_weights=pti_weights)
    save_project(doc, args.output, protect=photo.path)
    if args.metrics:
        write_json(args.metrics, metrics)
    state = f"stopped after {result.steps} steps" if interrupted else "done"
    print(json.dumps({"project": args.output, "state": state, **metrics}))
    return 0


def _masks(paths: list[str], resolution: int) -> tuple[torch.Tensor, list[str]]:
    if not paths:
        return torch.ones(1, resolution, resolution), ["all"]
    masks, names = [], []
    for path in paths:
        loaded = load_mask(path, resolution)
        if loaded.warning:
            print(f"semedit: warning: {loaded.warning}", flush=True)
        masks.append(loaded.mask)
        names.append(_unique(Path(path).stem, names))
    return torch.from_numpy(np.stack(resolve_overlaps(masks))), names


def _unique(name: str, taken: list[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def _run_with_progress(job: InversionJob | PivotalTuningJob, label: str) -> bool:
    """Run to the end with a progress bar; Ctrl-C stops after the current step (True)."""
    bar = ProgressBar(label)
    try:
        for progress in job.run():
            loss = progress.losses.get("total")
            detail = f"step {progress.step}/{progress.total_steps}" + (
                f"  loss {loss:.4f}" if loss is not None else "")
            bar.update(progress.step / max(progress.total_steps, 1), detail)
        return False
    except KeyboardInterrupt:
        return True
    finally:
        bar.close()
