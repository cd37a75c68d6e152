"""What several subcommands share: model arguments, devices, JSON output."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.device import DEVICE_CHOICES, pick_device
from core.errors import SemeditError
from core.fileio import write_atomically
from core.models import ModelStore, load_manifest, models_dir
from core.stylegan import Generator, load_generator


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
