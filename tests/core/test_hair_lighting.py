"""Relighting the hair: lighting read off the skin, hair colour kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.hair.lighting import (
    MAX_GAIN,
    Lighting,
    chroma,
    lighting_between,
    linear_to_srgb,
    relight,
    skin_statistics,
    srgb_to_linear,
)
from core.stylegan import images_to_uint8, uint8_to_images


def lit(rgb: np.ndarray, factor: float) -> np.ndarray:
    """The same scene under `factor` times the light (in linear light), as uint8."""
    linear = srgb_to_linear(rgb.astype(np.float64) / 255) * factor
    return np.clip(np.round(linear_to_srgb(np.clip(linear, 0, 1)) * 255), 0, 255).astype(np.uint8)


def scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A skin patch (varied brown) and a hair patch (varied auburn), with their masks."""
    rng = np.random.default_rng(seed)
    rgb = np.zeros((64, 64, 3), np.uint8)
    skin = np.zeros((64, 64), np.float32)
    skin[32:, :] = 1
    shade = rng.uniform(0.6, 1.0, size=(32, 64, 1))
    rgb[32:] = (np.array([200, 150, 120]) * shade).astype(np.uint8)
    hair_shade = rng.uniform(0.5, 1.0, size=(32, 64, 1))
    rgb[:32] = (np.array([120, 60, 30]) * hair_shade).astype(np.uint8)
    return rgb, skin, 1 - skin


def test_srgb_curves_are_inverse():
    x = np.linspace(0, 1, 101)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-9)
    t = torch.from_numpy(x)
    torch.testing.assert_close(linear_to_srgb(srgb_to_linear(t)), t)


def test_a_planted_exposure_difference_is_recovered_and_undone():
    rgb, skin, hair = scene()
    darker = lit(rgb, 0.5)  # the hair photo was taken in half the light
    lighting = lighting_between(rgb, skin, darker, skin)
    assert lighting.gain == pytest.approx(2.0, rel=0.03)
    assert lighting.contrast == pytest.approx(1.0, abs=0.03)
    relit = images_to_uint8(relight(uint8_to_images(darker), lighting))[0]
    hair_px = hair >= 0.5
    before = np.abs(darker.astype(float) - rgb)[hair_px].mean()
    after = np.abs(relit.astype(float) - rgb)[hair_px].mean()
    assert after < 0.15 * before and after < 3.0  # the hair looks as under A's light


def test_relighting_keeps_the_hair_colour():
    rgb, _, hair = scene(1)
    images = uint8_to_images(rgb)
    hair_px = torch.from_numpy(hair >= 0.5)
    brighter = relight(images, Lighting(gain=1.4))
    assert (brighter - images)[..., hair_px].mean() > 0.05
    for lighting in (Lighting(gain=1.4), Lighting(gain=0.7, contrast=1.2, pivot=0.2)):
        relit = relight(images, lighting)
        # Channel proportions (hue and saturation in linear light) are unchanged.
        torch.testing.assert_close(chroma(relit)[..., hair_px], chroma(images)[..., hair_px],
                                   atol=1e-4, rtol=1e-3)
    torch.testing.assert_close(relight(images, Lighting()), images)


def test_lighting_is_clamped_and_needs_skin():
    rgb, skin, _ = scene()
    black = np.full_like(rgb, 2)
    lighting = lighting_between(rgb, skin, black, skin)
    assert lighting.gain == MAX_GAIN  # a different person, not a different light
    assert lighting_between(rgb, np.zeros_like(skin), rgb, skin) is None
    assert skin_statistics(rgb, np.zeros_like(skin)) is None
    assert lighting.to_json()["gain"] == MAX_GAIN
