"""Composition: the partition without holes, the changed region, the mask morph."""

from __future__ import annotations

import numpy as np
import torch

from core.hair.compose import (
    HairMorph,
    changed_region,
    compose,
    document_weights,
    regeneration_partition,
    signed_distance,
)
from core.hair.refine import band_limits, inpaint_hair


def masks_of_a() -> dict[str, np.ndarray]:
    """Hair on top of the head (rows 4–13), the face below it, background around both."""
    size = 40
    hair = np.zeros((size, size), np.float32)
    hair[4:14, 6:34] = 1
    face = np.zeros((size, size), np.float32)
    face[14:34, 12:28] = 1
    background = 1 - hair - face
    return {"background": background, "face": face, "hair": hair}


def test_partition_gives_old_hair_to_the_nearest_chunk():
    masks = masks_of_a()
    names, shares = regeneration_partition(masks)
    assert names == ["background", "face"]
    np.testing.assert_allclose(shares.sum(0), 1.0, atol=1e-6)
    # Away from the hair, the shares are A's own masks.
    np.testing.assert_allclose(shares[1][20:30], masks["face"][20:30], atol=1e-6)
    # Old hair right above the face becomes face (forehead), elsewhere background.
    assert shares[1][13, 20] > 0.99 and shares[0][12, 8] > 0.99 and shares[0][5, 20] > 0.99
    # Composed weights under a new (shorter) hair mask: a partition, no holes.
    new_hair = np.zeros((40, 40), np.float32)
    new_hair[:8] = 1
    weights = document_weights(new_hair, shares)
    np.testing.assert_allclose(np.sum(weights, axis=0), 1.0, atol=1e-6)
    np.testing.assert_array_equal(weights[-1], new_hair)


def test_compose_and_changed_region():
    masks = masks_of_a()
    _, shares = regeneration_partition(masks)
    hair_image = torch.full((1, 3, 40, 40), 0.5)
    others = torch.stack([torch.full((3, 40, 40), -0.5), torch.full((3, 40, 40), 0.0)])
    photo = torch.full((1, 3, 40, 40), 1.0)
    new_hair = torch.zeros(40, 40)
    new_hair[:8] = 1
    changed = torch.from_numpy(changed_region(masks["hair"], new_hair.numpy(), 2))
    out = compose(hair_image, others, new_hair, torch.from_numpy(shares), photo, changed)
    assert out.shape == (1, 3, 40, 40)
    assert float(out[0, 0, 2, 2]) == 0.5  # new hair
    assert float(out[0, 0, 12, 8]) == -0.5  # old hair now background
    assert float(out[0, 0, 13, 20]) == 0.0  # old hair over the forehead now face
    assert float(out[0, 0, 30, 20]) == 1.0  # far from any hair: the photo itself
    assert changed.numpy()[4:14, 6:34].min() == 1.0 and changed.numpy()[30:].max() == 0.0


def test_signed_distance_and_morph_ends_are_exact():
    a = np.zeros((30, 30), np.float32)
    a[:10] = 1
    b = np.zeros((30, 30), np.float32)
    b[:20, :10] = 0.8
    sdf = signed_distance(a)
    assert sdf[5, 5] < 0 and sdf[15, 5] > 0 and sdf[10, 5] == 1.0
    assert (signed_distance(np.zeros((4, 4))) > 0).all()
    assert (signed_distance(np.ones((4, 4))) < 0).all()
    morph = HairMorph(a, b)
    np.testing.assert_array_equal(morph(0.0), a)
    np.testing.assert_array_equal(morph(1.0), b)
    np.testing.assert_allclose(morph(1e-4), a, atol=1e-3)  # continuous at the ends
    np.testing.assert_allclose(morph(1 - 1e-4), b, atol=1e-3)
    half = morph(0.5) >= 0.5
    assert half[:10, :10].all() and not half[25:].any()


def test_band_limits_and_inpainting():
    mask = torch.zeros(20, 20)
    mask[:10] = 1
    low, high = band_limits(mask, 2)
    assert float(low[7].min()) == 1 and float(low[8].max()) == 0
    assert float(high[11].min()) == 1 and float(high[12].max()) == 0
    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[:, :] = (30, 200, 60)
    rgb[:20, 20:40] = (255, 0, 0)  # "old hair"
    region = np.zeros((64, 64), np.float32)
    region[:20, 20:40] = 1
    clean = inpaint_hair(rgb, region)
    assert np.abs(clean[5:15, 25:35].astype(int) - (30, 200, 60)).max() < 30
    np.testing.assert_array_equal(inpaint_hair(rgb, np.zeros_like(region)), rgb)
