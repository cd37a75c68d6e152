"""The short joint refinement of the new hair code and the hair mask's boundary.

Variables: the pose-corrected hair code, the hair mask (free only within a band around
its starting outline: logits on a coarse grid, as ChunkyGAN's optimised masks), and the
identity photo's codes that regenerate its uncovered old hair (kept near their inversion).
Loss, on the composite O of `core.hair.compose` (without the photo):

- inside the new hair mask: LPIPS (and/or L2) to the pose-corrected, relit hair;
- outside both hair regions: LPIPS to the identity photo, and the face parts pixel by
  pixel too (identity kept);
- where old hair is uncovered: coarse L2 to the identity photo with its hair inpainted
  from the surroundings (so no old hair shows through: a ghost would not match it);
- the codes stay near where they started, the mask near its starting outline.

Region losses compare masked images (LPIPS of image·mask), as hair-transfer methods do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from core.errors import InvalidInputError, ModelMissingError
from core.hair.compose import compose
from core.invert.losses import LOSS_KINDS, VGG_MISSING, LossKind, Lpips, to_loss_resolution
from core.invert.schedule import LrSchedule
from core.latents.codes import ChunkCode, CodeSpace

INPAINT_SIDE = 256  # the hair-free target is coarse anyway: inpaint on a copy this size
COARSE_GRID = 32  # the regenerated region is compared on a grid this fine


class RegionLoss:
    """LPIPS and/or L2 between images inside soft regions, for several pairs at once (one
    batched LPIPS call: on a GPU the pairs cost little more than one)."""

    def __init__(self, kind: LossKind, lpips: Lpips | None):
        if kind not in LOSS_KINDS:
            raise InvalidInputError(f"Unknown loss {kind!r}; choose one of {LOSS_KINDS}.")
        if "lpips" in kind and lpips is None:
            raise ModelMissingError(VGG_MISSING)
        self.kind, self.lpips = kind, lpips

    def __call__(self, pairs: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
                 ) -> list[torch.Tensor]:
        """One loss per (output [1, C, R, R], target, region [R, R])."""
        regions = [r.reshape(1, 1, *r.shape[-2:]) for _, _, r in pairs]
        values = [pairs[0][0].new_zeros(()) for _ in pairs]
        if "lpips" in self.kind and self.lpips is not None:
            a = torch.cat([o * w for (o, _, _), w in zip(pairs, regions, strict=True)])
            b = torch.cat([t * w for (_, t, _), w in zip(pairs, regions, strict=True)])
            each = self.lpips.net(to_loss_resolution(a), to_loss_resolution(b)).reshape(-1)
            values = [v + each[i] for i, v in enumerate(values)]
        if "l2" in self.kind:
            values = [v + masked_l2(o, t, w)
                      for v, (o, t, _), w in zip(values, pairs, regions, strict=True)]
        return values


def masked_l2(output: torch.Tensor, target: torch.Tensor, region: torch.Tensor
              ) -> torch.Tensor:
    """Mean squared difference inside a soft region."""
    w = region.reshape(1, 1, *region.shape[-2:])
    area = (w.sum() * output.shape[1]).clamp(min=1.0)
    return ((output - target).square() * w).sum() / area


def coarse_l2(output: torch.Tensor, target: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of area-averaged images inside `region` (on a coarse grid)."""
    size = output.shape[-1]
    factor = max(size // COARSE_GRID, 1)
    w = region.reshape(1, 1, *region.shape[-2:])
    if factor > 1:
        output, target = F.avg_pool2d(output, factor), F.avg_pool2d(target, factor)
        w = F.avg_pool2d(w, factor)
    area = (w.sum() * output.shape[1]).clamp(min=1e-6)
    return ((output - target).square() * w).sum() / area


def inpaint_hair(rgb: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The image with `region` (soft, ≥ 0.5 counts) filled from its surroundings (uint8)."""
    size = rgb.shape[0]
    scale = min(1.0, INPAINT_SIDE / size)
    small_side = max(round(size * scale), 1)
    small = cv2.resize(rgb, (small_side, small_side), interpolation=cv2.INTER_AREA) \
        if scale < 1 else np.ascontiguousarray(rgb)
    hole = cv2.resize((np.asarray(region) >= 0.5).astype(np.uint8), (small_side, small_side),
                      interpolation=cv2.INTER_NEAREST) if scale < 1 else \
        (np.asarray(region) >= 0.5).astype(np.uint8)
    if not hole.any():
        return np.ascontiguousarray(rgb).copy()
    if hole.all():
        filled = np.empty_like(small)
        filled[:] = np.asarray(rgb, np.float64).reshape(-1, 3).mean(0).astype(np.uint8)
    else:
        hole = cv2.dilate(hole, np.ones((3, 3), np.uint8))
        filled = cv2.inpaint(small, hole, max(3, small_side // 64), cv2.INPAINT_TELEA)
    if scale < 1:
        filled = cv2.resize(filled, (size, size), interpolation=cv2.INTER_LINEAR)
    return filled


def band_limits(mask: torch.Tensor, band_px: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(eroded, dilated) mask by a square of half-width `band_px`: where the outline may go."""
    m = mask.reshape(1, 1, *mask.shape[-2:])
    if band_px < 1:
        return mask.clone(), mask.clone()
    k = 2 * band_px + 1
    dilated = F.max_pool2d(m, k, stride=1, padding=band_px)
    eroded = -F.max_pool2d(-m, k, stride=1, padding=band_px)
    return eroded[0, 0], dilated[0, 0]


@dataclass(frozen=True)
class RefineWeights:
    hair: float = 1.0
    identity: float = 0.5
    regenerate: float = 1.0
    hair_code: float = 0.1
    codes: float = 1.0
    mask: float = 1.0


class JointRefinement:
    """Adam on the hair code, the mask logits and the regenerating codes; one `step()` at
    a time (the job drives it, so it stops between steps)."""

    def __init__(self, code_space: CodeSpace, hair_code: ChunkCode,
                 other_codes: Sequence[ChunkCode], trainable: Sequence[bool],
                 other_images: torch.Tensor, partition: torch.Tensor,
                 hair_mask: torch.Tensor, hair_target: torch.Tensor, photo: torch.Tensor,
                 clean: torch.Tensor, old_hair: torch.Tensor, face: torch.Tensor,
                 loss: RegionLoss, *, steps: int, learning_rate: float,
                 mask_learning_rate: float, band_px: int, mask_grid: int,
                 weights: RefineWeights = RefineWeights(), force_fp32: bool = False):
        if len(other_codes) != partition.shape[0] or len(trainable) != len(other_codes):
            raise InvalidInputError("One code and one trainable flag per partition mask.")
        self.code_space, self.loss, self.weights = code_space, loss, weights
        self.force_fp32 = force_fp32
        self.device = photo.device
        self.partition, self.photo, self.clean = partition, photo, clean
        self.hair_target = hair_target
        self.mask0 = hair_mask
        self.low, self.high = band_limits(hair_mask, band_px)
        self.keep = (1 - hair_mask) * (1 - old_hair)
        self.regen = old_hair * (1 - hair_mask)
        self.face = face * (1 - hair_mask)
        self.hair_start = hair_code.value.detach().clone()
        self.hair_code = ChunkCode(hair_code.space,
                                   hair_code.value.detach().clone().requires_grad_(True))
        self.trainable = [i for i, t in enumerate(trainable) if t]
        self.other_codes = [ChunkCode(c.space, c.value.detach().clone()) for c in other_codes]
        self.other_start = [c.value.detach().clone() for c in other_codes]
        for i in self.trainable:
            self.other_codes[i].value.requires_grad_(True)
        self.fixed_images = other_images.detach()
        grid = min(mask_grid, hair_mask.shape[-1])
        self.mask_logits = torch.zeros(1, 1, grid, grid, device=self.device,
                                       requires_grad=True)
        params = [self.hair_code.value] + [self.other_codes[i].value for i in self.trainable]
        self.code_optimizer = torch.optim.Adam(params, lr=learning_rate)
        self.mask_optimizer = torch.optim.Adam([self.mask_logits], lr=mask_learning_rate)
        self.base_lr, self.mask_lr = learning_rate, mask_learning_rate
        self.schedule = LrSchedule(learning_rate, steps)
        self.step_count = 0
        self.last_losses: dict[str, float] = {}

    @property
    def total_steps(self) -> int:
        return self.schedule.total_steps

    def mask(self) -> torch.Tensor:
        """The current hair mask [R, R]: the start plus a bounded move within the band."""
        size = self.mask0.shape[-1]
        offset = torch.tanh(F.interpolate(self.mask_logits, size=(size, size),
                                          mode="bilinear", align_corners=False))[0, 0]
        moved = self.mask0 + offset * (self.high - self.low)
        return torch.minimum(torch.maximum(moved, self.low), self.high)

    def images(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(hair image [1, 3, R, R], other images [n, 3, R, R]) for the current codes."""
        codes = [self.hair_code] + [self.other_codes[i] for i in self.trainable]
        rendered = self.code_space.render(codes, force_fp32=self.force_fp32)
        others = self.fixed_images
        if self.trainable:
            others = others.clone()
            others[self.trainable] = rendered[1:].to(others.dtype)
        return rendered[:1], others

    def composite(self, mask: torch.Tensor | None = None) -> torch.Tensor:
        hair, others = self.images()
        return compose(hair, others, self.mask() if mask is None else mask, self.partition)

    def step(self) -> dict[str, float]:
        w = self.weights
        lr = self.schedule.lr(self.step_count)
        for group in self.code_optimizer.param_groups:
            group["lr"] = lr
        for group in self.mask_optimizer.param_groups:
            group["lr"] = self.mask_lr * lr / max(self.base_lr, 1e-12)
        mask = self.mask()
        output = self.composite(mask)
        hair, keep = self.loss([(output, self.hair_target, self.mask0),
                                (output, self.photo, self.keep)])
        parts = {
            "hair": w.hair * hair,
            "keep": keep,
            # The face is in `keep` already; pixels there also count on their own.
            "identity": w.identity * masked_l2(output, self.photo, self.face),
            "regenerate": w.regenerate * coarse_l2(output, self.clean, self.regen),
            "hair_code": w.hair_code * (self.hair_code.value - self.hair_start).square().mean(),
            "mask": w.mask * (mask - self.mask0).square().mean(),
        }
        if self.trainable:
            parts["codes"] = w.codes * sum(
                (self.other_codes[i].value - self.other_start[i]).square().mean()
                for i in self.trainable)
        total = sum(parts.values())
        self.code_optimizer.zero_grad(set_to_none=True)
        self.mask_optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.code_optimizer.step()
        self.mask_optimizer.step()
        self.step_count += 1
        self.last_losses = {"total": total.item(), **{k: v.item() for k, v in parts.items()}}
        return self.last_losses

    @torch.no_grad()
    def state(self) -> tuple[ChunkCode, list[ChunkCode], torch.Tensor, torch.Tensor]:
        """(hair code, other codes, hair mask [R, R], other images [n, 3, R, R]) now."""
        _, others = self.images()
        return (self.hair_code.detached(), [c.detached() for c in self.other_codes],
                self.mask().detach().clamp(0, 1), others.detach())
