"""`semedit batch RECIPE PHOTO|DIR... -o OUTDIR [--projects] [--resume] [--workers N]
[--ray auto|ADDRESS]`: one recipe on a whole shoot."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from core.commands.common import add_device_argument, add_models_dir_argument, control_of
from core.commands.progress import ProgressBar
from core.errors import InvalidInputError
from core.models.loaded import LoadedModels, ModelChoice
from core.workflows.batch import MANIFEST_NAME, WorkerSpec, batch, resolve_generator
from core.workflows.recipe import load_recipe

EXIT_STOPPED = 130  # as the CLI's interrupted exit: the batch is not finished


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "batch", help="apply a recipe (saved edits) to many photos",
        description="Make every photo with a recipe: align, chunks, invert, the recipe's "
        f"edits, export into OUTDIR. {MANIFEST_NAME} in OUTDIR records each photo (done, "
        "skipped with the reason, failed with the message) as it finishes.")
    p.add_argument("recipe", metavar="RECIPE.json")
    p.add_argument("photos", nargs="+", metavar="PHOTO|DIR")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR")
    p.add_argument("--projects", action="store_true",
                   help="also write an editable .semedit project per photo")
    p.add_argument("--resume", action="store_true",
                   help="finish a batch in OUTDIR: photos recorded as done are not made again")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="local worker processes (each loads the models once); with --ray, "
                   "the number of CPU actors")
    p.add_argument("--ray", metavar="auto|ADDRESS",
                   help="run on Ray: 'auto' starts a local Ray, an address (ray://host:10001 "
                   "or host:6379) joins a cluster; one actor per GPU (needs semedit[cluster])")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="torch threads per photo on the CPU (default 1: the same bits "
                   "however the batch runs)")
    p.add_argument("--generator", metavar="PATH|ID",
                   help="generator file or id (default: the recipe's; its sha256 must match)")
    p.add_argument("--sam", metavar="PATH|ID", help="Segment Anything weights for automatic "
                   "chunks (default: sam-vit-b when installed, else landmark chunks)")
    p.add_argument("--vgg", metavar="PATH|ID", help="VGG16 weights for an LPIPS loss")
    p.add_argument("--encoder", metavar="PATH|ID",
                   help="e4e encoder for a recipe whose inversion starts from it (init e4e)")
    add_models_dir_argument(p)
    add_device_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.workers < 1 or args.threads < 1:
        raise InvalidInputError("--workers and --threads must be at least 1.")
    recipe = load_recipe(args.recipe)
    choice = ModelChoice(generator=args.generator or recipe.generator_id, sam=args.sam,
                         vgg=args.vgg, encoder=args.encoder, models_dir=args.models_dir,
                         device=args.device)
    spec = WorkerSpec(recipe, choice, threads=args.threads, projects=args.projects)
    # Found here by content, so a missing file is said at once and Ray workers that lack
    # it can be sent it.
    generator = LoadedModels(resolve_generator(spec)).generator_file().resolve()
    spec = replace(spec, choice=replace(choice, generator=str(generator)))
    bar = ProgressBar("Batch")
    workflow = batch(spec, args.photos, args.output, workers=args.workers,
                     ray_address=args.ray, resume=args.resume, control=control_of(args),
                     extra_inputs=[args.recipe, generator])
    try:
        while True:
            try:
                progress = next(workflow)
            except StopIteration as finished:
                summary = finished.value
                break
            counts = progress.counts
            now = f"  {Path(progress.photo).name}: {progress.label}" if progress.photo else ""
            bar.update(progress.fraction, f"{progress.step}/{progress.total}  "
                       f"{counts.get('done', 0)} done, {counts.get('skipped', 0)} skipped, "
                       f"{counts.get('failed', 0)} failed{now}")
            outcome = progress.outcome
            if outcome is not None and outcome.status in ("skipped", "failed"):
                bar.close()
                print(f"semedit: {outcome.status}: {outcome.path}: "
                      f"{outcome.reason + ': ' if outcome.reason else ''}{outcome.message}",
                      file=sys.stderr, flush=True)
    finally:
        bar.close()
    print(json.dumps({"output": str(summary.output), "manifest": str(summary.manifest),
                      "state": "stopped" if summary.stopped else "done", **summary.counts,
                      "retried": summary.retried, "workers": len(summary.workers),
                      "seconds": round(summary.seconds, 3)}))
    return EXIT_STOPPED if summary.stopped else 0
