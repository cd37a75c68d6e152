"""Pure-torch building blocks of the StyleGAN2 generator.

These reproduce the numerics of NVIDIA's reference ops (bias_act, upfirdn2d,
conv2d_resample, modulated_conv2d) without any compiled extension. Only the
cases the StyleGAN2 generator uses are implemented: 2x up-sampling with a
separable low-pass FIR filter, 3x3 and 1x1 convolutions, leaky ReLU and linear.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)  # keeps activations at unit variance after leaky ReLU


def fir_filter_2d(taps: list[float] | tuple[float, ...] = (1, 3, 3, 1)) -> torch.Tensor:
    """The normalised 2-D outer product of a 1-D FIR kernel (sums to 1)."""
    f1 = torch.as_tensor(taps, dtype=torch.float32)
    f2 = f1[:, None] * f1[None, :]
    return f2 / f2.sum()


def bias_act(
    x: torch.Tensor,
    bias: torch.Tensor | None,
    *,
    lrelu: bool,
    gain: float = 1.0,
    clamp: float | None = None,
) -> torch.Tensor:
    """Add a per-channel bias, apply leaky ReLU (or nothing), scale, clamp."""
    if bias is not None:
        x = x + bias.to(x.dtype).reshape([1, -1] + [1] * (x.ndim - 2))
    if lrelu:
        x = F.leaky_relu(x, LRELU_SLOPE)
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def _fir(x: torch.Tensor, f: torch.Tensor, pad: tuple[int, int, int, int], gain: float):
    """Pad (left, right, top, bottom) then filter every channel with the 2-D kernel `f`.

    The kernels used here are symmetric, so correlation equals convolution.
    """
    channels = x.shape[1]
    x = F.pad(x, list(pad))
    kernel = (f * gain).to(x.dtype)[None, None].expand(channels, 1, *f.shape)
    return F.conv2d(x, kernel, groups=channels)


def upsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """2x up-sampling with the FIR low-pass; gain 4 keeps the mean.

    Equal to NVIDIA's zero insertion + pad (2, 1) + filter: for a symmetric 4-tap
    kernel that is a stride-2 transposed convolution shifted by one pixel, which
    skips the multiplications by the inserted zeros.
    """
    n, c, h, w = x.shape
    kernel = (f * 4.0).to(x.dtype)[None, None]
    y = F.conv_transpose2d(x.reshape(n * c, 1, h, w), kernel, stride=2)
    return y[:, :, 1 : 2 * h + 1, 1 : 2 * w + 1].reshape(n, c, 2 * h, 2 * w)


def conv2d_up2(x: torch.Tensor, weight: torch.Tensor, f: torch.Tensor, groups: int = 1):
    """3x3 convolution at twice the resolution: strided transposed conv + FIR (NVIDIA's order).

    `weight` is [out, in/groups, k, k] as for a normal convolution; the transposed
    convolution wants in and out swapped within each group.
    """
    out_channels, in_per_group, kh, kw = weight.shape
    w = weight.reshape(groups, out_channels // groups, in_per_group, kh, kw)
    w = w.transpose(1, 2).reshape(groups * in_per_group, out_channels // groups, kh, kw)
    x = F.conv_transpose2d(x, w, stride=2, groups=groups)
    fw = f.shape[-1]
    # After the transposed conv the image is 2H+k-2 wide; the FIR trims it back to 2H.
    pad0 = (fw + 1) // 2 - (kw - 1) + kw // 2
    pad1 = (fw - 2) // 2 - (kw - 2) + kw // 2
    return _fir(x, f, (pad0, pad1, pad0, pad1), gain=4.0)


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    *,
    noise: torch.Tensor | None = None,
    up: bool = False,
    demodulate: bool = True,
    resample_filter: torch.Tensor | None = None,
    fused: bool = True,
) -> torch.Tensor:
    """StyleGAN2's modulated convolution with optional weight demodulation.

    fused=True folds the per-sample styles into a grouped convolution (one conv
    call for the batch); fused=False modulates activations instead, which is what
    NVIDIA uses for fp16 at batch > 1. Both give the same result to ~1e-6.
    """
    batch = x.shape[0]
    _, in_channels, kh, kw = weight.shape

    if x.dtype == torch.float16 and demodulate:
        # Pre-normalise so the fp16 products below cannot overflow (as NVIDIA does).
        weight = weight * (
            1 / math.sqrt(in_channels * kh * kw)
            / weight.norm(float("inf"), dim=[1, 2, 3], keepdim=True)
        )
        styles = styles / styles.norm(float("inf"), dim=1, keepdim=True)

    w = weight.unsqueeze(0) * styles.reshape(batch, 1, -1, 1, 1)
    dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt() if demodulate else None

    if not fused:
        x = x * styles.to(x.dtype).reshape(batch, -1, 1, 1)
        x = _conv(x, weight.to(x.dtype), up=up, f=resample_filter, groups=1)
        if dcoefs is not None:
            x = x * dcoefs.to(x.dtype).reshape(batch, -1, 1, 1)
        if noise is not None:
            x = x + noise.to(x.dtype)
        return x

    if dcoefs is not None:
        w = w * dcoefs.reshape(batch, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])
    w = w.reshape(-1, in_channels, kh, kw).to(x.dtype)
    x = _conv(x, w, up=up, f=resample_filter, groups=batch)
    x = x.reshape(batch, -1, *x.shape[2:])
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x


def _conv(x, w, *, up: bool, f: torch.Tensor | None, groups: int) -> torch.Tensor:
    if up:
        assert f is not None, "up-sampling needs the resample filter"
        return conv2d_up2(x, w, f, groups=groups)
    return F.conv2d(x, w, padding=w.shape[-1] // 2, groups=groups)
