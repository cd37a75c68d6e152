"""ChunkyGAN inversion: one latent code per chunk, soft masks, one batched render per step.

    job = InversionJob(generator, target, masks, settings, loss)
    for progress in job.run():        # yields after every step
        ...                           # job.stop() / job.add_steps(n) / job.set_masks(m)
    result = job.result()

`run()` returns when the planned steps are done or a stop was requested; calling it
again resumes exactly where it stopped (the optimiser state, the schedule and the
step counter live in the job). Commands may come from another thread: they are queued
and applied between steps.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

from core.errors import InvalidInputError
from core.invert.losses import ReconstructionLoss
from core.invert.masks import COVERAGES, ChunkMasks, Coverage, check_masks, composite
from core.invert.schedule import LrSchedule
from core.latents.codes import SPACES, ChunkCode, CodeSpace, Space
from core.stylegan import Generator, images_to_uint8


@dataclass(frozen=True)
class InversionSettings:
    space: Space = "wplus"
    steps: int = 300
    lambda_reg: float = 1.0  # ChunkyGAN's latent regulariser weight (keeps codes editable)
    learning_rate: float = 0.1
    coverage: Coverage = "edit_regions"
    optimise_masks: bool = False
    lambda_mask: float = 1.0  # keeps optimised masks near the user's
    mask_learning_rate: float = 0.05
    mask_grid: int = 64
    seed: int = 0  # the steps themselves are deterministic; PTI's random samples use it
    preview_every_steps: int = 10
    preview_every_seconds: float = 1.0
    preview_size: int = 256
    force_fp32: bool = False  # on CUDA the top blocks run in fp16 unless this is set

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise InvalidInputError(f"Unknown latent space {self.space!r}; use one of {SPACES}.")
        if self.coverage not in COVERAGES:
            raise InvalidInputError(f"Unknown coverage {self.coverage!r}; use one of {COVERAGES}.")
        if self.steps < 0:
            raise InvalidInputError("The number of steps cannot be negative.")
        if self.lambda_reg < 0 or self.lambda_mask < 0:
            raise InvalidInputError("Regulariser weights cannot be negative.")


@dataclass
class InversionProgress:
    step: int  # steps completed so far
    total_steps: int
    losses: dict[str, float]
    learning_rate: float
    elapsed_seconds: float
    preview: np.ndarray | None = None  # uint8 [h, w, 3] of the current composite, sometimes
    finished: bool = False
    stopped: bool = False


@dataclass
class InversionResult:
    codes: list[ChunkCode]
    masks: torch.Tensor  # [n, R, R] the chunk weights used for the final composite
    output: torch.Tensor  # [1, C, R, R] the composite O(z, s), about [-1, 1]
    chunk_images: torch.Tensor  # [n, C, R, R] each chunk's full render G(z_i)
    steps: int
    seconds: float
    losses: dict[str, float] = field(default_factory=dict)


class InversionJob:
    def __init__(self, generator: Generator, target: torch.Tensor, masks: torch.Tensor,
                 settings: InversionSettings, loss: ReconstructionLoss, *,
                 initial_codes: list[ChunkCode] | None = None):
        self.generator, self.settings, self.loss = generator, settings, loss
        self.device = generator.w_avg.device
        self.codes_space = CodeSpace(generator)
        self.target = _check_target(target, generator).to(self.device)
        user_masks = check_masks(torch.as_tensor(masks), generator.img_resolution)
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self.step = 0
        self.seconds = 0.0
        self.schedule = LrSchedule(settings.learning_rate, settings.steps)

        start = initial_codes or [self.codes_space.mean_code(settings.space)
                                  for _ in range(user_masks.shape[0])]
        if len(start) != user_masks.shape[0]:
            raise InvalidInputError(f"{len(start)} starting codes for {user_masks.shape[0]} "
                                    "chunks.")
        self.codes = []
        for code in start:
            self.codes_space.check(code)
            value = code.value.detach().clone().to(self.device).requires_grad_(True)
            self.codes.append(ChunkCode(code.space, value))
        self.code_optimizer = torch.optim.Adam([c.value for c in self.codes],
                                               lr=settings.learning_rate, betas=(0.9, 0.999))
        self._set_masks(user_masks)
        self.last_losses: dict[str, float] = {}

    # -- commands (thread-safe: applied between steps) ---------------------------------

    def stop(self) -> None:
        self._commands.put(("stop", None))

    def add_steps(self, extra: int) -> None:
        self._commands.put(("add_steps", int(extra)))

    def set_masks(self, masks: torch.Tensor) -> None:
        self._commands.put(("set_masks", masks))

    # -- running --------------------------------------------------------------------------

    @property
    def total_steps(self) -> int:
        return self.schedule.total_steps

    def run(self) -> Iterator[InversionProgress]:
        """Optimise until the planned steps are done or stop() is called; resumable."""
        s = self.settings
        last_preview_time = time.monotonic()
        while True:
            if self._apply_commands():
                yield self._progress(stopped=True)
                return
            if self.step >= self.total_steps:
                yield self._progress(finished=True, with_preview=True)
                return
            started = time.perf_counter()
            losses = self._optimisation_step()
            self.seconds += time.perf_counter() - started
            self.last_losses = losses
            due = (self.step % max(s.preview_every_steps, 1) == 0
                   or time.monotonic() - last_preview_time >= s.preview_every_seconds)
            if due:
                last_preview_time = time.monotonic()
            yield self._progress(with_preview=due)

    def run_to_end(self) -> InversionResult:
        for _ in self.run():
            pass
        return self.result()

    def _optimisation_step(self) -> dict[str, float]:
        s = self.settings
        lr = self.schedule.lr(self.step)
        for group in self.code_optimizer.param_groups:
            group["lr"] = lr
        if self.mask_optimizer is not None:
            for group in self.mask_optimizer.param_groups:
                group["lr"] = s.mask_learning_rate * lr / max(s.learning_rate, 1e-12)
        images = self.codes_space.render(self.codes, force_fp32=s.force_fp32)
        chunk, photo = self.masks()
        output = composite(images, chunk, photo, self.target)
        total, parts = self.loss(output, self.target)
        reg = sum(self.codes_space.regulariser(c) for c in self.codes)
        total = total + s.lambda_reg * reg
        parts = dict(parts, reg=reg)
        if self.mask_optimizer is not None:
            mask_term = self.masks.penalty(chunk)
            total = total + s.lambda_mask * mask_term
            parts["mask"] = mask_term
        self.code_optimizer.zero_grad(set_to_none=True)
        if self.mask_optimizer is not None:
            self.mask_optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.code_optimizer.step()
        if self.mask_optimizer is not None:
            self.mask_optimizer.step()
        self.step += 1
        return {"total": total.item(), **{k: v.item() for k, v in parts.items()}}

    # -- results --------------------------------------------------------------------------

    @torch.no_grad()
    def render(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(composite [1,C,R,R], chunk images [n,C,R,R], chunk weights [n,R,R]) right now."""
        images = self.codes_space.render(self.codes, force_fp32=self.settings.force_fp32)
        chunk, photo = self.masks()
        return composite(images, chunk, photo, self.target), images, chunk[:, 0]

    def result(self) -> InversionResult:
        output, images, weights = self.render()
        return InversionResult(codes=[c.detached() for c in self.codes], masks=weights.cpu(),
                               output=output.cpu(), chunk_images=images.cpu(), steps=self.step,
                               seconds=self.seconds, losses=dict(self.last_losses))

    # -- internals ------------------------------------------------------------------------

    def _set_masks(self, user_masks: torch.Tensor) -> None:
        s = self.settings
        if user_masks.shape[0] != len(self.codes):
            raise InvalidInputError(f"{user_masks.shape[0]} masks for {len(self.codes)} chunks.")
        self.masks = ChunkMasks(user_masks.to(self.device), s.coverage,
                                optimise=s.optimise_masks, grid=s.mask_grid)
        self.mask_optimizer = (torch.optim.Adam([self.masks.logits], lr=s.mask_learning_rate)
                               if s.optimise_masks else None)

    def _apply_commands(self) -> bool:
        """Apply queued commands; True when a stop was requested."""
        stop = False
        while True:
            try:
                command, arg = self._commands.get_nowait()
            except queue.Empty:
                return stop
            if command == "stop":
                stop = True
            elif command == "add_steps":
                self.schedule.extend(arg, at_step=self.step)
            elif command == "set_masks":
                self._set_masks(check_masks(torch.as_tensor(arg),
                                            self.generator.img_resolution))

    def _progress(self, *, finished=False, stopped=False, with_preview=False):
        preview = self._preview() if with_preview or finished or stopped else None
        return InversionProgress(step=self.step, total_steps=self.total_steps,
                                 losses=dict(self.last_losses),
                                 learning_rate=self.schedule.lr(max(self.step - 1, 0)),
                                 elapsed_seconds=self.seconds, preview=preview,
                                 finished=finished, stopped=stopped)

    @torch.no_grad()
    def _preview(self) -> np.ndarray:
        output = self.render()[0]
        size = min(self.settings.preview_size, output.shape[-1])
        if output.shape[-1] > size:
            output = torch.nn.functional.interpolate(output, size=(size, size), mode="area")
        return images_to_uint8(output)[0]


def _check_target(target: torch.Tensor, generator: Generator) -> torch.Tensor:
    target = torch.as_tensor(target, dtype=torch.float32)
    if target.ndim == 3:
        target = target.unsqueeze(0)
    r = generator.img_resolution
    if target.shape != (1, generator.img_channels, r, r):
        raise InvalidInputError(f"The image to invert must be {r}x{r} with "
                                f"{generator.img_channels} channels (got {list(target.shape)}); "
                                "align or resize it first.")
    if not torch.isfinite(target).all():
        raise InvalidInputError("The image to invert contains NaN or infinite values.")
    return target
