"""The learning-rate schedule: projector-like within a run, no restart when extended."""

from __future__ import annotations

import itertools

import pytest

from core.invert.schedule import LrSchedule


def rates(schedule: LrSchedule, start: int = 0, end: int | None = None) -> list[float]:
    return [schedule.lr(t) for t in range(start, end or schedule.total_steps)]


def test_warm_up_plateau_ramp_down():
    lrs = rates(LrSchedule(0.1, 100))
    assert 0 < lrs[0] < 0.1
    assert lrs[50] == pytest.approx(0.1)
    assert lrs[-1] < 0.01 and all(lr >= 0 for lr in lrs)
    assert all(a >= b for a, b in itertools.pairwise(lrs[75:]))  # decays monotonically


def test_extending_before_ramp_down_is_a_longer_run():
    extended = LrSchedule(0.1, 100)
    extended.extend(100, at_step=40)
    assert rates(extended) == rates(LrSchedule(0.1, 200))


@pytest.mark.parametrize("at_step", [80, 95, 100])
def test_extending_after_decay_never_jumps_back_to_the_peak(at_step):
    schedule = LrSchedule(0.1, 100)
    before = schedule.lr(at_step - 1)
    schedule.extend(100, at_step=at_step)
    after = rates(schedule, at_step)
    assert schedule.total_steps == 200
    assert max(after) <= max(before, 0.1 * schedule.continuation_peak) + 1e-12
    assert abs(after[0] - before) < 0.01  # continuous where the extension begins
    steps = [abs(a - b) for a, b in itertools.pairwise(after)]
    assert max(steps) < 0.01  # smooth, no restart
    assert after[-1] < 0.003


def test_round_trip_through_dict():
    schedule = LrSchedule(0.05, 30)
    schedule.extend(20, at_step=30)
    copy = LrSchedule.from_dict(schedule.to_dict())
    assert rates(copy) == rates(schedule)
