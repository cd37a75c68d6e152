"""`semedit directions list|compute|import|fit|remove|rename|export|packs`: the direction
library of a generator and the published direction packs."""

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
from core.edit.directions import Direction
from core.edit.supervised import fit_direction, load_labelled_latents
from core.workflows import (
    compute_directions,
    direction_packs,
    install_direction_pack,
    list_directions,
)


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

    rename = actions.add_parser(
        "rename", help="give a direction the name shown in the app (its id stays)")
    rename.add_argument("name", help="the direction's id (as `list` shows it)")
    rename.add_argument("title", help="the name to show; \"\" goes back to the default")
    rename.add_argument("--description", help="also set its description")
    _common(rename)

    export = actions.add_parser("export", help="write one direction to a file pair "
                                "(.npz + .json) that `import` reads back")
    export.add_argument("name")
    export.add_argument("-o", "--output", required=True, metavar="FILE.npz")
    _common(export)

    packs = actions.add_parser("packs", help="published direction packs: list or download")
    pack_actions = packs.add_subparsers(dest="pack_action", metavar="list|download",
                                        required=True)
    _common(pack_actions.add_parser("list", help="the packs, and which fit this generator"))
    download = pack_actions.add_parser("download", help="download a pack and install it "
                                       "into this generator's library")
    download.add_argument("pack", metavar="ID")
    _common(download)


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
    elif args.action == "remove":
        models.directions().remove(args.name)
        print(json.dumps({"removed": args.name}))
    elif args.action == "rename":
        d = models.directions().set_label(args.name, title=args.title,
                                          description=args.description)
        print(json.dumps({"renamed": _describe(d)}))
    elif args.action == "export":
        target = Path(args.output)
        if target.suffix.lower() != ".npz":  # as the library names it
            target = target.with_name(target.name + ".npz")
        guard = output_guard(args)
        guard.check(target, option="-o")
        guard.check(target.with_suffix(".json"), option="-o (its .json)")
        path = models.directions().export(args.name, target)
        print(json.dumps({"exported": args.name, "file": str(path)}))
    elif args.pack_action == "list":
        print(json.dumps([_describe_offer(o) for o in direction_packs(models)], indent=2))
    else:
        added = run_workflow(install_direction_pack(models, args.pack,
                                                    control=control_of(args)),
                             bars=lambda p: p.label if p.stage == "download" else None)
        print(json.dumps({"installed": args.pack, "directions": [d.name for d in added]}))
    return 0


def _describe_offer(offer) -> dict:
    pack = offer.pack
    return {"id": pack.id, "title": pack.title, "licence": pack.licence,
            "source": pack.source, "generator": pack.generator, "size": pack.size,
            "directions": sum(len(d.presets or {}) or 1 for d in pack.directions),
            "fits": offer.refusal is None, "why_not": offer.refusal,
            "downloaded": offer.downloaded, "installed": offer.installed,
            "description": pack.description}


def _describe(d: Direction) -> dict:
    return {"name": d.name, "title": d.shown_name, "group": d.group or None,
            "space": d.space, "source": d.source, "scale": round(d.scale, 6),
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
