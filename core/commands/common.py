"""What several subcommands share: model arguments, devices, JSON output."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from core.device import DEVICE_CHOICES, pick_device
from core.errors import ModelMissingError, SemeditError
from core.fileio import write_atomically
from core.models import ModelStore, load_manifest, models_dir
from core.stylegan import Generator, load_generator

if TYPE_CHECKING:
    from core.invert.losses import Lpips


def add_models_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models-dir", metavar="DIR",
                        help="folder of model files (default: $SEMEDIT_HOME/models or the "
                        "user data folder)")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                        help="where to compute (default: CUDA, then MPS, then CPU)")


def open_store(models_dir_override: str | None = None) -> ModelStore:
    return ModelStore(load_manifest(), models_dir(models_dir_override))


def load_generator_argument(spec: str | None, args: argparse.Namespace
                            ) -> tuple[Generator, str | None]:
    """Load `--generator PATH|ID` (None: the default generator); returns (G, manifest id)."""
    store = open_store(args.models_dir)
    path = store.resolve(spec, "generator")
    known_id = spec if spec in store.manifest.ids else (
        store.manifest.default_for("generator").id if spec is None else None)
    return load_generator(path, device=pick_device(args.device)), known_id


def write_json(path: str | Path, data: dict) -> Path:
    """Write JSON atomically (temp file + rename)."""
    path = Path(path)
    if not path.parent.is_dir():
        raise SemeditError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    text = json.dumps(data, indent=2) + "\n"
    try:
        write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))
    except OSError as error:
        raise SemeditError(f"Cannot write {path}: {error.strerror or error}.") from error
    return path


def lpips_for_loss(args: argparse.Namespace, device) -> Lpips | None:
    """`--vgg` as an LPIPS model: required by an LPIPS `--loss`; else used for the metric
    when installed (None when not)."""
    from core.invert.losses import VGG_MISSING, load_lpips

    try:
        path = open_store(args.models_dir).resolve(args.vgg or "vgg16-imagenet", "vgg")
    except ModelMissingError as error:
        if "lpips" in args.loss:
            raise ModelMissingError(VGG_MISSING, asset_id=error.asset_id) from error
        return None
    return load_lpips(path, device)
