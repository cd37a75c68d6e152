"""Pose: landmark measurements, the bounded secant search, codes moving, masks following."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from core.edit.directions import Direction
from core.errors import InvalidInputError
from core.hair.pose import (
    Pose,
    follow_head,
    landmark_affine,
    landmark_pose,
    match_pose,
    moved_code,
    search_strength,
)
from core.latents.codes import ChunkCode, CodeSpace
from tests.checkpoint_writers import random_generator

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = Path(__file__).resolve().parents[1] / "data"


def counting(f):
    calls = []

    def measure(t):
        calls.append(t)
        return f(t)

    return measure, calls


@pytest.mark.parametrize("f", [
    lambda t: 0.1 * t,  # linear
    lambda t: 0.3 * math.tanh(0.5 * t),  # saturating
    lambda t: 0.05 * t + 0.02 * t**3 / 9,  # steepening
])
def test_search_finds_the_target_in_few_measurements(f):
    measure, calls = counting(f)
    target = f(1.7)
    search = search_strength(measure, target, tolerance=1e-3, max_strength=3.0)
    assert search.converged and abs(search.measured - target) <= 1e-3
    assert search.strength == pytest.approx(1.7, abs=0.05)
    assert search.evaluations == len(calls) <= 6
    assert all(abs(t) <= 3.0 for t in calls)
    assert calls[0] == 0.0  # the start is measured, never assumed


def test_search_already_there_and_at_the_bound():
    search = search_strength(lambda t: 0.5 + 0.1 * t, 0.51, tolerance=0.02)
    assert search.converged and search.strength == 0.0 and search.evaluations == 1
    far = search_strength(lambda t: 0.1 * t, 10.0, tolerance=1e-3, max_strength=2.0,
                          max_evaluations=10)
    assert not far.converged and far.strength == 2.0  # the best it may do, bounded
    assert all(abs(t) <= 2.0 for t, _ in far.history)
    assert far.evaluations < 10  # stops at the bound instead of measuring it again


def test_search_walks_around_renders_without_a_face():
    # No face measurable beyond t = 1.2: the first step lands there, the search steps back
    # and still converges.
    search = search_strength(lambda t: None if t > 1.2 else 0.1 * t, 0.09, tolerance=2e-3,
                             first_step=2.0)
    assert search.converged and search.strength == pytest.approx(0.9, abs=0.03)
    assert any(value is None for _, value in search.history)
    none_at_start = search_strength(lambda t: None, 0.3)
    assert not none_at_start.converged and none_at_start.evaluations == 1
    assert "no face" in none_at_start.note


def test_search_handles_a_measurement_going_the_wrong_way():
    # Non-monotone start (noise): keeps walking towards the target and brackets it.
    values = {0.0: 0.0, 1.0: -0.01}
    search = search_strength(lambda t: values.get(t, 0.1 * (t - 1.5)), 0.05, tolerance=1e-3,
                             max_evaluations=10)
    assert search.converged and search.strength == pytest.approx(2.0, abs=0.02)


def test_search_refuses_bad_settings():
    with pytest.raises(InvalidInputError):
        search_strength(lambda t: t, 0.0, tolerance=0)


def test_landmark_pose_of_a_real_face_and_of_no_face():
    from PIL import Image

    aligned = np.asarray(Image.open(DATA / "astronaut_ffhq256.png").convert("RGB"))
    pose = landmark_pose(aligned)
    assert pose is not None and pose.landmarks.shape == (68, 2)
    assert -0.5 < pose.yaw < 0.5 and 0.2 < pose.pitch < 1.0
    mirrored = landmark_pose(np.ascontiguousarray(aligned[:, ::-1]))
    assert mirrored.yaw == pytest.approx(-pose.yaw, abs=0.05)  # turning the other way
    assert landmark_pose(np.full((64, 64, 3), 128, np.uint8)) is None
    with pytest.raises(InvalidInputError):
        pose.get("roll")


@pytest.fixture(scope="module")
def space():
    return CodeSpace(random_generator(16, w_dim=32))


def test_moved_code_in_each_space(space):
    g = space.generator
    rng = np.random.default_rng(0)
    direction = Direction("yaw", "w", rng.standard_normal(g.w_dim).astype(np.float32), 2.0)
    layered = Direction("late", "w", direction.vector, 2.0, layers=(2, 4))
    w = ChunkCode("w", g.w_avg.clone())
    moved = moved_code(space, w, direction, 0.5)
    assert moved.space == "w"
    torch.testing.assert_close(moved.value, w.value + torch.tensor(direction.vector))
    plus = moved_code(space, w, layered, 0.5)
    assert plus.space == "wplus" and torch.equal(plus.value[0], w.value)
    assert not torch.equal(plus.value[2], w.value)
    s = space.from_w(g.w_avg, "s")
    s_moved = moved_code(space, s, direction, 0.5)
    wplus_moved = moved_code(space, space.from_w(g.w_avg, "wplus"), direction, 0.5)
    torch.testing.assert_close(s_moved.value, space.flatten_styles(space.to_styles(
        [wplus_moved]))[0], rtol=1e-4, atol=1e-4)  # the same edit in S as in W+
    assert torch.equal(moved_code(space, w, direction, 0).value, w.value)
    assert torch.equal(moved_code(space, w, None, 1.0).value, w.value)


def test_match_pose_without_target_or_face_or_direction(space):
    g = space.generator
    code = ChunkCode("wplus", g.w_avg.reshape(1, -1).repeat(g.num_ws, 1))
    direction = Direction("yaw", "w", np.ones(g.w_dim, np.float32), 1.0)
    no_target = match_pose(space, code, None, {"yaw": direction}, lambda image: Pose(0, 0))
    assert not no_target.moved and "could not be measured" in no_target.notes[0]
    no_face = match_pose(space, code, Pose(0.2, 0.5), {"yaw": direction}, lambda image: None)
    assert not no_face.moved and "No face could be found" in no_face.notes[0]
    no_direction = match_pose(space, code, Pose(0.2, 0.5), {}, lambda image: Pose(0.0, 0.5))
    assert not no_direction.moved and "no learned yaw direction" in no_direction.notes[0]
    assert json.dumps(no_direction.to_json())


def test_hair_mask_follows_the_head():
    rng = np.random.default_rng(0)
    before = rng.uniform(10, 50, size=(68, 2))
    matrix = np.array([[1.0, 0.0, 4.0], [0.0, 1.0, -2.0]])  # 4 right, 2 up
    after = before @ matrix[:, :2].T + matrix[:, 2]
    np.testing.assert_allclose(landmark_affine(before, after), matrix, atol=1e-9)
    mask = np.zeros((64, 64), np.float32)
    mask[0:20, 20:40] = 1
    moved = follow_head(mask, before, after)
    np.testing.assert_array_equal(moved[0:18, 24:44], 1)  # shifted, still at the top edge
    assert moved[:, 20:24].max() == 0
    np.testing.assert_array_equal(follow_head(mask, None, after), mask)
