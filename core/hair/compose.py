"""Composing the identity photo's chunks with the new hair, and the A→B hair slider.

The new hair mask h is on top. Every other pixel belongs to the identity photo's other
chunks in proportions P_i (a partition of the image, Σ P_i = 1):

- where the identity photo has no hair, P_i are its own chunk masks (rescaled by 1 − its
  hair), so away from the hair its chunks compose exactly as its inversion did;
- where it had hair, each pixel goes to the nearest non-hair chunk (background above
  the head and beside the neck, face on the forehead), so the old hair that the new hair
  does not cover is regenerated from those codes: no holes, and no old hair left showing.

    O = G(z_hair)·h + Σ_i G(z_i)·P_i·(1 − h)

The output keeps the photo itself outside the changed region (the old and the new hair,
grown by a margin and feathered): `photo + k·(O − photo)`.

The hair slider morphs the mask through signed distance fields: the zero level of
(1 − t)·sdf_A + t·sdf_B moves continuously from the old outline to the new one, and each
end's residual (the soft mask minus its distance-field version) is blended in linearly,
so t = 0 and t = 1 give the two masks exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from scipy import ndimage

from core.latents.codes import ChunkCode, CodeSpace
from core.segment import mask_ops
from core.stylegan import images_to_uint8

_EPS = 1e-3


def regeneration_partition(masks: dict[str, np.ndarray], hair_name: str = "hair"
                           ) -> tuple[list[str], np.ndarray]:
    """(names, P [n, R, R]) of the non-hair chunks, a partition of the whole image."""
    names = [n for n in masks if n != hair_name]
    size = next(iter(masks.values())).shape
    hair = np.asarray(masks.get(hair_name, np.zeros(size, np.float32)), np.float64)
    if not names:
        return ["background"], np.ones((1, *size), np.float32)
    stack = np.stack([np.asarray(masks[n], np.float64) for n in names])
    labelled = stack.sum(0) >= 0.5
    labels = np.argmax(stack, axis=0)
    if labelled.any() and not labelled.all():
        # Every unlabelled (hair) pixel takes the label of the nearest labelled pixel.
        _, (rows, cols) = ndimage.distance_transform_edt(~labelled, return_indices=True)
        labels = labels[rows, cols]
    elif not labelled.any():
        labels = np.zeros(size, np.int64)  # all hair: give it to the bottom chunk
    nearest = np.stack([(labels == i) for i in range(len(names))]).astype(np.float64)
    shares = (stack + _EPS * nearest) / (1.0 - hair + _EPS)
    shares /= shares.sum(0, keepdims=True)
    return names, shares.astype(np.float32)


def changed_region(old_hair: np.ndarray, new_hair: np.ndarray, margin_px: float
                   ) -> np.ndarray:
    """Where the output may differ from the photo: both hair regions, grown by
    `margin_px` and feathered over as much again (float32 [R, R])."""
    soft = np.maximum(np.asarray(old_hair, np.float32), np.asarray(new_hair, np.float32))
    hard = (soft > 0.02).astype(np.float32)
    grown = mask_ops.grow(hard, margin_px) if margin_px >= 1 else hard
    feathered = mask_ops.feather(grown, margin_px) if margin_px > 0 else grown
    return np.clip(np.maximum(feathered, soft), 0, 1).astype(np.float32)


def compose(hair_image: torch.Tensor, other_images: torch.Tensor, hair_mask: torch.Tensor,
            partition: torch.Tensor, photo: torch.Tensor | None = None,
            changed: torch.Tensor | None = None) -> torch.Tensor:
    """G(z_hair)·h + Σ G(z_i)·P_i·(1 − h), then kept to the photo outside `changed`.

    Images [1 or n, 3, R, R]; masks [R, R] or [n, R, R]. Returns [1, 3, R, R].
    """
    h = hair_mask.reshape(1, 1, *hair_mask.shape[-2:])
    p = partition.reshape(-1, 1, *partition.shape[-2:])
    gan = hair_image * h + (other_images * p).sum(0, keepdim=True) * (1 - h)
    if photo is None or changed is None:
        return gan
    k = changed.reshape(1, 1, *changed.shape[-2:])
    return photo + k * (gan - photo)


def document_weights(hair_mask: np.ndarray, partition: np.ndarray) -> list[np.ndarray]:
    """The chunk weights [P_i·(1 − h) ..., h] whose composite is the transfer."""
    rest = 1.0 - np.asarray(hair_mask, np.float32)
    return [(p * rest).astype(np.float32) for p in partition] + [
        np.asarray(hair_mask, np.float32).copy()]


# --- the A→B slider --------------------------------------------------------------------


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """Distance to the mask's outline (threshold 0.5) in pixels, negative inside."""
    inside = np.asarray(mask) >= 0.5
    size = float(sum(inside.shape))
    if not inside.any():
        return np.full(inside.shape, size, np.float32)
    if inside.all():
        return np.full(inside.shape, -size, np.float32)
    outside_distance = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 5)
    inside_distance = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 5)
    return (outside_distance - inside_distance).astype(np.float32)


