"""Write encoder4editing checkpoints in the official layout, with seeded random weights.

The released `e4e_ffhq_encode.pt` is `torch.save({"state_dict": {"encoder.*", "decoder.*"},
"latent_avg": [18, 512], "opts": {...}})`. The key list below is written from e4e's
module structure (models/encoders/psp_encoders.py `Encoder4Editing` built as pSp does,
with the IR-SE-50 units of models/encoders/helpers.py); e4e's own code loads these
files with `strict=True` when the reference outputs in tests/data are made
(tests/data/README.md). It does not use SemEdit's encoder, so the two check each other.

Widths can be narrowed (the tests' tiny encoders); `REAL_WIDTHS` is the released model.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch

UNITS_PER_STAGE = (3, 4, 14, 3)
CONVS_PER_STYLE = (4, 4, 4, 5, 5, 5, 5)  # then 6 for every fine entry


@dataclass(frozen=True)
class EncoderWidths:
    stem: int
    stages: tuple[int, int, int, int]
    num_ws: int


REAL_WIDTHS = EncoderWidths(stem=64, stages=(64, 128, 256, 512), num_ws=18)
TINY_WIDTHS = EncoderWidths(stem=16, stages=(16, 32, 48, 64), num_ws=8)


def encoder_shapes(widths: EncoderWidths) -> OrderedDict[str, tuple[int, ...]]:
    """Every `encoder.*` key of the official checkpoint with its shape, in module order."""
    shapes: OrderedDict[str, tuple[int, ...]] = OrderedDict()

    def batch_norm(prefix: str, n: int) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{name}"] = (n,)
        shapes[f"{prefix}.num_batches_tracked"] = ()

    stem = widths.stem
    shapes["input_layer.0.weight"] = (stem, 3, 3, 3)
    batch_norm("input_layer.1", stem)
    shapes["input_layer.2.weight"] = (stem,)
    unit, in_width = 0, stem
    for width, count in zip(widths.stages, UNITS_PER_STAGE, strict=True):
        for _ in range(count):
            p = f"body.{unit}"
            if in_width != width:
                shapes[f"{p}.shortcut_layer.0.weight"] = (width, in_width, 1, 1)
                batch_norm(f"{p}.shortcut_layer.1", width)
            batch_norm(f"{p}.res_layer.0", in_width)
            shapes[f"{p}.res_layer.1.weight"] = (width, in_width, 3, 3)
            shapes[f"{p}.res_layer.2.weight"] = (width,)
            shapes[f"{p}.res_layer.3.weight"] = (width, width, 3, 3)
            batch_norm(f"{p}.res_layer.4", width)
            shapes[f"{p}.res_layer.5.fc1.weight"] = (width // 16, width, 1, 1)
            shapes[f"{p}.res_layer.5.fc2.weight"] = (width, width // 16, 1, 1)
            unit, in_width = unit + 1, width
    w = widths.stages[-1]
    for i in range(widths.num_ws):
        convs = CONVS_PER_STYLE[i] if i < len(CONVS_PER_STYLE) else 6
        for k in range(convs):
            shapes[f"styles.{i}.convs.{2 * k}.weight"] = (w, w, 3, 3)
            shapes[f"styles.{i}.convs.{2 * k}.bias"] = (w,)
        shapes[f"styles.{i}.linear.weight"] = (w, w)
        shapes[f"styles.{i}.linear.bias"] = (w,)
    shapes["latlayer1.weight"] = (w, widths.stages[2], 1, 1)
    shapes["latlayer1.bias"] = (w,)
    shapes["latlayer2.weight"] = (w, widths.stages[1], 1, 1)
    shapes["latlayer2.bias"] = (w,)
    return shapes


def random_encoder_state(widths: EncoderWidths, seed: int = 0) -> OrderedDict[str, torch.Tensor]:
    """Seeded random tensors for every key: fan-in scaled convs, BN statistics that are not
    the identity, PReLU slopes and biases that differ per channel, so a misplaced or
    dropped tensor changes the codes."""
    gen = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=gen)

    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, shape in encoder_shapes(widths).items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(1000, dtype=torch.int64)
        elif key.endswith("running_var"):
            state[key] = 0.5 + torch.rand(shape, generator=gen)
        elif key.endswith(("running_mean", "bias")):  # BN shifts and conv/linear biases
            state[key] = 0.1 * randn(*shape)
        elif len(shape) == 1:  # BN scale or PReLU slope
            is_prelu = key.startswith("input_layer.2") or key.endswith("res_layer.2.weight")
            state[key] = (0.25 if is_prelu else 1.0) + 0.1 * randn(*shape)
        elif key.endswith("linear.weight"):  # equalised: unit variance, scaled at run time
            state[key] = randn(*shape)
        else:
            fan_in = shape[1] * (shape[2] * shape[3] if len(shape) == 4 else 1)
            gain = 0.5 if ".res_layer.3." in key else 1.5 if ".convs." in key else 1.0
            state[key] = gain * randn(*shape) / fan_in**0.5
    return state


def random_latent_avg(widths: EncoderWidths, seed: int = 1) -> torch.Tensor:
    """[num_ws, w_dim] as training writes it: one mean code repeated for every entry."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(widths.stages[-1], generator=gen).repeat(widths.num_ws, 1)


def e4e_checkpoint(encoder_state: dict[str, torch.Tensor], latent_avg: torch.Tensor,
                   decoder_state: dict[str, torch.Tensor] | None = None,
                   stylegan_size: int = 1024) -> dict:
    """The dict `torch.save` writes in e4e's training (`Coach.__get_save_dict`)."""
    state = OrderedDict((f"encoder.{k}", v) for k, v in encoder_state.items())
    state.update((f"decoder.{k}", v) for k, v in (decoder_state or {}).items())
    opts = {"exp_dir": "experiment", "dataset_type": "ffhq_encode",
            "encoder_type": "Encoder4Editing", "batch_size": 8, "start_from_latent_avg": True,
            "stylegan_size": stylegan_size, "progressive_steps": [0] + [20000 + 2000 * i
                                                                     for i in range(17)],
            "lpips_lambda": 0.8, "checkpoint_path": None, "device": "cuda:0"}
    return {"state_dict": state, "latent_avg": latent_avg, "opts": opts}


def write_e4e(path: Path, widths: EncoderWidths = TINY_WIDTHS, *, seed: int = 0,
              latent_avg: torch.Tensor | None = None,
              decoder_state: dict[str, torch.Tensor] | None = None) -> Path:
    avg = random_latent_avg(widths) if latent_avg is None else latent_avg
    torch.save(e4e_checkpoint(random_encoder_state(widths, seed), avg, decoder_state), path)
    return path


def reference_input(batch: int = 2, seed: int = 5) -> torch.Tensor:
    """Smooth images in [-1, 1] (random images average out in the deep features)."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand((batch, 3, 8, 8), generator=gen) * 2 - 1
    fine = torch.nn.functional.interpolate(coarse, size=(256, 256), mode="bilinear",
                                           align_corners=False)
    return (fine + 0.1 * torch.randn((batch, 3, 256, 256), generator=gen)).clamp(-1, 1)
