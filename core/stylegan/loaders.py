"""`load_generator`: NVIDIA network pickles and rosinality checkpoints (also the decoder
`decoder.*` of an encoder4editing checkpoint), read safely.

Both formats end up as an NVIDIA-named state dict plus the few architecture facts
that tensors cannot tell (mapping lr multiplier, conv_clamp, fp16 blocks). The
network's shape is read from the tensors themselves, never assumed.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.checkpoint_files import checkpoint_format, load_torch_file
from core.errors import CheckpointError
from core.fileio import open_regular_file
from core.hashing import hash_file
from core.stylegan.networks import Generator, GeneratorConfig
from core.stylegan.ops import fir_filter_2d
from core.stylegan.safe_pickle import (
    PersistentObject,
    UnsafePickleError,
    safe_unpickle,
    walk_objects,
)


@dataclass
class CheckpointContents:
    """An NVIDIA-named state dict and the architecture facts it does not carry."""

    state: dict[str, torch.Tensor]
    format: str  # "nvidia-pickle" | "rosinality" | "e4e"
    mapping_lr_multiplier: float = 0.01
    conv_clamp: float | None = None
    fp16_resolutions: frozenset[int] = field(default_factory=frozenset)
    has_w_avg: bool = True


def load_generator(path: str | Path, device: str | torch.device = "cpu", *,
                   sha256: str | None = None) -> Generator:
    """Load a StyleGAN2 generator from an NVIDIA network pickle or a rosinality .pt.

    Nothing in the file is executed. Raises CheckpointError naming the file and why.
    `sha256`: the file's, when the caller knows it (the model index), so it is not hashed
    again (about a second for a 360 MB pickle).
    """
    path = Path(path).expanduser()
    contents = read_checkpoint(path)
    try:
        cfg = infer_config(contents)
        _check_shapes(cfg, contents)  # before allocating: shapes may lie
    except (KeyError, ValueError, IndexError, TypeError, AttributeError) as exc:
        raise CheckpointError(path, f"not a StyleGAN2 generator this app can run ({exc})") from exc
    try:
        generator = Generator(cfg)
        _load_state(generator, contents, path)
    except CheckpointError:
        raise
    except Exception as exc:  # any other failure of a file that passed the checks above
        raise CheckpointError(path, f"the network cannot be built ({_first_line(exc)})") from exc
    generator.source_path = str(path)
    generator.source_sha256 = sha256 or hash_file(path).sha256
    generator.source_format = contents.format
    return generator.eval().requires_grad_(False).to(device)


def read_checkpoint(path: Path) -> CheckpointContents:
    kind = checkpoint_format(path)
    if kind == "torch":
        return _read_rosinality(path)
    if kind == "pickle":
        return _read_nvidia_pickle(path)
    raise CheckpointError(
        path, "not a model checkpoint (expected an NVIDIA network pickle or a rosinality .pt)"
    )


# --- NVIDIA network pickles -------------------------------------------------------


def _read_nvidia_pickle(path: Path) -> CheckpointContents:
    try:
        with open_regular_file(path) as f:  # checked again: the path may have changed
            data = safe_unpickle(f)
    except UnsafePickleError as exc:
        if "dnnlib.tflib" in str(exc):
            raise CheckpointError(
                path, "this is a TensorFlow StyleGAN2 pickle; use the PyTorch release "
                "(stylegan2-ada-pytorch or stylegan3) of the network"
            ) from exc
        raise CheckpointError(
            path, f"refused: {exc} (it was not executed; a network pickle needs only tensors "
            "and settings)"
        ) from exc
    except Exception as exc:  # the allow-list ran no code: any other failure is corruption
        # (an unknown opcode is a KeyError, stack underflow an IndexError, and so on).
        raise CheckpointError(path, f"the file is truncated or corrupt ({type(exc).__name__}: "
                              f"{exc})") from exc

    try:
        return _nvidia_contents(path, data)
    except CheckpointError:
        raise
    except Exception as exc:  # the saved state is data of any shape: every failure is ours
        raise CheckpointError(path, f"malformed network pickle ({_first_line(exc)})") from exc


def _nvidia_contents(path: Path, data: Any) -> CheckpointContents:
    network = data.get("G_ema") if isinstance(data, dict) else data
    if not isinstance(network, PersistentObject):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(path, f"no generator network (G_ema) in the pickle; found {found}")
    if network.class_name != "Generator":
        raise CheckpointError(path, f"G_ema is a {network.class_name}, not a Generator")
    _refuse_unsupported_nvidia(path, network)
    state = network.parameters_and_buffers()

    objects = list(walk_objects(network))
    blocks = [o for o in objects if o.class_name == "SynthesisBlock"]
    layers = [o for o in objects if o.class_name in ("SynthesisLayer", "ToRGBLayer")]
    for block in blocks:
        if block.state.get("architecture", "skip") != "skip":
            raise CheckpointError(path, f"generator architecture {block.state['architecture']!r} "
                                  "is not supported (skip only)")
    for layer in layers:
        if layer.state.get("activation", "lrelu") != "lrelu":
            raise CheckpointError(path,
                                  f"activation {layer.state['activation']!r} is not supported")
    fp16 = frozenset(int(b.state["resolution"]) for b in blocks if b.state.get("use_fp16"))
    fc0 = _child(_child(network, "mapping"), "fc0")
    return CheckpointContents(
        state=state,
        format="nvidia-pickle",
        mapping_lr_multiplier=float(fc0.state.get("bias_gain", 0.01)),
        conv_clamp=_single_clamp(path, {layer.state.get("conv_clamp") for layer in layers}),
        fp16_resolutions=fp16,
    )


def _child(obj: PersistentObject, name: str) -> PersistentObject:
    child = (obj.state.get("_modules") or {}).get(name)
    if not isinstance(child, PersistentObject):
        raise ValueError(f"network has no {name} module")
    return child


def _single_clamp(path: Path, clamps: set) -> float | None:
    clamps.discard(None)
    if len(clamps) > 1:
        raise CheckpointError(path, f"blocks disagree on conv_clamp: {sorted(clamps)}")
    return float(clamps.pop()) if clamps else None


def _refuse_unsupported_nvidia(path: Path, network: PersistentObject) -> None:
    kwargs = network.state.get("_init_kwargs") or {}
    c_dim = kwargs.get("c_dim", 0) if isinstance(kwargs, dict) else 0
    if c_dim is not None and not (isinstance(c_dim, int) and not isinstance(c_dim, bool)):
        raise CheckpointError(path, f"_init_kwargs.c_dim is a {type(c_dim).__name__}, not a "
                                    "whole number")
    if c_dim:
        raise CheckpointError(path, "conditional (class-labelled) generators are not supported")
    names = {o.class_name for o in walk_objects(network)}
    if "SynthesisInput" in names:
        raise CheckpointError(
            path, "this is a StyleGAN3 (alias-free) generator; SemEdit needs a StyleGAN2 one"
        )


# --- rosinality checkpoints ------------------------------------------------------


def _read_rosinality(path: Path) -> CheckpointContents:
    # Training checkpoints carry their argparse settings; a Namespace only holds data.
    data = load_torch_file(path, safe_globals=[argparse.Namespace])
    source_format = "rosinality"
    if isinstance(data, dict) and "g_ema" not in data and isinstance(data.get("state_dict"), dict):
        data, source_format = _e4e_decoder(path, data), "e4e"
    if not isinstance(data, dict) or not isinstance(data.get("g_ema"), dict):
        found = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(path, f"no g_ema state dict in the checkpoint; found {found}")
    try:
        state = rosinality_to_nvidia(data["g_ema"])
    except (KeyError, ValueError, IndexError, TypeError, AttributeError, RuntimeError) as exc:
        raise CheckpointError(path, f"not a rosinality StyleGAN2 generator ({exc})") from exc
    latent_avg = data.get("latent_avg")
    if isinstance(latent_avg, torch.Tensor):
        state["mapping.w_avg"] = latent_avg.reshape(-1).float()
    return CheckpointContents(state=state, format=source_format,
                              has_w_avg=isinstance(latent_avg, torch.Tensor))


def _e4e_decoder(path: Path, data: dict) -> dict:
    """encoder4editing's checkpoint (`state_dict` with `encoder.*` and `decoder.*`) as a
    rosinality one: the decoder is rosinality's generator, and `latent_avg` ([num_ws, 512],
    one row repeated, as e4e's training stores it; or [512]) is its mean W."""
    decoder = {key[len("decoder."):]: value for key, value in data["state_dict"].items()
               if isinstance(key, str) and key.startswith("decoder.")}
    if not decoder:
        raise CheckpointError(path, "the checkpoint's state_dict has no decoder.* generator "
                                    "(an encoder file without its StyleGAN2 decoder?)")
    latent_avg = data.get("latent_avg")
    if isinstance(latent_avg, torch.Tensor) and latent_avg.ndim == 2:
        rows_equal = latent_avg.shape[0] > 0 and bool((latent_avg == latent_avg[:1]).all())
        latent_avg = latent_avg[0] if rows_equal else None  # otherwise estimated as usual
    return {"g_ema": decoder, "latent_avg": latent_avg}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def rosinality_to_nvidia(g_ema: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a rosinality `g_ema` state dict to NVIDIA's names (reshapes only)."""
    out: dict[str, torch.Tensor] = {}
    style_ids = sorted(int(m.group(1)) for k in g_ema
                       if (m := re.fullmatch(r"style\.(\d+)\.weight", k)))
    if not style_ids:
        raise ValueError("no mapping layers style.N")
    for i, sid in enumerate(style_ids):
        out[f"mapping.fc{i}.weight"] = g_ema[f"style.{sid}.weight"]
        out[f"mapping.fc{i}.bias"] = g_ema[f"style.{sid}.bias"]

    num_up_blocks = len([k for k in g_ema if re.fullmatch(r"to_rgbs\.\d+\.bias", k)])
    resolutions = [4 * 2**k for k in range(num_up_blocks + 1)]
    out["synthesis.b4.const"] = g_ema["input.input"][0]
    conv_layers = [("conv1", "synthesis.b4.conv1")]
    rgb_layers = [("to_rgb1", "synthesis.b4.torgb")]
    for k, res in enumerate(resolutions[1:]):
        conv_layers += [(f"convs.{2 * k}", f"synthesis.b{res}.conv0"),
                        (f"convs.{2 * k + 1}", f"synthesis.b{res}.conv1")]
        rgb_layers.append((f"to_rgbs.{k}", f"synthesis.b{res}.torgb"))

    for n, (src, dst) in enumerate(conv_layers):
        out[f"{dst}.weight"] = g_ema[f"{src}.conv.weight"][0]
        out[f"{dst}.affine.weight"] = g_ema[f"{src}.conv.modulation.weight"]
        out[f"{dst}.affine.bias"] = g_ema[f"{src}.conv.modulation.bias"]
        out[f"{dst}.noise_strength"] = g_ema[f"{src}.noise.weight"].reshape(())
        out[f"{dst}.bias"] = g_ema[f"{src}.activate.bias"]
        out[f"{dst}.noise_const"] = g_ema[f"noises.noise_{n}"][0, 0]
    for src, dst in rgb_layers:
        out[f"{dst}.weight"] = g_ema[f"{src}.conv.weight"][0]
        out[f"{dst}.affine.weight"] = g_ema[f"{src}.conv.modulation.weight"]
        out[f"{dst}.affine.bias"] = g_ema[f"{src}.conv.modulation.bias"]
        out[f"{dst}.bias"] = g_ema[f"{src}.bias"].reshape(-1)

    # rosinality keeps its blur kernels as fixed buffers; ours hold the same [1,3,3,1] filter.
    for res in resolutions:
        out[f"synthesis.b{res}.resample_filter"] = fir_filter_2d()
        if res > 4:
            out[f"synthesis.b{res}.conv0.resample_filter"] = fir_filter_2d()
        out[f"synthesis.b{res}.conv1.resample_filter"] = fir_filter_2d()
    return out


# --- architecture from tensors ---------------------------------------------------


def infer_config(contents: CheckpointContents) -> GeneratorConfig:
    state = contents.state
    fc_ids = sorted(int(m.group(1)) for k in state
                    if (m := re.fullmatch(r"mapping\.fc(\d+)\.weight", k)))
    if not fc_ids or fc_ids != list(range(len(fc_ids))):
        raise ValueError("mapping layers missing or not numbered fc0..fcN")
    first, last = state["mapping.fc0.weight"], state[f"mapping.fc{fc_ids[-1]}.weight"]
    resolutions = sorted(int(m.group(1)) for k in state
                         if (m := re.fullmatch(r"synthesis\.b(\d+)\.conv1\.weight", k)))
    if not resolutions:
        raise ValueError("no synthesis blocks")
    channels = {res: state[f"synthesis.b{res}.conv1.weight"].shape[0] for res in resolutions}
    top = resolutions[-1]
    return GeneratorConfig(
        z_dim=first.shape[1],
        w_dim=last.shape[0],
        img_resolution=top,
        channels=channels,
        img_channels=state[f"synthesis.b{top}.torgb.weight"].shape[0],
        mapping_layers=len(fc_ids),
        mapping_hidden=_hidden_width(first.shape[0], last.shape[0], len(fc_ids)),
        mapping_lr_multiplier=contents.mapping_lr_multiplier,
        conv_clamp=contents.conv_clamp,
        fp16_resolutions=contents.fp16_resolutions,
    )


def _hidden_width(fc0_out: int, w_dim: int, layers: int) -> int | None:
    """None when the hidden layers are w_dim wide, as in NVIDIA's own configs."""
    return fc0_out if layers > 1 and fc0_out != w_dim else None


def _load_state(generator: Generator, contents: CheckpointContents, path: Path) -> None:
    state = {k: v.float() for k, v in contents.state.items()}
    if not contents.has_w_avg:
        state["mapping.w_avg"] = generator.mapping.w_avg
    for key, value in state.items():
        if key.endswith("resample_filter") and (
                value.shape != fir_filter_2d().shape or not torch.allclose(value, fir_filter_2d())):
            raise CheckpointError(path, f"{key} is not the [1,3,3,1] filter this app implements")
    try:
        result = generator.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # tensor shapes that do not fit together
        raise CheckpointError(path, f"inconsistent network shapes ({_first_line(exc)})") from exc
    problems = []
    if result.missing_keys:
        problems.append(f"missing {_few(result.missing_keys)}")
    if result.unexpected_keys:
        problems.append(f"unexpected {_few(result.unexpected_keys)}")
    if problems:
        raise CheckpointError(path, "not a StyleGAN2 generator this app can run: "
                              + "; ".join(problems))
    if not contents.has_w_avg:
        generator.mapping.w_avg.copy_(generator.estimate_w_avg())


def _check_shapes(cfg: GeneratorConfig, contents: CheckpointContents) -> None:
    """Every tensor the network would hold must be in the file with that shape; checked on
    the meta device, so lying shapes never allocate (two 100000-channel blocks would)."""
    with torch.device("meta"):
        expected = Generator(cfg).state_dict()
    for key, tensor in expected.items():
        found = contents.state.get(key)
        if found is None:
            if key == "mapping.w_avg" and not contents.has_w_avg:
                continue  # estimated after loading
            raise ValueError(f"missing {key}")
        if tuple(found.shape) != tuple(tensor.shape):
            raise ValueError(f"{key} has shape {list(found.shape)}, expected "
                             f"{list(tensor.shape)}")


def _few(keys: list[str], limit: int = 4) -> str:
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more
