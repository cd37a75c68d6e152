"""Our StyleGAN2 generator (NVIDIA config-f "skip" architecture) in plain torch.

Module and parameter names equal NVIDIA's `networks_stylegan2` state-dict names
(`mapping.fc0.weight`, `synthesis.b8.conv0.affine.bias`, ...), so a checkpoint's
tensors load with a strict `load_state_dict` and nothing can be silently dropped.

Three latent spaces are exposed:
- W / W+: `ws` of shape [N, num_ws, w_dim] (W repeats one row),
- S: the per-layer style vectors (each layer's affine output), see `StyleVectors`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn

from core.stylegan.ops import (
    LRELU_GAIN,
    bias_act,
    fir_filter_2d,
    modulated_conv2d,
    normalize_2nd_moment,
    upsample2d,
)

NoiseMode = Literal["const", "random", "none"]
# S space: layer name ("b4.conv1", "b8.torgb", ...) -> style vectors [N, C], in synthesis order.
StyleVectors = dict[str, torch.Tensor]


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything that determines the network's shape, as read from a checkpoint."""

    z_dim: int
    w_dim: int
    img_resolution: int
    channels: dict[int, int]  # feature maps per block resolution, 4 .. img_resolution
    img_channels: int = 3
    mapping_layers: int = 8
    mapping_hidden: int | None = None  # width of the hidden mapping layers; None = w_dim
    mapping_lr_multiplier: float = 0.01
    conv_clamp: float | None = None
    fp16_resolutions: frozenset[int] = field(default_factory=frozenset)  # used on CUDA only

    def __post_init__(self) -> None:
        res = self.img_resolution
        if res < 4 or res > 4096 or res & (res - 1):
            raise ValueError(f"resolution {res} is not a power of two between 4 and 4096")
        missing = [r for r in self.block_resolutions if r not in self.channels]
        if missing:
            raise ValueError(f"no channel count for block resolutions {missing}")

    @property
    def block_resolutions(self) -> list[int]:
        return [2**i for i in range(2, int(math.log2(self.img_resolution)) + 1)]

    @property
    def num_ws(self) -> int:
        return 2 * int(math.log2(self.img_resolution)) - 2

    @classmethod
    def config_f(cls, resolution: int, *, z_dim: int = 512, w_dim: int = 512,
                 channel_base: int = 32768, channel_max: int = 512) -> GeneratorConfig:
        """NVIDIA's StyleGAN2 config-f shape (FFHQ 1024: 30.0 M synthesis parameters)."""
        blocks = [2**i for i in range(2, int(math.log2(resolution)) + 1)]
        return cls(z_dim=z_dim, w_dim=w_dim, img_resolution=resolution,
                   channels={r: min(channel_base // r, channel_max) for r in blocks},
                   conv_clamp=256.0, fp16_resolutions=frozenset(blocks[-4:]))

    def to_dict(self) -> dict:
        d = self.__dict__.copy()
        d["channels"] = {str(k): v for k, v in self.channels.items()}
        d["fp16_resolutions"] = sorted(self.fp16_resolutions)
        return d


class FullyConnected(nn.Module):
    """Equalised-learning-rate linear layer (weights scaled at run time, not at init)."""

    def __init__(self, in_features: int, out_features: int, *, lrelu: bool, lr_multiplier=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.lrelu = lrelu
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype)
        if self.bias_gain != 1:
            b = b * self.bias_gain
        if not self.lrelu:
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, lrelu=True, gain=LRELU_GAIN)


class MappingNetwork(nn.Module):
    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.z_dim, self.w_dim, self.num_ws = cfg.z_dim, cfg.w_dim, cfg.num_ws
        hidden = cfg.mapping_hidden or cfg.w_dim
        widths = [cfg.z_dim] + [hidden] * (cfg.mapping_layers - 1) + [cfg.w_dim]
        self.num_layers = cfg.mapping_layers
        for i in range(cfg.mapping_layers):
            layer = FullyConnected(
                widths[i], widths[i + 1], lrelu=True, lr_multiplier=cfg.mapping_lr_multiplier
            )
            setattr(self, f"fc{i}", layer)
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def forward(
        self,
        z: torch.Tensor,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
    ) -> torch.Tensor:
        x = normalize_2nd_moment(z.to(torch.float32))
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        ws = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            rows = slice(None) if truncation_cutoff is None else slice(0, truncation_cutoff)
            ws[:, rows] = self.w_avg.lerp(ws[:, rows], truncation_psi)
        return ws


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (+2x up-sampling in conv0), noise, bias, leaky ReLU, clamp."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, resolution: int, *, up: bool,
                 conv_clamp: float | None):
        super().__init__()
        self.affine = FullyConnected(w_dim, in_ch, lrelu=False)
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.register_buffer("noise_const", torch.randn(resolution, resolution))
        self.register_buffer("resample_filter", fir_filter_2d())
        self.up, self.resolution, self.conv_clamp = up, resolution, conv_clamp

    def forward(self, x: torch.Tensor, styles: torch.Tensor, noise_mode: NoiseMode,
                fused: bool) -> torch.Tensor:
        noise = None
        if noise_mode == "random":
            shape = (x.shape[0], 1, self.resolution, self.resolution)
            noise = torch.randn(shape, device=x.device) * self.noise_strength
        elif noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up,
                             resample_filter=self.resample_filter, fused=fused)
        return bias_act(x, self.bias, lrelu=True, gain=LRELU_GAIN, clamp=self.conv_clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 conv to RGB without demodulation (the skip-architecture output)."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, *, conv_clamp: float | None):
        super().__init__()
        self.affine = FullyConnected(w_dim, in_ch, lrelu=False)
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        self.weight_gain = 1 / math.sqrt(in_ch)
        self.conv_clamp = conv_clamp

    def forward(self, x: torch.Tensor, styles: torch.Tensor, fused: bool) -> torch.Tensor:
        # S-space vectors are the raw affine outputs; the 1/sqrt(C) gain is the layer's own.
        x = modulated_conv2d(x, self.weight, styles * self.weight_gain, demodulate=False,
                             fused=fused)
        return bias_act(x, self.bias, lrelu=False, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, resolution: int, cfg: GeneratorConfig):
        super().__init__()
        self.resolution = resolution
        self.use_fp16 = resolution in cfg.fp16_resolutions
        if in_ch == 0:
            self.const = nn.Parameter(torch.randn(out_ch, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_ch, out_ch, cfg.w_dim, resolution, up=True,
                                        conv_clamp=cfg.conv_clamp)
        self.conv1 = SynthesisLayer(out_ch, out_ch, cfg.w_dim, resolution, up=False,
                                    conv_clamp=cfg.conv_clamp)
        self.torgb = ToRGBLayer(out_ch, cfg.img_channels, cfg.w_dim, conv_clamp=cfg.conv_clamp)
        self.register_buffer("resample_filter", fir_filter_2d())

    @property
    def is_first(self) -> bool:
        return not hasattr(self, "conv0")

    def conv_layers(self) -> list[tuple[str, SynthesisLayer]]:
        names = ["conv1"] if self.is_first else ["conv0", "conv1"]
        return [(n, getattr(self, n)) for n in names]

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, styles: StyleVectors,
                batch: int, noise_mode: NoiseMode, force_fp32: bool):
        on_cuda = self.torgb.weight.device.type == "cuda"
        dtype = torch.float16 if self.use_fp16 and on_cuda and not force_fp32 else torch.float32
        # NVIDIA's rule on CUDA; on CPU the shared-weight (unfused) conv measured up to
        # 1.6x faster for forward+backward and never slower (benchmarks/RESULTS.md).
        fused = on_cuda and (dtype == torch.float32 or batch == 1)
        prefix = f"b{self.resolution}."
        x = self.const.unsqueeze(0).repeat(batch, 1, 1, 1) if x is None else x
        x = x.to(dtype)
        for name, layer in self.conv_layers():
            x = layer(x, styles[prefix + name], noise_mode, fused)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        y = self.torgb(x, styles[prefix + "torgb"], fused).to(torch.float32)
        img = y if img is None else img + y
        return x, img


class SynthesisNetwork(nn.Module):
    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.w_dim, self.img_resolution, self.num_ws = cfg.w_dim, cfg.img_resolution, cfg.num_ws
        self.block_resolutions = cfg.block_resolutions
        for res in self.block_resolutions:
            in_ch = cfg.channels[res // 2] if res > 4 else 0
            setattr(self, f"b{res}", SynthesisBlock(in_ch, cfg.channels[res], res, cfg))
        self.style_layout = list(self._style_layout())

    def blocks(self) -> Iterator[SynthesisBlock]:
        for res in self.block_resolutions:
            yield getattr(self, f"b{res}")

    def _style_layout(self) -> Iterator[tuple[str, int, nn.Module]]:
        """(layer name, row of ws it reads, layer) in synthesis order.

        conv0 of each block re-uses the row of the previous block's toRGB; conv1 and
        toRGB take the next rows (NVIDIA's `ws.narrow(1, w_idx, num_conv + num_torgb)`).
        """
        row = 0
        for block in self.blocks():
            prefix = f"b{block.resolution}."
            for name, layer in block.conv_layers():
                yield prefix + name, row, layer
                row += 1
            yield prefix + "torgb", row, block.torgb

    @property
    def style_names(self) -> list[str]:
        return [name for name, _, _ in self.style_layout]

    def style_dims(self) -> dict[str, int]:
        return {name: layer.affine.weight.shape[0] for name, _, layer in self.style_layout}

    def compute_styles(self, ws: torch.Tensor) -> StyleVectors:
        """S space: each layer's affine output for the given W+ codes."""
        self._check_ws(ws)
        ws = ws.to(torch.float32)
        return {name: layer.affine(ws[:, row]) for name, row, layer in self.style_layout}

    def forward(
        self,
        ws: torch.Tensor | None = None,
        noise_mode: NoiseMode = "const",
        *,
        styles: StyleVectors | None = None,
        force_fp32: bool = False,
        return_styles: bool = False,
        max_resolution: int | None = None,
    ):
        """Render images [N, C, R, R] (NVIDIA range, about [-1, 1]) from W+ or from S.

        Pass `styles` (e.g. edited `compute_styles` output) to render from S space;
        `ws` is then not needed. With `return_styles=True` returns (images, styles).
        `max_resolution` (one of the block resolutions) stops after that block and returns
        the skip architecture's image accumulated so far, [N, C, r, r]: a fast low-resolution
        preview of the same picture (256² costs a fraction of a 1024² synthesis).
        """
        if noise_mode not in ("const", "random", "none"):
            raise ValueError(f"noise_mode must be const, random or none, not {noise_mode!r}")
        if styles is None:
            if ws is None:
                raise ValueError("synthesis needs ws or styles")
            styles = self.compute_styles(ws)
        else:
            self._check_styles(styles)
        if max_resolution is not None and max_resolution not in self.block_resolutions:
            raise ValueError(f"max_resolution must be one of {self.block_resolutions}, "
                             f"not {max_resolution!r}")
        batch = next(iter(styles.values())).shape[0]
        x = img = None
        for block in self.blocks():
            x, img = block(x, img, styles, batch, noise_mode, force_fp32)
            if block.resolution == max_resolution:
                break
        return (img, styles) if return_styles else img

    def _check_ws(self, ws: torch.Tensor) -> None:
        if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(
                f"ws must have shape [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}"
            )

    def _check_styles(self, styles: StyleVectors) -> None:
        dims = self.style_dims()
        if set(styles) != set(dims):
            raise ValueError(f"styles must have exactly the layers {list(dims)}")
        for name, dim in dims.items():
            if styles[name].ndim != 2 or styles[name].shape[1] != dim:
                raise ValueError(f"styles[{name!r}] must be [N, {dim}]")


class Generator(nn.Module):
    """Mapping + synthesis, with the attributes the rest of SemEdit relies on."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.config = cfg
        self.z_dim, self.w_dim = cfg.z_dim, cfg.w_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.num_ws = cfg.num_ws
        self.mapping = MappingNetwork(cfg)
        self.synthesis = SynthesisNetwork(cfg)
        # Filled in by the loader: where the weights came from.
        self.source_path: str | None = None
        self.source_sha256: str | None = None
        self.source_format: str | None = None

    @property
    def w_avg(self) -> torch.Tensor:
        return self.mapping.w_avg

    def forward(self, z: torch.Tensor, truncation_psi: float = 1.0,
                noise_mode: NoiseMode = "const", force_fp32: bool = False) -> torch.Tensor:
        ws = self.mapping(z, truncation_psi=truncation_psi)
        return self.synthesis(ws, noise_mode=noise_mode, force_fp32=force_fp32)

    @torch.no_grad()
    def estimate_w_avg(self, num_samples: int = 10_000, seed: int = 0,
                       batch: int = 2_000) -> torch.Tensor:
        """Mean of mapped random z, for checkpoints that do not store w_avg."""
        gen = torch.Generator().manual_seed(seed)
        total = torch.zeros(self.w_dim, dtype=torch.float64)
        done = 0
        device = self.w_avg.device
        while done < num_samples:
            n = min(batch, num_samples - done)
            z = torch.randn(n, self.z_dim, generator=gen).to(device)
            total += self.mapping(z)[:, 0].sum(0).double().cpu()
            done += n
        return (total / num_samples).float()


def uint8_to_images(rgb: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 [H, W, 3] -> float [1, 3, H, W] in [-1, 1]; the inverse of images_to_uint8."""
    x = torch.from_numpy(np.ascontiguousarray(rgb)).to(device=device, dtype=torch.float32)
    return (x.permute(2, 0, 1).unsqueeze(0) / 127.5) - 1.0


def quantised_images(images: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] in about [-1, 1] -> uint8 [N, H, W, C] on the same device."""
    x = (images.detach().float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1)


def images_to_uint8(images: torch.Tensor) -> np.ndarray:
    """[N, C, H, W] in about [-1, 1] -> uint8 [N, H, W, C] on the host."""
    return quantised_images(images).cpu().numpy()
