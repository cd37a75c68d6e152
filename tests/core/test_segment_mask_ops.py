"""Mask operations: paint bucket, grow/shrink, feather, hole filling, algebra, overlaps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.segment.mask_ops import (
    cleared,
    coverage,
    feather,
    fill_holes,
    grow,
    intersect,
    invert,
    resolve_overlaps,
    subtract,
    union,
)


def _disk(shape: tuple[int, int], cx: float, cy: float, radius: float) -> np.ndarray:
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    return ((cols - cx) ** 2 + (rows - cy) ** 2 <= radius**2).astype(np.float32)


def _equivalent_radius(mask: np.ndarray) -> float:
    return math.sqrt(float((mask >= 0.5).sum()) / math.pi)


# --------------------------------------------------------------------- grow / shrink


@pytest.mark.parametrize("radius", [3, 10, 25.5])
def test_grow_and_shrink_change_a_disks_radius_by_the_radius(radius):
    disk = _disk((256, 300), 150, 128, 60)
    assert abs(_equivalent_radius(disk) - 60) < 0.5
    grown, shrunk = grow(disk, radius), grow(disk, -radius)
    assert abs(_equivalent_radius(grown) - (60 + radius)) <= 1.0
    assert abs(_equivalent_radius(shrunk) - (60 - radius)) <= 1.0
    # Extent along the middle row: r more/less on each side.
    assert np.flatnonzero(grown[128]).min() == 150 - 60 - math.floor(radius)
    assert abs(np.flatnonzero(shrunk[128]).max() - (150 + 60 - radius)) <= 1


def test_grow_of_a_soft_mask_is_a_max_filter_over_the_disk():
    rng = np.random.default_rng(1)
    mask = rng.random((23, 31)).astype(np.float32)
    radius = 3.6
    grown, shrunk = grow(mask, radius), grow(mask, -radius)
    offsets = [(dy, dx) for dy in range(-3, 4) for dx in range(-3, 4)
               if dx * dx + dy * dy <= radius * radius]
    assert len(offsets) == 37
    for r in range(23):
        for c in range(31):
            values = [mask[r + dy, c + dx] for dy, dx in offsets
                      if 0 <= r + dy < 23 and 0 <= c + dx < 31]
            assert grown[r, c] == max(values)
            assert shrunk[r, c] == min(values)


def test_grow_zero_copies_and_shrink_keeps_the_border():
    mask = np.ones((40, 50), np.float32)
    same = grow(mask, 0)
    assert same is not mask and np.array_equal(same, mask)
    assert np.array_equal(grow(mask, -5), mask)  # the chunk continues past the border
    assert np.array_equal(grow(np.zeros((40, 50), np.float32), 8), np.zeros((40, 50)))
    huge = grow(_disk((40, 50), 10, 10, 1), 500)  # beyond the image: covers everything
    assert huge.min() == 1.0


# --------------------------------------------------------------------- feather


def test_feather_turns_an_edge_into_a_ramp_of_the_radius():
    mask = np.zeros((60, 200), np.float32)
    mask[:, 100:] = 1.0  # the edge lies at x = 99.5
    soft = feather(mask, 10)  # sigma = 5
    row = soft[30]
    phi = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    for col in (85, 90, 95, 99, 100, 104, 109, 114):
        assert row[col] == pytest.approx(phi((col - 99.5) / 5), abs=0.01)
    assert row[89] < 0.03 and row[110] > 0.97  # ±radius: about 2 % .. 98 %
    assert np.all(np.diff(row) >= 0)
    assert np.array_equal(feather(np.ones((30, 30), np.float32), 12), np.ones((30, 30)))
    assert np.array_equal(feather(mask, 0), mask)


def test_feather_refuses_a_negative_radius():
    with pytest.raises(InvalidInputError):
        feather(np.zeros((4, 4), np.float32), -1)


# --------------------------------------------------------------------- holes


def test_fill_holes_fills_enclosed_holes_but_not_the_outside_or_an_open_bay():
    mask = np.zeros((100, 120), np.float32)
    mask[10:50, 10:50] = 1.0
    mask[20:40, 20:40] = 0.2  # a hole (below 0.5)
    mask[10:50, 70:110] = 1.0
    mask[20:40, 80:110] = 0.0  # a bay open to the right... closed by the column at 110?
    mask[20:40, 110:] = 0.0  # ...no: it runs to the image border
    filled = fill_holes(mask)
    assert (filled[20:40, 20:40] == 1.0).all()
    assert (filled[20:40, 80:] == 0.0).all()
    assert (filled[60:, :] == 0.0).all() and filled[0, 0] == 0.0
    changed = filled != mask
    assert changed.sum() == 20 * 20


def test_fill_holes_threshold_and_largest_area():
    mask = np.ones((60, 60), np.float32)
    mask[5:8, 5:8] = 0.0  # 9 px
    mask[20:40, 20:40] = 0.0  # 400 px
    mask[50:52, 50:52] = 0.6  # not below the threshold: not a hole
    small = fill_holes(mask, max_hole_area=100)
    assert (small[5:8, 5:8] == 1).all() and (small[20:40, 20:40] == 0).all()
    assert (small[50:52, 50:52] == np.float32(0.6)).all()
    everything = fill_holes(mask, threshold=0.7)
    assert (everything[50:52, 50:52] == 1).all() and everything.min() == 1.0
    with pytest.raises(InvalidInputError):
        fill_holes(mask, max_hole_area=-1)


# --------------------------------------------------------------------- algebra


def test_invert_union_subtract_intersect_numbers():
    a = np.array([[0.0, 0.25, 0.5, 1.0]], np.float32)
    b = np.array([[0.5, 0.5, 0.9, 0.2]], np.float32)
    np.testing.assert_allclose(invert(a), [[1.0, 0.75, 0.5, 0.0]])
    np.testing.assert_allclose(union(a, b), [[0.5, 0.5, 0.9, 1.0]])
    np.testing.assert_allclose(intersect(a, b), [[0.0, 0.25, 0.5, 0.2]])
    np.testing.assert_allclose(subtract(a, b), [[0.0, 0.25, 0.1, 0.8]], atol=1e-6)
    for result in (invert(a), union(a, b), subtract(a, b), intersect(a, b)):
        assert result.dtype == np.float32
    zero = cleared(a)
    assert zero.dtype == np.float32 and zero.shape == a.shape and not zero.any()


def test_other_dtypes_are_converted_and_inputs_never_mutated():
    hard = np.array([[True, False], [False, True]])
    assert invert(hard).dtype == np.float32
    np.testing.assert_array_equal(invert(hard), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(union(hard, np.array([[0, 1], [0, 0]], np.uint8)),
                                  [[1, 1], [0, 1]])
    nearly = np.array([[1.0004, -0.0002]], np.float64)  # resampling noise is clipped
    np.testing.assert_array_equal(invert(nearly), [[0.0, 1.0]])
    strided = np.random.default_rng(2).random((40, 60)).astype(np.float32).T[::2]
    np.testing.assert_array_equal(feather(strided, 3), feather(strided.copy(), 3))
    a = np.full((6, 6), 0.5, np.float32)
    copy = a.copy()
    for op in (lambda m: grow(m, 2), lambda m: feather(m, 2), fill_holes, invert):
        op(a)
        np.testing.assert_array_equal(a, copy)


@pytest.mark.parametrize(
    "call",
    [
        lambda: union(np.zeros((4, 4)), np.zeros((4, 5))),
        lambda: subtract(np.zeros((4, 4)), np.zeros((5, 4))),
        lambda: intersect(np.zeros((4, 4)), np.zeros((4, 4, 1))),
        lambda: invert(np.zeros(4)),
        lambda: invert(np.zeros((0, 3))),
        lambda: invert(np.array([[0.5, np.nan]])),
        lambda: grow(np.array([[np.inf, 0.0]]), 1),
        lambda: feather(np.array([[1.5, 0.0]]), 1),
        lambda: invert(np.array([["a"]])),
        lambda: grow(np.zeros((3, 3)), float("nan")),
        lambda: resolve_overlaps([np.zeros((3, 3)), np.zeros((3, 4))]),
        lambda: resolve_overlaps([np.zeros((3, 3)), np.full((3, 3), np.nan)]),
        lambda: coverage([]),
    ],
)
def test_bad_masks_and_arguments_are_refused(call):
    with pytest.raises(InvalidInputError):
        call()


# --------------------------------------------------------------------- overlaps


def test_resolve_overlaps_on_hard_masks_gives_disjoint_masks_with_the_top_one_unchanged():
    shape = (80, 90)
    masks = [_disk(shape, 30, 40, 25), _disk(shape, 50, 40, 25), _disk(shape, 40, 30, 15)]
    resolved = resolve_overlaps(masks)
    assert len(resolved) == 3 and all(r.dtype == np.float32 for r in resolved)
    np.testing.assert_array_equal(resolved[2], masks[2])
    for i in range(3):
        for j in range(i + 1, 3):
            assert not (resolved[i] * resolved[j]).any()
    total = sum(resolved)
    np.testing.assert_array_equal(total, np.maximum.reduce(masks))  # nothing lost
    np.testing.assert_array_equal(resolved[0], masks[0] * (1 - masks[1]) * (1 - masks[2]))
    assert resolve_overlaps([]) == []


def test_resolve_overlaps_on_soft_masks_follows_over_compositing():
    half = np.full((2, 2), 0.5, np.float32)
    bottom, top = resolve_overlaps([half, half])
    np.testing.assert_allclose(bottom, 0.25)
    np.testing.assert_allclose(top, 0.5)
    rng = np.random.default_rng(7)
    masks = [rng.random((64, 48)).astype(np.float32) for _ in range(6)]
    masks[2][:10] = 1.0  # a hard patch hides everything below it
    resolved = resolve_overlaps(masks)
    total = np.sum(resolved, axis=0)
    assert total.max() <= 1.0 + 1e-6
    np.testing.assert_allclose(total, coverage(masks), atol=2e-6)
    np.testing.assert_allclose(coverage(masks), 1 - np.prod([1 - m for m in masks], axis=0),
                               atol=1e-6)
    assert not resolved[0][:10].any() and not resolved[1][:10].any()
    for original, result in zip(masks, resolved, strict=True):
        assert (result <= original).all()
    np.testing.assert_array_equal(resolved[-1], masks[-1])