class HairMorph:
    """Masks between `start` (t = 0) and `end` (t = 1) through their distance fields."""

    def __init__(self, start: np.ndarray, end: np.ndarray, softness_px: float = 1.5):
        self.softness = max(float(softness_px), 1e-3)
        self.start = np.asarray(start, np.float32)
        self.end = np.asarray(end, np.float32)
        self.sdf_start, self.sdf_end = signed_distance(self.start), signed_distance(self.end)
        self.residual_start = self.start - self._soft(self.sdf_start)
        self.residual_end = self.end - self._soft(self.sdf_end)

    def _soft(self, sdf: np.ndarray) -> np.ndarray:
        return np.clip(0.5 - sdf / self.softness, 0.0, 1.0)

    def __call__(self, t: float) -> np.ndarray:
        t = float(np.clip(t, 0.0, 1.0))
        if t == 0.0:
            return self.start.copy()
        if t == 1.0:
            return self.end.copy()
        sdf = (1 - t) * self.sdf_start + t * self.sdf_end
        mask = self._soft(sdf) + (1 - t) * self.residual_start + t * self.residual_end
        return np.clip(mask, 0.0, 1.0).astype(np.float32)


def lerp_codes(code_space: CodeSpace, start: ChunkCode, end: ChunkCode, t: float
               ) -> ChunkCode:
    """(1 − t)·start + t·end, in end's space (start converted when the spaces differ);
    exactly `start` at t = 0 and `end` at t = 1."""
    if start.space != end.space:
        start = _converted(code_space, start, end.space)
    value = (1 - t) * start.value.to(end.value.device) + t * end.value
    return ChunkCode(end.space, value)


def _converted(code_space: CodeSpace, code: ChunkCode, space: str) -> ChunkCode:
    if code.space == "s":
        return code  # S cannot go back to W; lerp_codes then works in S below
    return code_space.from_w(code.value, space)  # type: ignore[arg-type]


class HairBlender:
    """The A→B hair slider: `blender(t)` is a uint8 preview, one synthesis per call.

    Codes interpolate linearly and the mask morphs with them; the other chunks' images are
    rendered once and kept, so a slider move costs one batch-1 synthesis.
    """

    def __init__(self, code_space: CodeSpace, start_code: ChunkCode | None,
                 end_code: ChunkCode, morph: HairMorph, other_images: torch.Tensor,
                 partition: torch.Tensor, photo: torch.Tensor, changed: torch.Tensor, *,
                 force_fp32: bool = False):
        self.code_space, self.morph, self.force_fp32 = code_space, morph, force_fp32
        if start_code is not None and start_code.space == "s" and end_code.space != "s":
            end_code = ChunkCode("s", code_space.flatten_styles(
                code_space.to_styles([end_code]))[0])
        self.start_code, self.end_code = start_code, end_code
        self.other_images, self.partition = other_images, partition
        self.photo, self.changed = photo, changed

    def code(self, t: float) -> ChunkCode:
        t = float(np.clip(t, 0.0, 1.0))
        if self.start_code is None:  # a bald identity photo: the mask alone morphs
            return self.end_code
        return lerp_codes(self.code_space, self.start_code, self.end_code, t)

    def mask(self, t: float) -> np.ndarray:
        return self.morph(t)

    @torch.no_grad()
    def tensor(self, t: float) -> torch.Tensor:
        """The composite at slider position t, [1, 3, R, R] on the generator's device."""
        device = self.photo.device
        hair = self.code_space.render([self.code(t)], force_fp32=self.force_fp32)
        mask = torch.from_numpy(self.mask(t)).to(device)
        return compose(hair, self.other_images, mask, self.partition, self.photo,
                       self.changed)

    def __call__(self, t: float) -> np.ndarray:
        return images_to_uint8(self.tensor(t))[0]


def stack_masks(masks: Sequence[np.ndarray], device: torch.device | str) -> torch.Tensor:
    return torch.from_numpy(np.stack([np.asarray(m, np.float32) for m in masks])).to(device)
