"""`semedit directions list|compute|import|fit|remove`: the direction library of a generator."""

from __future__ import annotations

import argparse
import json

from core.commands.common import (
    add_device_argument,
    add_models_dir_argument,
    control_of,
    models_for,
    run_workflow,
)
from core.edit.directions import Direction
from core.edit.supervised import fit_direction, load_labelled_latents
from core.workflows import compute_directions, list_directions


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "directions", help="list, compute, import or fit edit directions",
        description="Directions belong to one generator (the default one unless --generator): "
        "GANSpace components pc0, pc1, ... are computed on first use; supervised ones (yaw, "
        "pitch, mouth_open, eyes_open, face_width) with `compute --supervised`.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="the directions this generator has")
    _common(listing)

    compute = actions.add_parser("compute", help="compute the built-in directions now")
    compute.add_argument("--supervised", action="store_true",
                         help="also fit the landmark-labelled directions (generates and "
                         "measures --samples faces: minutes on a GPU)")
    compute.add_argument("--hair", action="store_true",
                         help="also fit hair_volume and hair_length (labels from Segment "
                         "Anything's hair masks; usable on any hair chunk)")
    compute.add_argument("--sam", metavar="PATH|ID",
                         help="Segment Anything weights for --hair (default: sam-vit-b)")
    compute.add_argument("--samples", type=int, default=1000,
                         help="faces to generate for --supervised or --hair (default 1000)")
    _common(compute)

    imported = actions.add_parser("import", help="add a direction file to the library")
    imported.add_argument("file", help=".npy/.npz/.pt direction, GANSpace .npz, or StyleSpace "
                          ".json with (layer, channel) pairs")
    imported.add_argument("--name", help="name (default: the file's name)")
    imported.add_argument("--layers", type=_layers, metavar="A-B",
                          help="apply to ws rows A to B-1 only (a W direction)")
    imported.add_argument("--scale", type=float,
                          help="latent units per slider unit (default: from the generator)")
    imported.add_argument("--replace", action="store_true",
                          help="replace an imported direction of the same name")
    _common(imported)

    fit = actions.add_parser("fit", help="fit a direction from your own labelled latents")
    fit.add_argument("latents", help=".npz with arrays w [N, w_dim] and labels [N], or .csv "
                     "with a 'label' column and w_0 ... w_{D-1}")
    fit.add_argument("--name", required=True)
    fit.add_argument("--replace", action="store_true")
    _common(fit)

    remove = actions.add_parser("remove", help="forget an imported or fitted direction")
    remove.add_argument("name")
    _common(remove)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--generator", metavar="PATH|ID",
                   help="generator file or model id (default: the default generator)")
    add_models_dir_argument(p)
    add_device_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    models = models_for(args)
    if args.action == "list":
        print(json.dumps([_describe(d) for d in list_directions(models)], indent=2))
    elif args.action == "compute":
        directions = run_workflow(
            compute_directions(models, supervised=args.supervised, hair=args.hair,
                               samples=args.samples, control=control_of(args)),
            bars=lambda p: p.label if p.stage == "labelling" else None)
        print(json.dumps({"computed": [d.name for d in directions]}))
    elif args.action == "import":
        added = models.directions().import_file(args.file, name=args.name, layers=args.layers,
                                                scale=args.scale, replace=args.replace)
        print(json.dumps({"imported": [_describe(d) for d in added]}))
    elif args.action == "fit":
        library = models.directions()
        w, labels = load_labelled_latents(args.latents, w_dim=library.generator.w_dim)
        direction = fit_direction(w, labels, args.name, scale_latents=library.w_samples(),
                                  source="user",
                                  description=f"fitted from {len(labels)} labelled latents")
        library.keep([direction], origin=args.latents, replace=args.replace)
        print(json.dumps({"fitted": _describe(direction)}))
    else:
        models.directions().remove(args.name)
        print(json.dumps({"removed": args.name}))
    return 0


def _describe(d: Direction) -> dict:
    return {"name": d.name, "space": d.space, "source": d.source, "scale": round(d.scale, 6),
            "layers": list(d.layers) if d.layers else None, "description": d.description}


def _layers(text: str) -> tuple[int, int]:
    start, sep, end = text.partition("-")
    try:
        layers = (int(start), int(end))
    except ValueError:
        layers = (-1, -1)
    if not sep or not 0 <= layers[0] < layers[1]:
        raise argparse.ArgumentTypeError(f"{text!r} is not a layer range A-B with A < B")
    return layers
