"""The learning-rate schedule of an optimisation run (inversion, hair refinement).

The StyleGAN2 projector's: a short linear warm-up, a plateau, and a cosine ramp-down to
zero over the last quarter. A run that is stopped and resumed follows the same
schedule, because the rate depends only on the step number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LrSchedule:
    base_lr: float
    total_steps: int
    rampup: float = 0.05  # share of the run spent warming up
    rampdown: float = 0.25  # share of the run spent decaying to zero

    def lr(self, step: int) -> float:
        length = max(self.total_steps, 1)
        t = min(max(step / length, 0.0), 1.0)
        down = min(1.0, (1.0 - t) / self.rampdown)
        down = 0.5 - 0.5 * math.cos(down * math.pi)
        up = min(1.0, (t + 1.0 / length) / self.rampup)  # the first step is not at rate 0
        return self.base_lr * up * down
