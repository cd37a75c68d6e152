"""encoder4editing (Tov et al., SIGGRAPH 2021): an aligned face to a W+ code in one pass.

The network is e4e's `Encoder4Editing` as its training framework (pSp) builds it: an
IR-SE-50 backbone (four stages of 3, 4, 14 and 3 residual units with squeeze-excitation),
a feature pyramid over the outputs of stages 2, 3 and 4, and one "gradual style block"
per W+ entry. Entry 0 is the base code, copied to every entry; every other entry adds a
delta computed from the coarse (entries 1-2), middle (3-6) or fine (7+) pyramid level.
The trained `latent_avg` is added last. Training unlocks the deltas stage by stage; the
stage is not stored in the checkpoint, and inference (e4e's `ProgressiveStage.Inference`)
uses every delta. Module and parameter names follow the official
checkpoint's `encoder.*` keys so its state dict loads as it is.

Widths are read from the tensors (the tests use narrow copies); the unit counts, strides,
pyramid taps and conv counts are fixed by the architecture, as in e4e itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from core.errors import InvalidInputError

INPUT_SIZE = 256
UNITS_PER_STAGE = (3, 4, 14, 3)  # IR-50
SE_REDUCTION = 16
COARSE_END, MIDDLE_END = 3, 7  # W+ entries [0,3) coarse, [3,7) middle, the rest fine
# A style block halves its input until 1x1: log2 of the level's side at a 256 input.
CONVS_PER_LEVEL = {"coarse": 4, "middle": 5, "fine": 6}
# Backbone units after which the pyramid taps its three levels (stage ends).
_TAP_FINE, _TAP_MIDDLE = UNITS_PER_STAGE[0] + UNITS_PER_STAGE[1] - 1, sum(UNITS_PER_STAGE[:3]) - 1


@dataclass(frozen=True)
class E4EConfig:
    """What the tensors tell: the widths, and how many W+ entries the encoder predicts."""

    stem_width: int  # 64 in the release
    stage_widths: tuple[int, int, int, int]  # (64, 128, 256, 512)
    num_ws: int  # 18 for a 1024x1024 generator

    @property
    def w_dim(self) -> int:
        return self.stage_widths[-1]  # the style blocks keep the last stage's width


def style_level(index: int) -> str:
    return "coarse" if index < COARSE_END else "middle" if index < MIDDLE_END else "fine"


class _SqueezeExcite(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        hidden = channels // SE_REDUCTION
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=False)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3), keepdim=True))))
        return x * torch.sigmoid(gate)


class _ResidualUnit(nn.Module):
    """IR-SE bottleneck: BN, 3x3 conv, PReLU, strided 3x3 conv, BN, SE; plus a shortcut
    that is a projection when the width changes and plain subsampling otherwise."""

    def __init__(self, in_width: int, width: int, stride: int):
        super().__init__()
        self.stride = stride
        self.shortcut_layer = None
        if in_width != width:
            self.shortcut_layer = nn.Sequential(
                nn.Conv2d(in_width, width, 1, stride, bias=False), nn.BatchNorm2d(width))
        self.res_layer = nn.Sequential(
            nn.BatchNorm2d(in_width),
            nn.Conv2d(in_width, width, 3, 1, 1, bias=False),
            nn.PReLU(width),
            nn.Conv2d(width, width, 3, stride, 1, bias=False),
            nn.BatchNorm2d(width),
            _SqueezeExcite(width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shortcut_layer is None:
            shortcut = x[:, :, ::self.stride, ::self.stride]  # a 1x1 max-pool with stride
        else:
            shortcut = self.shortcut_layer(x)
        return self.res_layer(x) + shortcut


class _EqualLinear(nn.Module):
    """rosinality's equalised linear layer at lr multiplier 1: the weight is scaled by
    1/sqrt(fan_in) at run time, so the stored weight is unit-variance."""

    def __init__(self, width: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(width, width))
        self.bias = nn.Parameter(torch.empty(width))
        self.scale = 1.0 / math.sqrt(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class _StyleBlock(nn.Module):
    """Strided 3x3 convs (leaky ReLU, slope 0.01) down to 1x1, then an equalised linear."""

    def __init__(self, width: int, num_convs: int):
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(num_convs):
            layers += [nn.Conv2d(width, width, 3, 2, 1), nn.LeakyReLU(0.01)]
        self.convs = nn.Sequential(*layers)
        self.linear = _EqualLinear(width)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.convs(features)
        if x.shape[2:] != (1, 1):
            raise InvalidInputError(f"the encoder's features end at {tuple(x.shape[2:])}, "
                                    "not 1x1: the input is not 256x256")
        return self.linear(x.flatten(1))


def _upsample_add(top: torch.Tensor, lateral: torch.Tensor) -> torch.Tensor:
    return F.interpolate(top, size=lateral.shape[2:], mode="bilinear",
                         align_corners=True) + lateral


class Encoder4Editing(nn.Module):
    """e4e's encoder proper: images [N,3,256,256] in [-1,1] -> codes relative to
    `latent_avg`, [N, num_ws, w_dim]."""

    def __init__(self, config: E4EConfig):
        super().__init__()
        self.config = config
        stem = config.stem_width
        self.input_layer = nn.Sequential(
            nn.Conv2d(3, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem), nn.PReLU(stem))
        units = []
        in_width = stem
        for width, count in zip(config.stage_widths, UNITS_PER_STAGE, strict=True):
            for k in range(count):
                units.append(_ResidualUnit(in_width, width, 2 if k == 0 else 1))
                in_width = width
        self.body = nn.Sequential(*units)
        w_dim = config.w_dim
        self.styles = nn.ModuleList(
            _StyleBlock(w_dim, CONVS_PER_LEVEL[style_level(i)]) for i in range(config.num_ws))
        self.latlayer1 = nn.Conv2d(config.stage_widths[2], w_dim, 1)
        self.latlayer2 = nn.Conv2d(config.stage_widths[1], w_dim, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.input_layer(images)
        for index, unit in enumerate(self.body):
            x = unit(x)
            if index == _TAP_FINE:
                fine_lateral = x
            elif index == _TAP_MIDDLE:
                middle_lateral = x
        coarse = x
        base = self.styles[0](coarse)
        codes = base[:, None, :].repeat(1, self.config.num_ws, 1)
        features = coarse
        for i in range(1, self.config.num_ws):
            if i == COARSE_END:
                features = middle = _upsample_add(coarse, self.latlayer1(middle_lateral))
            elif i == MIDDLE_END:
                features = _upsample_add(middle, self.latlayer2(fine_lateral))
            codes[:, i] += self.styles[i](features)
        return codes


def config_from_state(state: dict[str, torch.Tensor]) -> E4EConfig:
    """The widths and W+ length of an `encoder.*` state dict (prefix removed).

    Raises KeyError/ValueError when a tensor the architecture needs is missing or has
    the wrong number of dimensions; full shapes are checked by the caller.
    """
    stem = _shape(state, "input_layer.0.weight", 4)[0]
    starts = np.cumsum((0, *UNITS_PER_STAGE[:-1]))
    widths = tuple(_shape(state, f"body.{int(s)}.res_layer.1.weight", 4)[0] for s in starts)
    style_ids = sorted(int(m.group(1)) for key in state
                       if (m := re.fullmatch(r"styles\.(\d+)\.linear\.weight", key)))
    if not style_ids or style_ids != list(range(len(style_ids))):
        raise ValueError("style blocks missing or not numbered styles.0..N")
    if stem < 1 or min(widths) < SE_REDUCTION:
        raise ValueError(f"widths {stem}, {list(widths)} are too narrow (each stage needs at "
                         f"least {SE_REDUCTION} channels for its squeeze-excitation)")
    return E4EConfig(stem_width=stem, stage_widths=widths,  # type: ignore[arg-type]
                     num_ws=len(style_ids))


def _shape(state: dict[str, torch.Tensor], key: str, ndim: int) -> tuple[int, ...]:
    tensor = state[key]
    if not isinstance(tensor, torch.Tensor) or tensor.ndim != ndim:
        raise ValueError(f"{key} is not a {ndim}-d tensor")
    return tuple(tensor.shape)


class E4EEncoder(nn.Module):
    """The loaded encoder: `encoder(images)` gives W+ codes with `latent_avg` added."""

    input_size = INPUT_SIZE

    def __init__(self, network: Encoder4Editing, latent_avg: torch.Tensor):
        super().__init__()
        self.network = network
        self.num_ws = network.config.num_ws
        self.w_dim = network.config.w_dim
        # Stored [num_ws, w_dim] by training, [w_dim] by some exports: the same sum.
        self.register_buffer("latent_avg", latent_avg.expand(self.num_ws, self.w_dim).clone())
        self.source_path: str | None = None
        self.source_sha256: str | None = None

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        size = self.input_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, size, size):
            raise InvalidInputError(f"The encoder takes images of shape [N, 3, {size}, {size}]; "
                                    f"got {list(images.shape)}.")
        images = images.to(self.latent_avg.device, torch.float32)
        return self.network(images) + self.latent_avg


def encoder_input(image: Image.Image | np.ndarray, size: int = INPUT_SIZE) -> torch.Tensor:
    """An aligned face (RGB PIL image or uint8 HxWx3 array) as the encoder's input
    [1,3,size,size] in [-1,1], resized as e4e's inference transform does (torchvision's
    Resize on a PIL image, i.e. Pillow's bilinear filter, then ToTensor and Normalize 0.5)."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise InvalidInputError("The encoder takes an RGB image as a uint8 HxWx3 array; got "
                                    f"{image.dtype} {list(image.shape)}.")
        image = Image.fromarray(image, "RGB")
    image = image.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32).copy()) / 255.0
    return ((pixels - 0.5) / 0.5).permute(2, 0, 1)[None]
