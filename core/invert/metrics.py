"""Reconstruction figures after an inversion (the keys of the metrics JSON)."""

from __future__ import annotations

import numpy as np
import torch

from core.face.identity import identity_distance
from core.invert.losses import Lpips
from core.stylegan import uint8_to_images


@torch.no_grad()
def reconstruction_metrics(target: np.ndarray, output: np.ndarray, *, lpips: Lpips | None,
                           faces: bool = True) -> dict[str, float | None]:
    """lpips (None without VGG weights), l2 (MSE of [0, 1] pixels) and identity distance.

    Both images are uint8 [R, R, 3], so the figures describe what is saved, not floats.
    identity is dlib's descriptor distance, None when either image shows no face.
    """
    l2 = float(np.mean((target.astype(np.float64) / 255 - output.astype(np.float64) / 255) ** 2))
    lpips_value = None
    if lpips is not None:
        device = next(lpips.parameters()).device
        lpips_value = float(lpips(uint8_to_images(target, device), uint8_to_images(output, device)))
    identity = identity_distance(target, output) if faces else None
    return {"lpips": lpips_value, "l2": l2, "identity": identity}


def inversion_metrics(target: np.ndarray, result, *, lpips: Lpips | None,
                      faces: bool = True) -> dict[str, float | int | None]:
    """`reconstruction_metrics` of an `InversionResult`'s output plus its steps and times."""
    from core.stylegan import images_to_uint8

    output = images_to_uint8(result.output)[0]
    metrics = reconstruction_metrics(target, output, lpips=lpips, faces=faces)
    return metrics | {"steps": result.steps, "seconds": round(result.seconds, 3),
                      "seconds_per_step": round(result.seconds / max(result.steps, 1), 5)}
