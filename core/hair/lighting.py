"""Relighting the transferred hair to the identity photo's lighting.

Lighting is read off the face skin of both photos, the one surface they share: the ratio
of the skin's mean log-luminance gives the exposure gain, the ratio of its spread the
lighting contrast (how hard the shading is). Applied to the hair in linear light as

    Y' = Y · gain · (Y / pivot)^(contrast − 1),   RGB' = RGB · Y' / Y

(pivot: the hair photo's mean skin luminance), every pixel's channels are scaled by one
factor, so their ratios — hue and saturation, the hair colour itself — are unchanged;
only how brightly and how contrastily it is lit changes. Both factors are clamped to a
range that lighting explains (`MAX_GAIN`, `MAX_CONTRAST`): larger skin differences come
from the people, not the light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from core.errors import InvalidInputError

MAX_GAIN = 2.0  # exposure differences beyond ±1 stop are not trusted to be lighting
MAX_CONTRAST = 1.25
MIN_SKIN_PIXELS = 16
_LUMA = (0.2126, 0.7152, 0.0722)  # Rec. 709 / sRGB primaries
_EPS = 1e-4


@dataclass(frozen=True)
class Lighting:
    """How to relight the hair photo's pixels to the identity photo's lighting."""

    gain: float = 1.0
    contrast: float = 1.0
    pivot: float = 0.18  # linear luminance the contrast turns around

    @property
    def identity(self) -> bool:
        return self.gain == 1.0 and self.contrast == 1.0

    def to_json(self) -> dict:
        return {"gain": round(self.gain, 4), "contrast": round(self.contrast, 4),
                "pivot": round(self.pivot, 4)}


def srgb_to_linear(x: np.ndarray | torch.Tensor):
    """sRGB values in [0, 1] to linear light (the exact piecewise curve)."""
    if isinstance(x, torch.Tensor):
        return torch.where(x <= 0.04045, x / 12.92, ((x.clamp(min=0) + 0.055) / 1.055) ** 2.4)
    return np.where(x <= 0.04045, x / 12.92, ((np.maximum(x, 0) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray | torch.Tensor):
    if isinstance(x, torch.Tensor):
        x = x.clamp(min=0)
        return torch.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)
    x = np.maximum(x, 0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)


def skin_statistics(rgb: np.ndarray, skin: np.ndarray) -> tuple[float, float] | None:
    """(mean, standard deviation) of log linear luminance over the skin mask (soft
    weights), or None when the mask holds fewer than `MIN_SKIN_PIXELS` pixels."""
    rgb = np.asarray(rgb)
    weights = np.asarray(skin, np.float64)
    if rgb.ndim != 3 or rgb.shape[:2] != weights.shape:
        raise InvalidInputError("The skin mask must have the image's height and width.")
    if float(weights.sum()) < MIN_SKIN_PIXELS:
        return None
    linear = srgb_to_linear(rgb.astype(np.float64) / 255.0)
    log_y = np.log(linear @ np.array(_LUMA) + _EPS)
    mean = float((log_y * weights).sum() / weights.sum())
    spread = math.sqrt(float(((log_y - mean) ** 2 * weights).sum() / weights.sum()))
    return mean, spread


def lighting_between(identity_rgb: np.ndarray, identity_skin: np.ndarray,
                     hair_rgb: np.ndarray, hair_skin: np.ndarray) -> Lighting | None:
    """The relighting that takes the hair photo's skin to the identity photo's, or None
    when either photo shows too little skin to tell."""
    ref = skin_statistics(identity_rgb, identity_skin)
    src = skin_statistics(hair_rgb, hair_skin)
    if ref is None or src is None:
        return None
    gain = float(np.clip(math.exp(ref[0] - src[0]), 1 / MAX_GAIN, MAX_GAIN))
    contrast = 1.0 if src[1] < 1e-6 else float(np.clip(ref[1] / src[1], 1 / MAX_CONTRAST,
                                                       MAX_CONTRAST))
    return Lighting(gain, contrast, pivot=math.exp(src[0]))


def relight(images: torch.Tensor, lighting: Lighting) -> torch.Tensor:
    """Images [N, 3, H, W] in [-1, 1] relit (see the module docstring)."""
    if lighting.identity:
        return images.clone()
    linear = srgb_to_linear(((images + 1) / 2).clamp(0, 1))
    luma = torch.tensor(_LUMA, dtype=linear.dtype, device=linear.device).reshape(1, 3, 1, 1)
    y = (linear * luma).sum(1, keepdim=True).clamp(min=_EPS)
    y_new = y * lighting.gain * (y / lighting.pivot) ** (lighting.contrast - 1.0)
    relit = linear * (y_new / y)
    # A channel pushed past white is clipped; the others keep the same factor.
    return (linear_to_srgb(relit.clamp(0, 1)) * 2 - 1).to(images.dtype)


def chroma(images: torch.Tensor) -> torch.Tensor:
    """Per-pixel channel proportions in linear light, [N, 3, H, W] (sum 1): the colour with
    its brightness divided out. Relighting leaves it unchanged (up to clipping)."""
    linear = srgb_to_linear(((images + 1) / 2).clamp(0, 1)) + 1e-7
    return linear / linear.sum(1, keepdim=True)
