"""ChunkyGAN inversion: one latent code per chunk, soft masks, a job that stops at once.

    control = JobControl()
    job = InversionJob(generator, target, masks, settings, loss, control=control)
    for progress in job.run():        # yields after every step
        ...                           # control.stop() (or job.stop()) from any thread
    result = job.result()

`run()` returns when the planned steps are done or a stop was requested; calling it
again resumes exactly where it stopped (the optimiser state and the step counter live
in the job). The job looks at the control between chunk passes and between the forward
and the backward pass, so a stop takes at most one chunk pass; the unfinished step is
dropped (the codes stay those of the last full step).

A step's gradient. The composite O = Σ_i G(z_i)·s_i + I·s_photo is linear in each
chunk's image, so dL/dz_i is G's backward pass of dL/dO·s_i (plus the regulariser's).
- "batched": every chunk in one synthesis call and one backward pass; it keeps the
  activations of all chunks at once (~3.4 GB per chunk at 1024² on the CPU).
- grouped, k chunks a pass (k < n): the first group is rendered with gradients, the
  other groups without (keeping no activations); the loss gives dL/dO (and the masks'
  gradient); then the first group is backpropagated and each other group rendered
  again, with gradients, and backpropagated with dL/dO·s_i. The same gradients for the
  activations of k chunks and n-k more chunk forwards (on the CPU a forward costs about
  0.7 of a backward, so k = 1 takes about 1 + (n-1)/(2.4n) the batched step's time).
  "per_chunk" is k = 1; "auto" takes the largest k whose activations fit the available
  memory (`core.invert.memory.chunks_per_pass`), k = n being the batched step.

The preview is the composite the step computed anyway (it shows the codes the step
started from, the ones its losses describe); `seconds` is the wall time of the steps
including previews and the final render.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np
import torch

from core.errors import InvalidInputError
from core.invert.losses import ReconstructionLoss
from core.invert.masks import COVERAGES, ChunkMasks, Coverage, check_masks, composite
from core.invert.memory import (
    GRADIENT_MODES,
    GradientMode,
    activation_bytes_per_chunk,
    available_bytes,
    chunks_per_pass,
    freed_memory_kept,
)
from core.invert.schedule import LrSchedule
from core.jobs import JobControl, control_or_new
from core.latents.codes import SPACES, ChunkCode, CodeSpace, Space
from core.stylegan import Generator, images_to_uint8

Autocast = Literal["off", "bf16", "fp16"]
AUTOCASTS: tuple[Autocast, ...] = get_args(Autocast)
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


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
    gradient_mode: GradientMode = "auto"  # see the module notes
    autocast: Autocast = "off"  # mixed precision for the generator: bf16 (CPU, CUDA), fp16 (CUDA)

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise InvalidInputError(f"Unknown latent space {self.space!r}; use one of {SPACES}.")
        if self.coverage not in COVERAGES:
            raise InvalidInputError(f"Unknown coverage {self.coverage!r}; use one of {COVERAGES}.")
        if self.steps < 0:
            raise InvalidInputError("The number of steps cannot be negative.")
        if self.lambda_reg < 0 or self.lambda_mask < 0:
            raise InvalidInputError("Regulariser weights cannot be negative.")
        if self.gradient_mode not in GRADIENT_MODES:
            raise InvalidInputError(f"Unknown gradient mode {self.gradient_mode!r}; use one of "
                                    f"{GRADIENT_MODES}.")
        if self.autocast not in AUTOCASTS:
            raise InvalidInputError(f"Unknown autocast {self.autocast!r}; use one of "
                                    f"{AUTOCASTS}.")


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


class _StepStopped(Exception):
    """A stop request seen inside a step: the step is dropped."""


class InversionJob:
    def __init__(self, generator: Generator, target: torch.Tensor, masks: torch.Tensor,
                 settings: InversionSettings, loss: ReconstructionLoss, *,
                 initial_codes: list[ChunkCode] | None = None,
                 control: JobControl | None = None):
        self.generator, self.settings, self.loss = generator, settings, loss
        self.control = control_or_new(control)
        self.device = generator.w_avg.device
        self.codes_space = CodeSpace(generator)
        self.target = _check_target(target, generator).to(self.device)
        user_masks = check_masks(torch.as_tensor(masks), generator.img_resolution)
        self.step = 0
        self.seconds = 0.0
        self.schedule = LrSchedule(settings.learning_rate, settings.steps)
        self._autocast_dtype = _autocast_dtype(settings.autocast, self.device)

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
        self.masks = ChunkMasks(user_masks.to(self.device), settings.coverage,
                                optimise=settings.optimise_masks, grid=settings.mask_grid)
        self.mask_optimizer = (torch.optim.Adam([self.masks.logits],
                                                lr=settings.mask_learning_rate)
                               if settings.optimise_masks else None)
        self.chunks_per_pass = chunks_per_pass(
            settings.gradient_mode, len(self.codes), activation_bytes_per_chunk(generator),
            available_bytes(self.device) if settings.gradient_mode == "auto" else None)
        self.last_losses: dict[str, float] = {}
        self._last_output: torch.Tensor | None = None  # the last step's composite
        self._rendered: tuple[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] | None = None

    def stop(self) -> None:
        """Ask run() to stop within one chunk pass; safe from any thread."""
        self.control.stop()

    @property
    def gradient_mode(self) -> str:
        """What the step does: "batched" (all chunks a pass), "per_chunk" or "grouped"."""
        if self.chunks_per_pass >= len(self.codes):
            return "batched"
        return "per_chunk" if self.chunks_per_pass == 1 else "grouped"

    @property
    def total_steps(self) -> int:
        return self.schedule.total_steps

    # -- running --------------------------------------------------------------------------

    def run(self) -> Iterator[InversionProgress]:
        """Optimise until the planned steps are done or a stop is requested; resumable."""
        s = self.settings
        last_preview_time = time.monotonic()
        with freed_memory_kept():
            while True:
                started = time.perf_counter()
                if self.control.stop_requested:
                    yield self._stopped(started)
                    return
                if self.step >= self.total_steps:
                    output = self.render()[0]  # cached: result() uses the same render
                    preview = self._preview(output)
                    self.seconds += time.perf_counter() - started
                    yield self._progress(preview=preview, finished=True)
                    return
                try:
                    self.last_losses = self._optimisation_step()
                except _StepStopped:
                    yield self._stopped(started)
                    return
                preview = None
                if (self.step % max(s.preview_every_steps, 1) == 0
                        or time.monotonic() - last_preview_time >= s.preview_every_seconds):
                    last_preview_time = time.monotonic()
                    preview = self._preview(self._last_output)
                self.seconds += time.perf_counter() - started
                yield self._progress(preview=preview)

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
        self._zero_grad()
        try:
            if self.chunks_per_pass >= len(self.codes):
                parts = self._batched_gradients()
            else:
                parts = self._grouped_gradients()
        except _StepStopped:
            self._zero_grad()  # a partial gradient must not leak into the next step
            raise
        self.code_optimizer.step()
        if self.mask_optimizer is not None:
            self.mask_optimizer.step()
        self.step += 1
        return {k: float(v.detach()) for k, v in parts.items()}

    def _batched_gradients(self) -> dict[str, torch.Tensor]:
        with self._precision():
            images = self.codes_space.render(self.codes, force_fp32=self.settings.force_fp32)
        chunk, photo = self.masks()
        output = composite(images.float(), chunk, photo, self.target)
        reg = sum(self.codes_space.regulariser(c) for c in self.codes)
        total, parts = self._objective(output, chunk, reg)
        self._checkpoint()  # between the forward and the backward pass
        total.backward()
        self._last_output = output.detach()
        return parts

    def _grouped_gradients(self) -> dict[str, torch.Tensor]:
        s = self.settings
        n, k = len(self.codes), self.chunks_per_pass
        groups = [range(first, min(first + k, n)) for first in range(0, n, k)]
        self._checkpoint()
        kept = self._render_chunks(groups[0])  # its graph is kept: no second pass for it
        others = []
        for group in groups[1:]:  # no-grad passes of k chunks: less memory than the first
            self._checkpoint()    # (one pass of all the others: 5 chunks peaked at 8.5 GB)
            with torch.no_grad():
                others.append(self._render_chunks(group))
        images = torch.cat([kept.detach(), *others])
        del others
        chunk, photo = self.masks()
        output = composite(images, chunk, photo, self.target)
        if not output.requires_grad:  # fixed masks: O itself is where backward starts
            output.requires_grad_(True)
        output.retain_grad()
        with torch.no_grad():
            reg = sum(self.codes_space.regulariser(c) for c in self.codes)
        total, parts = self._objective(output, chunk, reg)
        self._checkpoint()  # between the forward and the backward passes
        total.backward()  # dL/dO, and the masks' whole gradient
        grad_output = output.grad
        weights = chunk.detach()
        self._last_output = output.detach()
        del images, output, total
        for number, group in enumerate(groups):
            if number > 0:
                self._checkpoint()
                kept = self._render_chunks(group)
            # dL/dz_i = G's backward of dL/dO·s_i, plus the regulariser's own gradient
            tensors, grads = [kept], [grad_output * weights[group.start:group.stop]]
            group_reg = sum(self.codes_space.regulariser(self.codes[i]) for i in group)
            if isinstance(group_reg, torch.Tensor) and group_reg.requires_grad:
                tensors.append(group_reg)
                grads.append(torch.tensor(s.lambda_reg, device=self.device))
            torch.autograd.backward(tensors, grads)
            del kept, group_reg, tensors, grads
        return parts

    def _objective(self, output: torch.Tensor, chunk: torch.Tensor, reg: torch.Tensor):
        """(total, parts): reconstruction + λ_reg·reg (+ λ_mask·mask drift)."""
        s = self.settings
        total, parts = self.loss(output, self.target)
        total = total + s.lambda_reg * reg
        parts = dict(parts, reg=reg)
        if self.mask_optimizer is not None:
            mask_term = self.masks.penalty(chunk)
            total = total + s.lambda_mask * mask_term
            parts["mask"] = mask_term
        return total, {"total": total, **parts}

    def _render_chunks(self, chunks: range) -> torch.Tensor:
        """Images [len(chunks),C,R,R] of these chunks, in one synthesis pass."""
        if not chunks:
            r = self.generator.img_resolution
            return torch.empty(0, self.generator.img_channels, r, r, device=self.device)
        with self._precision():
            images = self.codes_space.render([self.codes[i] for i in chunks],
                                             force_fp32=self.settings.force_fp32)
        return images.float()

    def _precision(self):
        if self._autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self._autocast_dtype)

    def _checkpoint(self) -> None:
        if self.control.stop_requested:
            raise _StepStopped

    def _zero_grad(self) -> None:
        self.code_optimizer.zero_grad(set_to_none=True)
        if self.mask_optimizer is not None:
            self.mask_optimizer.zero_grad(set_to_none=True)

    # -- results --------------------------------------------------------------------------

    @torch.no_grad()
    def render(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(composite [1,C,R,R], chunk images [n,C,R,R], chunk weights [n,R,R]) right now.

        Rendered once per state of the codes, all chunks in one pass (without gradients
        a pass keeps no activations, whatever the gradient mode).
        """
        if self._rendered is not None and self._rendered[0] == self.step:
            return self._rendered[1]
        images = self._render_chunks(range(len(self.codes)))
        chunk, photo = self.masks()
        rendered = (composite(images, chunk, photo, self.target), images, chunk[:, 0])
        self._rendered = (self.step, rendered)
        return rendered

    def result(self) -> InversionResult:
        output, images, weights = self.render()
        return InversionResult(codes=[c.detached() for c in self.codes], masks=weights.cpu(),
                               output=output.cpu(), chunk_images=images.cpu(), steps=self.step,
                               seconds=self.seconds, losses=dict(self.last_losses))

    # -- internals ------------------------------------------------------------------------

    def _stopped(self, started: float) -> InversionProgress:
        """Honour a stop: the control is cleared so that run() again goes on."""
        self.control.acknowledge()
        preview = self._preview(self._last_output) if self._last_output is not None else None
        self.seconds += time.perf_counter() - started
        return self._progress(preview=preview, stopped=True)

    def _progress(self, *, preview: np.ndarray | None, finished=False, stopped=False):
        return InversionProgress(step=self.step, total_steps=self.total_steps,
                                 losses=dict(self.last_losses),
                                 learning_rate=self.schedule.lr(max(self.step - 1, 0)),
                                 elapsed_seconds=self.seconds, preview=preview,
                                 finished=finished, stopped=stopped)

    def _preview(self, output: torch.Tensor) -> np.ndarray:
        size = min(self.settings.preview_size, output.shape[-1])
        if output.shape[-1] > size:
            output = torch.nn.functional.interpolate(output, size=(size, size), mode="area")
        return images_to_uint8(output)[0]


def _autocast_dtype(autocast: Autocast, device: torch.device) -> torch.dtype | None:
    if autocast == "off":
        return None
    if device.type not in ("cpu", "cuda"):
        raise InvalidInputError(f"Mixed precision is available on the CPU and CUDA, not on "
                                f"{device.type}; set autocast to off.")
    if autocast == "fp16" and device.type != "cuda":
        raise InvalidInputError("fp16 autocast needs a CUDA device; on the CPU use bf16.")
    if autocast == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise InvalidInputError("This GPU has no bf16 support; use fp16 autocast.")
    return _AUTOCAST_DTYPES[autocast]


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
