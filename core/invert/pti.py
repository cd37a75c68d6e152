"""Pivotal tuning (Roich et al., PTI) after the chunk codes have converged.

The synthesis weights of a *copy* of the generator are fine-tuned so that the chunk
codes (the pivots, kept fixed) reproduce the photo more closely. A locality term keeps
the copy equal to the original generator away from the pivots: codes at a fixed
distance from a pivot, towards random mapped samples, must render as before. The
original generator is never touched, so undoing PTI is dropping the copy (and the
project's `pti_weights`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from core.errors import InvalidInputError
from core.invert.losses import ReconstructionLoss
from core.invert.masks import ChunkMasks, Coverage, composite
from core.jobs import JobControl, control_or_new
from core.latents.codes import ChunkCode, CodeSpace
from core.stylegan import Generator


@dataclass(frozen=True)
class PtiSettings:
    steps: int = 350
    learning_rate: float = 3e-4
    lambda_locality: float = 0.1
    locality_distance: float = 30.0  # PTI's alpha: how far from the pivot the check codes lie
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 0 or self.learning_rate <= 0 or self.lambda_locality < 0:
            raise InvalidInputError("PTI needs steps ≥ 0, a positive learning rate and a "
                                    "non-negative locality weight.")


@dataclass
class PtiProgress:
    step: int
    total_steps: int
    losses: dict[str, float]
    elapsed_seconds: float
    finished: bool = False
    stopped: bool = False


class PivotalTuningJob:
    def __init__(self, generator: Generator, target: torch.Tensor, codes: list[ChunkCode],
                 chunk_weights: torch.Tensor, coverage: Coverage, settings: PtiSettings,
                 loss: ReconstructionLoss, control: JobControl | None = None):
        self.original, self.settings, self.loss = generator, settings, loss
        self.control = control_or_new(control)
        self.tuned = copy.deepcopy(generator)
        self.tuned.synthesis.requires_grad_(True)
        device = generator.w_avg.device
        self.space = CodeSpace(self.tuned)
        self.codes = [ChunkCode(c.space, c.value.detach().to(device)) for c in codes]
        self.target = target.to(device)
        with torch.no_grad():
            self.chunk, self.photo = ChunkMasks(chunk_weights.to(device), coverage,
                                                optimise=False).to(device)()
        self.optimizer = torch.optim.Adam(self.tuned.synthesis.parameters(),
                                          lr=settings.learning_rate)
        self.random = torch.Generator(device="cpu").manual_seed(settings.seed)
        self.pivots = [self._pivot_ws(c) for c in self.codes if c.space != "s"]
        self.step, self.seconds = 0, 0.0

    def stop(self) -> None:
        """Stop after the current step (the same as `control.stop()`)."""
        self.control.stop()

    def run(self) -> Iterator[PtiProgress]:
        losses: dict[str, float] = {}
        while self.step < self.settings.steps:
            if self.control.stop_requested:
                self.control.acknowledge()  # tuned so far is kept; run() again goes on
                yield PtiProgress(self.step, self.settings.steps, losses, self.seconds,
                                  stopped=True)
                return
            started = time.perf_counter()
            losses = self._step()
            self.seconds += time.perf_counter() - started
            yield PtiProgress(self.step, self.settings.steps, losses, self.seconds)
        yield PtiProgress(self.step, self.settings.steps, losses, self.seconds, finished=True)

    def _step(self) -> dict[str, float]:
        images = self.space.render(self.codes)
        output = composite(images, self.chunk, self.photo, self.target)
        total, parts = self.loss(output, self.target)
        if self.pivots and self.settings.lambda_locality > 0:
            locality = self._locality()
            total = total + self.settings.lambda_locality * locality
            parts = dict(parts, locality=locality)
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        self.step += 1
        return {"total": total.item(), **{k: v.item() for k, v in parts.items()}}

    def _locality(self) -> torch.Tensor:
        """Tuned and original renders agree at codes near (not at) a random pivot."""
        g = self.original
        pick = int(torch.randint(len(self.pivots), (1,), generator=self.random))
        pivot = self.pivots[pick]
        z = torch.randn(1, g.z_dim, generator=self.random).to(pivot.device)
        with torch.no_grad():
            sample = g.mapping(z)
            direction = sample - pivot
            check = pivot + self.settings.locality_distance * direction / direction.norm(
                dim=-1, keepdim=True).clamp(min=1e-8)
            before = g.synthesis(check)
        after = self.tuned.synthesis(check)
        return F.mse_loss(after, before) + self.loss(after, before)[0]

    def _pivot_ws(self, code: ChunkCode) -> torch.Tensor:
        g = self.original
        return code.value.reshape(-1, g.w_dim).expand(g.num_ws, -1).unsqueeze(0)

    def tuned_generator(self) -> Generator:
        return self.tuned.eval().requires_grad_(False)

    def tuned_weights(self) -> dict[str, np.ndarray]:
        """The tuned synthesis tensors by state-dict name (what a project stores)."""
        return {f"synthesis.{k}": v.detach().cpu().numpy().astype(np.float32)
                for k, v in self.tuned.synthesis.state_dict().items()}


def with_tuned_weights(generator: Generator, weights: dict[str, np.ndarray]) -> Generator:
    """A copy of `generator` carrying a project's PTI weights (the original is untouched)."""
    tuned = copy.deepcopy(generator)
    state = tuned.state_dict()
    unknown = [k for k in weights if k not in state]
    if unknown:
        raise InvalidInputError(f"The PTI weights do not fit this generator ({unknown[:3]}).")
    for name, value in weights.items():
        if tuple(value.shape) != tuple(state[name].shape):
            raise InvalidInputError(f"PTI tensor {name} has shape {list(value.shape)}, "
                                    f"the generator's is {list(state[name].shape)}.")
        state[name] = torch.from_numpy(np.asarray(value, dtype=np.float32))
    tuned.load_state_dict(state)
    return tuned.eval().requires_grad_(False)
