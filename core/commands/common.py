"""What several subcommands share: model arguments, the model provider, running a
workflow with a progress bar, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, TypeVar

from core.commands.progress import ProgressBar
from core.device import DEVICE_CHOICES
from core.errors import SemeditError
from core.fileio import write_atomically
from core.jobs import JobControl
from core.models import ModelStore
from core.models.loaded import LoadedModels, ModelChoice
from core.models.validation import open_model_store
from core.outputs import OutputGuard
from core.workflows import Progress

R = TypeVar("R")


def add_models_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models-dir", metavar="DIR",
                        help="folder of model files (default: $SEMEDIT_HOME/models or the "
                        "user data folder)")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                        help="where to compute (default: CUDA, then MPS, then CPU)")


def add_init_arguments(parser: argparse.ArgumentParser) -> None:
    """`--init e4e|mean` and `--encoder PATH|ID`: where an inversion starts."""
    parser.add_argument("--init", choices=("e4e", "mean"), default=None,
                        help="start every chunk from the encoder's guess (e4e) or from the "
                        "mean face (default: e4e when an encoder is installed, else mean)")
    parser.add_argument("--encoder", metavar="PATH|ID",
                        help="encoder file or model id for --init e4e (default: the "
                        "e4e-ffhq-encode model)")


def open_store(models_dir_override: str | None = None) -> ModelStore:
    """The model files, for `semedit models` (which loads none of them)."""
    return open_model_store(models_dir_override)


def models_for(args: argparse.Namespace, *, generator: str | None = None) -> LoadedModels:
    """The model provider for a command's `--generator/--sam/--vgg/--models-dir/--device`
    (`generator` overrides `--generator`, e.g. a project's own)."""
    return LoadedModels(ModelChoice(
        generator=generator if generator is not None else getattr(args, "generator", None),
        sam=getattr(args, "sam", None), vgg=getattr(args, "vgg", None),
        encoder=getattr(args, "encoder", None),
        models_dir=getattr(args, "models_dir", None),
        device=getattr(args, "device", "auto")))


def control_of(args: argparse.Namespace) -> JobControl:
    """The stop flag Ctrl-C sets (`core.cli` installs it); a private one otherwise."""
    control = getattr(args, "control", None)
    if control is None:
        control = args.control = JobControl()
    return control


def run_workflow(workflow: Generator[Any, None, R], *,
                 bars: Callable[[Progress], str | None] | None = None,
                 detail: Callable[[Progress], str] | None = None) -> R:
    """Drive a workflow to its end, drawing one progress bar per stage label on stderr
    (`bars(progress)` names the bar instead, None keeps a step off the bars; `detail`
    writes the text after it)."""
    bar: ProgressBar | None = None
    label = None
    try:
        while True:
            try:
                progress = next(workflow)
            except StopIteration as finished:
                return finished.value
            name = bars(progress) if bars is not None else progress.label
            if name is None:
                continue
            if name != label:
                if bar is not None:
                    bar.close()
                bar, label = ProgressBar(name), name
            bar.update(progress.fraction, (detail or _detail)(progress))
    finally:
        if bar is not None:
            bar.close()


def no_bar(progress: Progress) -> None:
    """For `run_workflow(bars=...)`: quick workflows draw no bar."""
    return None


def _detail(progress: Progress) -> str:
    faces = getattr(progress, "faces", None)
    if faces is not None:
        return f"{progress.step}/{progress.total} samples, {faces} faces"
    loss = progress.losses.get("total")
    return f"step {progress.step}/{progress.total}" + (
        f"  loss {loss:.4f}" if loss is not None else "")


def note(text: str, *, stderr: bool = False) -> None:
    print(f"semedit: note: {text}", file=sys.stderr if stderr else sys.stdout, flush=True)


# The argparse destinations that name files a command reads (model ids are no files and
# drop out by `is_file`); lists hold several (`--mask`, the photos of `eval`/`batch`).
INPUT_ARGUMENTS = ("image", "photo", "identity_photo", "hair_photo", "mask", "hair_mask_a",
                   "hair_mask_b", "project", "generator", "encoder", "sam", "vgg", "latents",
                   "file", "photos")


def output_guard(args: argparse.Namespace, *more_inputs: str | Path | None) -> OutputGuard:
    """The one output guard of a command: every file among its arguments (and
    `more_inputs`) is an input, never to be written over."""
    guard = OutputGuard()
    for name in INPUT_ARGUMENTS:
        value = getattr(args, name, None)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (str, Path)) and _is_file(Path(item).expanduser()):
                guard.add_input(item)
    for item in more_inputs:
        if item is not None:
            guard.add_input(item)
    return guard


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def write_json(path: str | Path, data: dict) -> Path:
    """Write JSON atomically (temp file + rename); the command's guard has checked `path`."""
    path = Path(path)
    if not path.parent.is_dir():
        raise SemeditError(f"Cannot write {path}: the folder {path.parent} does not exist.")
    text = json.dumps(data, indent=2) + "\n"
    try:
        write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))
    except OSError as error:
        raise SemeditError(f"Cannot write {path}: {error.strerror or error}.") from error
    return path
