"""The learning-rate schedule: the StyleGAN2 projector's warm-up, plateau and ramp-down."""

from __future__ import annotations

import itertools
import math

import pytest

from core.invert.schedule import LrSchedule


def rates(schedule: LrSchedule) -> list[float]:
    return [schedule.lr(t) for t in range(schedule.total_steps)]


def test_warm_up_plateau_ramp_down():
    lrs = rates(LrSchedule(0.1, 100))
    assert lrs[0] == pytest.approx(0.1 * 0.2)  # 1/100 of the run over a 5 % warm-up
    assert all(a < b for a, b in itertools.pairwise(lrs[:5]))
    assert lrs[50] == pytest.approx(0.1)
    assert lrs[-1] < 0.01 and all(lr >= 0 for lr in lrs)
    assert all(a >= b for a, b in itertools.pairwise(lrs[75:]))  # decays monotonically
    assert lrs[87] == pytest.approx(0.1 * (0.5 - 0.5 * math.cos(0.52 * math.pi)))


def test_rates_depend_only_on_the_step():
    a, b = LrSchedule(0.05, 30), LrSchedule(0.05, 30)
    assert rates(a) == rates(b)
    assert a.lr(1000) == 0.0 and a.lr(-5) == pytest.approx(a.lr(0))
