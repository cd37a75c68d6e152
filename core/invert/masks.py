"""Chunk masks during inversion: fixed, or optimised jointly with the codes.

Coverage modes:
- "edit_regions" (default for artists): O = Σ G(z_i)·s_i + I·(1 − Σ s_i). Pixels that no
  chunk touches keep the photo exactly. Mask optimisation may move the borders *between*
  chunks, never the outline of the painted region, so the untouched pixels stay exact.
- "whole_image" (the paper's evaluation): the chunks partition the image, Σ s_i = 1.

Optimised masks are logits on a coarse grid (ChunkyGAN's low-resolution masks), turned
into a partition with a softmax over chunks, up-sampled and smoothed; a penalty keeps
them near the user's masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import InvalidInputError

Coverage = Literal["edit_regions", "whole_image"]
COVERAGES: tuple[str, ...] = ("edit_regions", "whole_image")
_EPS = 1e-4


def check_masks(masks: torch.Tensor, resolution: int) -> torch.Tensor:
    """[n, R, R] float masks in [0, 1]; clear errors for anything else."""
    if masks.ndim != 3 or masks.shape[0] < 1:
        raise InvalidInputError(f"Masks must be [n, {resolution}, {resolution}] with n ≥ 1, "
                                f"got {list(masks.shape)}.")
    if masks.shape[1:] != (resolution, resolution):
        raise InvalidInputError(f"Masks are {masks.shape[2]}x{masks.shape[1]} but the generator "
                                f"works at {resolution}x{resolution}; resize them first.")
    if not torch.isfinite(masks).all():
        raise InvalidInputError("A mask contains NaN or infinite values.")
    empty = [i for i in range(masks.shape[0]) if float(masks[i].max()) <= 0]
    if empty:  # the workflows name the chunks first (check_chunks_not_empty); numbers here
        raise InvalidInputError(empty_chunks_sentence([str(i + 1) for i in empty]))
    return masks.float().clamp(0, 1)


def check_chunks_not_empty(names: Sequence[str], used: Sequence[np.ndarray],
                           painted: Sequence[np.ndarray]) -> None:
    """Refuse chunks the inversion would have nothing to fit, naming them as the user
    sees them: `used` are the masks after overlaps are settled (what the inversion
    fits), `painted` the masks as painted, bottom to top. A chunk painted but entirely
    under the chunks above it is said to be covered, not empty."""
    def blank(mask) -> bool:
        return float(np.max(mask, initial=0.0)) <= 0

    empty = [f"'{name}'" for name, own in zip(names, painted, strict=True) if blank(own)]
    covered = [f"'{name}'" for name, mask, own in zip(names, used, painted, strict=True)
               if blank(mask) and not blank(own)]
    if empty or covered:
        raise InvalidInputError(empty_chunks_sentence(empty, covered))


def empty_chunks_sentence(empty: Sequence[str], covered: Sequence[str] = ()) -> str:
    """"Chunk 'hair' is empty; paint it or remove it." for chunks given as the user sees
    them (a quoted name, or a number); `covered`: chunks hidden by the chunks above."""
    parts = []
    if empty:
        one = len(empty) == 1
        parts.append(f"{_chunks(empty)} {'is' if one else 'are'} empty; paint "
                     f"{'it or remove it' if one else 'them or remove them'}")
    if covered:
        one = len(covered) == 1
        remedy = "it up or remove it" if one else "them up or remove them"
        parts.append(f"{_chunks(covered)} {'is' if one else 'are'} entirely covered by the "
                     f"chunks above; move {remedy}")
    return "; ".join(parts) + "."


def _chunks(labels: Sequence[str]) -> str:
    """"Chunk 'a'", "Chunks 'a' and 'b'", "Chunks 1, 2 and 3"."""
    labels = list(labels)
    if len(labels) == 1:
        return f"Chunk {labels[0]}"
    return f"Chunks {', '.join(labels[:-1])} and {labels[-1]}"


def normalised(masks: torch.Tensor, coverage: Coverage) -> torch.Tensor:
    """User masks as weights: overlaps share, and whole_image fills uncovered pixels evenly."""
    total = masks.sum(0, keepdim=True)
    if coverage == "edit_regions":
        return masks / total.clamp(min=1.0)
    uniform = torch.full_like(masks, 1.0 / masks.shape[0])
    return torch.where(total > 0, masks / total.clamp(min=_EPS), uniform)


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 0:
        return x
    radius = max(1, round(2 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, [radius, radius, 0, 0], mode="replicate"),
                 k.reshape(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, [0, 0, radius, radius], mode="replicate"),
                    k.reshape(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


class ChunkMasks(nn.Module):
    """Produces the per-chunk weights s_i [n, 1, R, R] and the photo's weight [1, 1, R, R]."""

    def __init__(self, user_masks: torch.Tensor, coverage: Coverage, *, optimise: bool,
                 grid: int = 64, smooth_sigma: float = 1.0):
        super().__init__()
        if coverage not in COVERAGES:
            raise InvalidInputError(f"Unknown coverage {coverage!r}; use one of {COVERAGES}.")
        self.coverage, self.optimise = coverage, optimise
        self.resolution = user_masks.shape[-1]
        self.grid = min(grid, self.resolution)
        self.smooth_sigma = smooth_sigma
        self.register_buffer("user", normalised(user_masks, coverage).unsqueeze(1))
        union = user_masks.sum(0, keepdim=True).clamp(max=1.0).unsqueeze(1)
        self.register_buffer("union", union if coverage == "edit_regions" else torch.ones_like(
            union))
        coarse = F.interpolate(self.user, size=(self.grid, self.grid), mode="area")
        shares = coarse / coarse.sum(0, keepdim=True).clamp(min=_EPS)
        shares = torch.where(coarse.sum(0, keepdim=True) > _EPS, shares,
                             torch.full_like(shares, 1.0 / shares.shape[0]))
        self.logits = nn.Parameter(shares.clamp(_EPS, 1.0).log().squeeze(1).clone(),
                                   requires_grad=optimise)

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.optimise:
            chunk = self.user
        else:
            shares = torch.softmax(self.logits, dim=0).unsqueeze(1)
            shares = F.interpolate(shares, size=(self.resolution,) * 2, mode="bilinear",
                                   align_corners=False)
            shares = _blur(shares, self.smooth_sigma * self.resolution / 256)
            chunk = shares * self.union
        photo = 1.0 - chunk.sum(0, keepdim=True)
        if self.coverage == "whole_image":
            photo = torch.zeros_like(photo)
        return chunk, photo.clamp(min=0.0)

    def penalty(self, chunk: torch.Tensor) -> torch.Tensor:
        """How far the optimised masks drifted from the user's (mean squared)."""
        return (chunk - self.user).square().mean()


def composite(images: torch.Tensor, chunk: torch.Tensor, photo_weight: torch.Tensor,
              target: torch.Tensor) -> torch.Tensor:
    """O = Σ_i G(z_i)·s_i + I·s_photo, [1, C, R, R]."""
    return (images * chunk).sum(0, keepdim=True) + target * photo_weight
