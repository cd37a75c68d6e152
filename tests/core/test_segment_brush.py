"""The round brush: dab shapes, Photoshop stroke opacity, erasing, boxes and undo patches."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.segment.brush import Brush, BrushStroke, StrokeResult, dab_footprint


def _changed_bbox(before: np.ndarray, after: np.ndarray):
    rows, cols = np.nonzero(before != after)
    if rows.size == 0:
        return None
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def _stroke(mask: np.ndarray, brush: Brush, points) -> StrokeResult | None:
    stroke = BrushStroke(mask, brush)
    for x, y in points:
        stroke.add_point(x, y)
    return stroke.finish()


# --------------------------------------------------------------------- footprint


@pytest.mark.parametrize("size", [4, 10, 64, 300])
@pytest.mark.parametrize("offset", [(0.0, 0.0), (0.25, 0.75), (0.5, 0.5)])
def test_hard_dab_area_is_pi_r_squared(size, offset):
    alpha = dab_footprint(size, 1.0, *offset)
    area = math.pi * (size / 2) ** 2
    assert float(alpha.sum()) == pytest.approx(area, rel=0.03)
    assert alpha.dtype == np.float32 and alpha.shape[0] == alpha.shape[1]
    assert alpha.shape[0] % 2 == 1 and alpha.min() >= 0 and alpha.max() == 1.0
    # Hard: full inside, nothing outside, a narrow antialiased rim (1 px, box-filtered to
    # at most 2 px for supersampled small dabs).
    k = alpha.shape[0] // 2
    rows, cols = np.mgrid[-k:k + 1, -k:k + 1]
    distance = np.hypot(cols - offset[0], rows - offset[1])
    rim = 0.5 if size >= 32 else 1.21
    assert (alpha[distance <= size / 2 - rim] == 1).all()
    assert (alpha[distance >= size / 2 + rim] == 0).all()


def test_soft_dab_falls_off_monotonically_to_the_rim():
    for hardness in (0.0, 0.3, 0.7):
        alpha = dab_footprint(41, hardness)
        k = alpha.shape[0] // 2
        profile = alpha[k, k:]
        assert profile[0] == 1.0
        assert np.all(np.diff(profile) <= 0)
        assert profile[21:].max() == 0.0  # nothing beyond R + 0.5
        assert (alpha == alpha.T).all() and (alpha == alpha[::-1]).all()
    soft, medium = dab_footprint(41, 0.0), dab_footprint(41, 0.5)
    k = soft.shape[0] // 2
    assert soft[k, k + 10] == pytest.approx(0.5, abs=0.05)  # half-way: half alpha
    assert medium[k, k + 8] == 1.0 and 0 < medium[k, k + 15] < 1  # plateau, then a ramp
    assert soft.sum() < medium.sum() < dab_footprint(41, 1.0).sum()


def test_footprints_are_cached_and_read_only():
    first = dab_footprint(64, 0.5)
    assert dab_footprint(64.0001, 0.5) is first
    with pytest.raises(ValueError):
        first[0, 0] = 1.0
    with pytest.raises(InvalidInputError):
        dab_footprint(0.5, 0.5)
    with pytest.raises(InvalidInputError):
        dab_footprint(8, 0.5, 1.0, 0.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": 0.5}, {"size": float("nan")}, {"size": 1e6}, {"hardness": -0.1},
        {"hardness": 1.5}, {"opacity": 0.0}, {"opacity": 1.2}, {"erase": "yes"},
        {"size": True},
    ],
)
def test_brush_settings_are_validated(kwargs):
    settings = {"size": 10, "hardness": 0.5, "opacity": 1.0} | kwargs
    with pytest.raises(InvalidInputError):
        Brush(**settings)


# --------------------------------------------------------------------- strokes


def test_a_stroke_never_exceeds_its_opacity_but_a_second_stroke_builds_on_it():
    mask = np.zeros((100, 120), np.float32)
    brush = Brush(size=20, hardness=1.0, opacity=0.5)
    back_and_forth = [(20, 50), (100, 50), (20, 50), (100, 50), (60, 50)]
    _stroke(mask, brush, back_and_forth)
    assert mask.max() == pytest.approx(0.5)
    assert mask[50, 60] == pytest.approx(0.5)
    _stroke(mask, brush, back_and_forth)
    assert mask.max() == pytest.approx(0.75)
    assert mask[50, 60] == pytest.approx(0.75)
    assert mask[5, 60] == 0.0  # outside the band


def test_painting_and_erasing_follow_the_formulas_on_a_soft_base():
    mask = np.full((40, 40), 0.2, np.float32)
    _stroke(mask, Brush(size=10, hardness=1.0, opacity=0.5), [(20, 20)])
    assert mask[20, 20] == pytest.approx(0.2 + 0.8 * 0.5)
    assert mask[0, 0] == np.float32(0.2)
    mask[:] = 0.8
    _stroke(mask, Brush(size=10, hardness=1.0, opacity=0.5, erase=True), [(20, 20), (21, 20)])
    assert mask[20, 20] == pytest.approx(0.4)
    full = np.ones((40, 40), np.float32)
    _stroke(full, Brush(size=10, hardness=1.0, opacity=1.0, erase=True), [(20, 20)])
    assert full[20, 20] == 0.0 and full[0, 0] == 1.0
    assert float((1 - full).sum()) == pytest.approx(math.pi * 25, rel=0.03)


def test_a_stroke_is_a_continuous_band_of_the_brush_size():
    mask = np.zeros((64, 200), np.float32)
    brush = Brush(size=12, hardness=1.0, opacity=1.0)
    _stroke(mask, brush, [(20, 32), (21.3, 32), (60, 32), (150.5, 32), (180, 32)])
    assert (mask[32, 20:181] == 1.0).all()  # no gaps between dabs
    # As wide as the brush (a hair less between two dabs: their max scallops the edge).
    assert float(mask[:, 100].sum()) == pytest.approx(12, abs=0.25)
    assert np.flatnonzero(mask[:, 100] > 0.5).tolist() == list(range(27, 38))
    # A thin diagonal stroke: quarter-pixel dab positions keep its width even.
    thin = np.zeros((100, 100), np.float32)
    _stroke(thin, Brush(size=3, hardness=1.0, opacity=1.0), [(10, 10), (90, 63)])
    widths = (thin > 0.5).sum(axis=0)[20:80]
    assert widths.min() >= 3 and widths.max() <= 6


def test_a_stroke_across_and_outside_the_border_is_clipped():
    mask = np.zeros((50, 60), np.float32)
    brush = Brush(size=10, hardness=1.0)
    stroke = BrushStroke(mask, brush)
    assert stroke.add_point(-1e7, 25) is None  # far outside: nothing, and quickly
    box = stroke.add_point(1e7, 25)  # crosses the whole image
    assert box == (20, 0, 31, 60)
    assert (mask[25] == 1.0).all()
    assert stroke.add_point(1e7, -1e7) is None
    result = stroke.finish()
    assert result is not None and result.bbox == (20, 0, 31, 60)
    corner = np.zeros((50, 60), np.float32)
    _stroke(corner, brush, [(-3, -3)])
    assert corner[0, 0] > 0.95 and corner[4, 4] == 0.0


def test_boxes_cover_exactly_the_changed_pixels_and_patches_restore_exactly():
    rng = np.random.default_rng(3)
    mask = rng.random((300, 280)).astype(np.float32) * 0.6
    mask[200:, :] = 1.0  # painting here changes nothing
    start = mask.copy()
    for brush in (Brush(size=25, hardness=0.3, opacity=0.7),
                  Brush(size=7.5, hardness=1.0, opacity=1.0),
                  Brush(size=150, hardness=0.0, opacity=0.4, erase=True)):
        before_stroke = mask.copy()
        stroke = BrushStroke(mask, brush)
        points = [(40, 30), (41, 30.5), (120.3, 90.7), (270, 250), (300, 310), (10, 280)]
        for x, y in points:
            before = mask.copy()
            box = stroke.add_point(x, y)
            assert box == _changed_bbox(before, mask)
            assert stroke.changed_bbox == _changed_bbox(before_stroke, mask)
        after_stroke = mask.copy()
        result = stroke.finish()
        assert result is not None
        assert result.bbox == _changed_bbox(before_stroke, after_stroke)
        r0, c0, r1, c1 = result.bbox
        assert result.old_patch.dtype == np.float32 and result.new_patch.dtype == np.float32
        np.testing.assert_array_equal(result.new_patch, after_stroke[r0:r1, c0:c1])
        undone = after_stroke.copy()
        undone[r0:r1, c0:c1] = result.old_patch
        np.testing.assert_array_equal(undone, before_stroke)
        assert stroke._base is None and stroke._coverage is None  # nothing kept but patches
    assert not np.array_equal(mask, start)
    assert mask.min() >= 0 and mask.max() <= 1


def test_a_stroke_that_changes_nothing_finishes_with_none():
    empty = np.zeros((30, 30), np.float32)
    stroke = BrushStroke(empty, Brush(size=9, erase=True))
    assert stroke.add_point(10, 10) is None
    assert stroke.add_point(20, 15) is None
    assert stroke.finish() is None
    assert _stroke(np.ones((30, 30), np.float32), Brush(size=9), [(5, 5), (25, 25)]) is None


def test_a_finished_stroke_refuses_more_points_and_cancel_restores():
    mask = np.zeros((30, 30), np.float32)
    stroke = BrushStroke(mask, Brush(size=9))
    stroke.add_point(10, 10)
    assert stroke.finish() is not None
    assert stroke.finished
    with pytest.raises(InvalidInputError):
        stroke.add_point(12, 10)
    with pytest.raises(InvalidInputError):
        stroke.finish()
    original = np.random.default_rng(0).random((30, 30)).astype(np.float32)
    mask = original.copy()
    stroke = BrushStroke(mask, Brush(size=9, opacity=0.8))
    stroke.add_point(3, 3)
    stroke.add_point(28, 20)
    assert not np.array_equal(mask, original)
    stroke.cancel()
    np.testing.assert_array_equal(mask, original)


@pytest.mark.parametrize(
    "mask",
    [np.zeros((10, 10), np.float64), np.zeros(10, np.float32), np.zeros((0, 4), np.float32)],
)
def test_the_stroke_needs_a_writable_float32_2d_mask(mask):
    with pytest.raises(InvalidInputError):
        BrushStroke(mask, Brush())


def test_read_only_masks_and_bad_points_are_refused():
    mask = np.zeros((10, 10), np.float32)
    mask.setflags(write=False)
    with pytest.raises(InvalidInputError):
        BrushStroke(mask, Brush())
    stroke = BrushStroke(np.zeros((10, 10), np.float32), Brush())
    with pytest.raises(InvalidInputError):
        stroke.add_point(float("nan"), 3)
    with pytest.raises(InvalidInputError):
        BrushStroke(np.zeros((10, 10), np.float32), "brush")  # type: ignore[arg-type]


def test_dabs_touch_only_their_own_box():
    mask = np.zeros((1024, 1024), np.float32)
    stroke = BrushStroke(mask, Brush(size=64, hardness=0.5))
    box = stroke.add_point(500.4, 300.6)
    assert box is not None
    r0, c0, r1, c1 = box
    assert 62 <= r1 - r0 <= 66 and 62 <= c1 - c0 <= 66
    assert abs((r0 + r1 - 1) / 2 - 300.6) <= 0.5 and abs((c0 + c1 - 1) / 2 - 500.4) <= 0.5
    assert stroke._tile_saved.sum() <= 4  # old values copied for the touched tiles only
