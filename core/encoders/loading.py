"""`load_encoder`: encoder4editing's official checkpoint, read without running code.

The released `e4e_ffhq_encode.pt` is one `torch.save` dict: `state_dict` (the encoder as
`encoder.*`, rosinality's generator as `decoder.*`), `latent_avg` ([18, 512] as training
writes it; [512] in some exports) and `opts` (a plain dict of training options). It was
saved from CUDA; every tensor is mapped to the CPU while reading. Only the encoder and
`latent_avg` are used here; `core.stylegan.load_generator` reads the decoder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from core.checkpoint_files import checkpoint_format, load_torch_file
from core.encoders.e4e import E4EConfig, E4EEncoder, Encoder4Editing, config_from_state
from core.errors import CheckpointError
from core.hashing import hash_file

ENCODER_PREFIX = "encoder."


def load_encoder(path: str | Path, device: str | torch.device = "cpu") -> E4EEncoder:
    """The e4e encoder in `path`, ready for inference on `device`.

    Raises CheckpointError naming the file when it is not an e4e checkpoint this app can
    run (wrong layout, missing or misshapen tensors, hostile or truncated file).
    """
    path = Path(path).expanduser()
    if checkpoint_format(path) != "torch":
        raise CheckpointError(path, "not an encoder4editing checkpoint (expected a torch .pt "
                                    "file holding state_dict and latent_avg)")
    data = load_torch_file(path, safe_globals=[argparse.Namespace])
    state, latent_avg = _encoder_tensors(path, data)
    encoder = encoder_from_state(path, state, latent_avg)
    encoder.source_path = str(path)
    encoder.source_sha256 = hash_file(path).sha256
    return encoder.to(device)


def encoder_from_state(path: Path, state: dict[str, torch.Tensor],
                       latent_avg: torch.Tensor) -> E4EEncoder:
    """Build the encoder from its state dict (keys without `encoder.`), after checking
    every tensor's shape against what the architecture implies."""
    try:
        config = config_from_state(state)
    except (KeyError, ValueError) as exc:
        raise CheckpointError(path, f"not an e4e encoder this app can run ({_key_reason(exc)})"
                              ) from exc
    _check_shapes(path, config, state)
    if tuple(latent_avg.shape) not in ((config.num_ws, config.w_dim), (config.w_dim,)):
        raise CheckpointError(path, f"latent_avg has shape {list(latent_avg.shape)}, expected "
                                    f"[{config.num_ws}, {config.w_dim}] or [{config.w_dim}]")
    if not torch.isfinite(latent_avg).all():
        raise CheckpointError(path, "latent_avg holds values that are not finite")
    # Built on the meta device and given the file's tensors: no second copy of ~1 GB of
    # weights, and no random initialisation that would be overwritten at once.
    with torch.device("meta"):
        network = Encoder4Editing(config)
    network.load_state_dict({k: v.float() if v.is_floating_point() else v
                             for k, v in state.items()}, assign=True)
    return E4EEncoder(network, latent_avg.float()).eval().requires_grad_(False)


def _encoder_tensors(path: Path, data: object) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    if not isinstance(data, dict) or not isinstance(data.get("state_dict"), dict):
        found = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(path, f"no e4e state_dict in the checkpoint; found {found}")
    state = {key[len(ENCODER_PREFIX):]: value for key, value in data["state_dict"].items()
             if isinstance(key, str) and key.startswith(ENCODER_PREFIX)}
    if not state:
        raise CheckpointError(path, "the checkpoint's state_dict has no encoder.* tensors "
                                    "(is it a generator rather than an e4e encoder?)")
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(path, f"encoder.{key} is a {type(value).__name__}, "
                                        "not a tensor")
    latent_avg = data.get("latent_avg")
    if not isinstance(latent_avg, torch.Tensor) or not latent_avg.is_floating_point():
        raise CheckpointError(path, "the checkpoint has no latent_avg tensor, which the "
                                    "encoder's codes are relative to")
    return state, latent_avg


def _check_shapes(path: Path, config: E4EConfig, state: dict[str, torch.Tensor]) -> None:
    """Every tensor of the network must be in the file with its shape, and nothing else;
    checked on the meta device, so lying widths never allocate."""
    with torch.device("meta"):
        expected = Encoder4Editing(config).state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        problems = ([f"missing encoder.{_few(missing)}"] if missing else []) + (
            [f"unexpected encoder.{_few(unexpected)}"] if unexpected else [])
        raise CheckpointError(path, "not an e4e (IR-SE-50) encoder this app can run: "
                              + "; ".join(problems))
    for key, tensor in expected.items():
        found = state[key]
        if tuple(found.shape) != tuple(tensor.shape):
            raise CheckpointError(path, f"encoder.{key} has shape {list(found.shape)}, "
                                        f"expected {list(tensor.shape)}")
        if found.is_floating_point() != tensor.is_floating_point():
            raise CheckpointError(path, f"encoder.{key} has dtype {found.dtype}, expected "
                                        f"{tensor.dtype}")


def _key_reason(exc: Exception) -> str:
    return f"missing encoder.{exc.args[0]}" if isinstance(exc, KeyError) else str(exc)


def _few(keys: list[str], limit: int = 4) -> str:
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", encoder.".join(keys[:limit]) + more
