"""Validate before trust: a model file is read through the loaders the app itself uses and
compared with what its manifest entry declares, before its sha256 is recorded as trusted.

A junk file, a text file, a truncated pickle, the 64×64 test generator offered as the
1024×1024 FFHQ model, or a SAM file offered as VGG is refused with one sentence saying
what the file is. This module sits above the capabilities (it loads SAM and VGG the way
they are loaded for use); the store gets `validate_model_file` passed in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from core.errors import CheckpointError, SemeditError
from core.models.index import ModelFacts
from core.models.manifest import Asset, load_manifest
from core.models.store import ModelStore
from core.paths import models_dir


class ModelMismatchError(SemeditError):
    """A model file that is not the model it was offered as."""


def open_model_store(folder: str | os.PathLike[str] | None = None) -> ModelStore:
    """The models folder (`folder` or the default one) with the shipped manifest and
    validation before trust: what the CLI, the app and the model provider use."""
    return ModelStore(load_manifest(), models_dir(folder), validate=validate_model_file)


def read_model_facts(kind: str, path: str | Path) -> ModelFacts:
    """Load the file as a model of `kind` and say what it is (CheckpointError when it is
    no such model)."""
    path = Path(path)
    if kind == "generator":
        return _generator_facts(path)
    if kind == "encoder":
        return _encoder_facts(path)
    if kind == "sam":
        return _sam_facts(path)
    if kind == "vgg":
        return _vgg_facts(path)
    raise SemeditError(f"There is no check for models of kind '{kind}'.")


def validate_model_file(asset: Asset, path: str | Path, *,
                        shown_as: str | Path | None = None) -> ModelFacts:
    """The file's facts when it is `asset`; otherwise ModelMismatchError saying what it is
    (`shown_as` names the file in that sentence, e.g. the user's file for a temporary copy)."""
    name = Path(shown_as or path)
    try:
        facts = read_model_facts(asset.kind, path)
    except CheckpointError as error:
        raise ModelMismatchError(f"{name} is not {asset.what_it_is()}: {error.reason}.") \
            from error
    declared = asset.declared_architecture()
    differences = [key for key in declared
                   if key in facts.architecture and facts.architecture[key] != declared[key]]
    if differences:
        raise ModelMismatchError(
            f"{name} is {facts.summary}, not {asset.what_it_is()} (it differs in "
            f"{', '.join(d.replace('_', ' ') for d in differences)}).")
    return facts


def _generator_facts(path: Path) -> ModelFacts:
    from core.stylegan import load_generator

    generator = load_generator(path, device="cpu")
    cfg = generator.config
    architecture = generator_architecture(cfg)
    del generator
    return ModelFacts("generator", generator_summary(architecture), architecture)


def generator_architecture(cfg: Any) -> dict[str, Any]:
    """A generator's architecture as JSON values (a `GeneratorConfig` in)."""
    return {"resolution": cfg.img_resolution, "z_dim": cfg.z_dim, "w_dim": cfg.w_dim,
            "num_ws": cfg.num_ws, "mapping_layers": cfg.mapping_layers,
            "channels": {str(r): int(c) for r, c in sorted(cfg.channels.items())}}


def generator_summary(architecture: dict[str, Any]) -> str:
    r = architecture["resolution"]
    return (f"a {r}×{r} StyleGAN2 generator (z {architecture['z_dim']}, w "
            f"{architecture['w_dim']}, {architecture['num_ws']} ws, "
            f"{architecture['mapping_layers']} mapping layers)")


def _encoder_facts(path: Path) -> ModelFacts:
    from core.encoders import load_encoder

    encoder = load_encoder(path, device="cpu")
    num_ws, w_dim = int(encoder.num_ws), int(encoder.w_dim)
    del encoder
    resolution = 2 ** ((num_ws + 2) // 2)  # num_ws = 2 log2(R) - 2
    return ModelFacts("encoder", f"an e4e encoder for a {resolution}×{resolution} generator "
                      f"({num_ws} ws of {w_dim})",
                      {"resolution": resolution, "num_ws": num_ws, "w_dim": w_dim})


def _sam_facts(path: Path) -> ModelFacts:
    from core.segment.sam import load_sam

    sam = load_sam(path, device="cpu")
    variant = str(sam.variant)
    del sam
    return ModelFacts("sam", f"a Segment Anything {variant} model", {"variant": variant})


def _vgg_facts(path: Path) -> ModelFacts:
    from core.checkpoint_files import load_torch_file

    expected = {key: tuple(t.shape) for key, t in _vgg16_meta_state().items()}
    state = load_torch_file(path, map_location="cpu")  # CheckpointError for a bad file
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise CheckpointError(path, "not a state dict")
    found = {k: tuple(v.shape) for k, v in state.items() if isinstance(v, torch.Tensor)}
    if found != expected:
        missing = sorted(set(expected) - set(found))
        wrong = sorted(k for k in expected if k in found and found[k] != expected[k])
        extra = sorted(set(found) - set(expected))
        detail = "; ".join(part for part in (
            f"missing {', '.join(missing[:3])}" if missing else "",
            f"other shapes for {', '.join(wrong[:3])}" if wrong else "",
            f"unexpected {', '.join(extra[:3])}" if extra else "") if part)
        raise CheckpointError(path, f"not torchvision's VGG16 layout ({detail})")
    return ModelFacts("vgg", "torchvision's VGG16 weights", {"layout": "torchvision vgg16"})


def _vgg16_meta_state() -> dict[str, torch.Tensor]:
    from torchvision.models import vgg16

    with torch.device("meta"):
        return vgg16(weights=None).state_dict()


__all__ = ["ModelMismatchError", "generator_architecture", "generator_summary",
           "open_model_store", "read_model_facts", "validate_model_file"]
