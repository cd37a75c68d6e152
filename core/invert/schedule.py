"""Learning-rate schedule that can be extended without restarting.

Within one run it is the StyleGAN2 projector's: a short linear warm-up, a plateau and
a cosine ramp-down to zero over the last quarter. "More steps" must not send the
rate back to its peak after it has decayed (Chunkmogrify restarts its schedule per
call, so continuing oscillates). Extending before the ramp-down began simply moves
the end, which is exactly the schedule of a longer run asked for at once. Extending
later starts a continuation segment that warms up from the current rate to a
lower peak (`continuation_peak` of the base rate) and decays to zero again.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass
class Segment:
    start: int
    end: int
    start_lr: float  # rate the warm-up begins from
    peak_lr: float


@dataclass
class LrSchedule:
    base_lr: float
    total_steps: int
    rampup: float = 0.05
    rampdown: float = 0.25
    continuation_peak: float = 0.25
    segments: list[Segment] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.segments:
            self.segments = [Segment(0, self.total_steps, 0.0, self.base_lr)]

    def lr(self, step: int) -> float:
        seg = next((s for s in reversed(self.segments) if step >= s.start), self.segments[0])
        length = max(seg.end - seg.start, 1)
        t = min(max((step - seg.start) / length, 0.0), 1.0)
        down = min(1.0, (1.0 - t) / self.rampdown)
        down = 0.5 - 0.5 * math.cos(down * math.pi)
        up = min(1.0, (t + 1.0 / length) / self.rampup)  # the first step is not at rate 0
        rate = seg.start_lr + (seg.peak_lr - seg.start_lr) * up
        return rate * down

    def rampdown_start(self) -> int:
        seg = self.segments[-1]
        return seg.start + math.floor((seg.end - seg.start) * (1.0 - self.rampdown))

    def extend(self, extra_steps: int, at_step: int) -> None:
        """Run `extra_steps` more steps than planned; `at_step` is the next step to run."""
        if extra_steps <= 0:
            return
        new_total = self.total_steps + extra_steps
        seg = self.segments[-1]
        if at_step < self.rampdown_start() and at_step < seg.end:
            seg.end = new_total
        else:
            start_lr = self.lr(max(at_step - 1, 0)) if at_step > 0 else 0.0
            peak = max(self.base_lr * self.continuation_peak, start_lr)
            self.segments.append(Segment(at_step, new_total, start_lr, peak))
        self.total_steps = new_total

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LrSchedule:
        segments = [Segment(**s) for s in data.get("segments", [])]
        return cls(**{**data, "segments": segments})
