"""Hairstyle transfer: photo B's hair on photo A's head, as a stoppable, resumable job.

    job = HairTransferJob(G, prepared_a, prepared_b, chunks_a, chunks_b, settings,
                          lpips=lpips, pose_directions={"yaw": yaw, "pitch": pitch})
    for progress in job.run():      # stage, step, total, now and then a preview
        ...                         # control.stop() from any thread; run() again resumes
    result = job.result()           # output, metrics, document(), interpolate(t)
    kept = job.partial_result()     # after a stop: what it reached (or None), resumable

Stages:
1. `invert_identity`: ChunkyGAN inversion of A, one code per chunk (background, face,
   hair, eyes, mouth...).
2. `invert_hair`: B's head (hair and face together, so the code renders B's whole head and
   its pose can be measured on the render) as one code over the rest of B.
3. `pose`: B's head code moves along the learned yaw (then pitch) direction until the
   pose measured on its render matches A's (`core.hair.pose`); the hair mask follows the
   head. The hair target is then that render (B's own pixels when nothing moved), relit
   to A's lighting (`core.hair.lighting`).
4. `refine`: the joint refinement of the hair code and the mask boundary
   (`core.hair.refine`).
5. `finish`: composition (`core.hair.compose`), metrics.

Same photo twice (A = B, same masks): B's inversion is A's, so A comes back as its own
reconstruction inside the hair and unchanged everywhere else.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from core.device import describe_device
from core.edit.directions import Direction
from core.errors import InvalidInputError, JobCancelled
from core.face.align import AlignTransform
from core.face.identity import identity_distance
from core.face.pasteback import paste_back
from core.face.prepare import PreparedPhoto
from core.hair.chunks import NoHairError, TransferChunks
from core.hair.compose import (
    HairBlender,
    HairMorph,
    changed_region,
    compose,
    document_weights,
    regeneration_partition,
    stack_masks,
)
from core.hair.lighting import Lighting, lighting_between, relight
from core.hair.pose import (
    Pose,
    PoseEstimator,
    PoseMatch,
    PoseMatchSettings,
    follow_head,
    landmark_pose,
    match_pose,
)
from core.hair.refine import JointRefinement, RefineWeights, RegionLoss, inpaint_hair
from core.invert.engine import InversionJob, InversionResult, InversionSettings
from core.invert.losses import LOSS_KINDS, LossKind, Lpips, ReconstructionLoss
from core.jobs import JobControl, control_or_new
from core.latents import SPACES, Space
from core.latents.codes import ChunkCode, CodeSpace
from core.project import Document
from core.stylegan import Generator as StyleGenerator
from core.stylegan import images_to_uint8, uint8_to_images

STAGES: tuple[str, ...] = ("invert_identity", "invert_hair", "pose", "refine", "finish")
STAGE_LABELS = {
    "invert_identity": "Inverting the identity photo",
    "invert_hair": "Inverting the hair photo",
    "pose": "Matching the head pose",
    "refine": "Refining the hair",
    "finish": "Composing",
}
# Share of the whole job each stage takes, for one overall progress figure.
_STAGE_WEIGHTS = {"invert_identity": 0.45, "invert_hair": 0.3, "pose": 0.05, "refine": 0.17,
                  "finish": 0.03}
HAIR_CHUNK = "hair"

IdentityMetric = Callable[[np.ndarray, np.ndarray], float | None]


@dataclass(frozen=True)
class HairTransferSettings:
    space: Space = "wplus"
    loss: LossKind = "lpips+l2"
    inversion_steps: int = 100  # per photo; 20 s for a whole transfer at 1024² is the goal
    lambda_reg: float = 1.0  # inversion: ChunkyGAN's regulariser towards the mean code
    learning_rate: float = 0.1
    pose_match: bool = True
    pose: PoseMatchSettings = field(default_factory=PoseMatchSettings)
    lighting: bool = True  # relight the hair to the identity photo's lighting
    refine_steps: int = 40
    refine_learning_rate: float = 0.02
    mask_learning_rate: float = 0.05
    mask_band: float = 0.03  # how far the hair outline may move, as a fraction of the side
    mask_grid: int = 64
    change_margin: float = 0.02  # around both hair regions, as a fraction of the side
    refine_regenerated: bool = True  # let A's codes that fill uncovered old hair adapt
    weights: RefineWeights = field(default_factory=RefineWeights)
    seed: int = 0
    preview_every_steps: int = 10
    preview_size: int = 256
    force_fp32: bool = False

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise InvalidInputError(f"Unknown latent space {self.space!r}; use one of {SPACES}.")
        if self.loss not in LOSS_KINDS:
            raise InvalidInputError(f"Unknown loss {self.loss!r}; choose one of {LOSS_KINDS}.")
        if self.inversion_steps < 0 or self.refine_steps < 0:
            raise InvalidInputError("The number of steps cannot be negative.")
        if not (0 <= self.mask_band < 0.5 and 0 <= self.change_margin < 0.5):
            raise InvalidInputError("The mask band and the change margin are fractions of the "
                                    "image side below one half.")

    def inversion_settings(self) -> InversionSettings:
        return InversionSettings(space=self.space, steps=self.inversion_steps,
                                 lambda_reg=self.lambda_reg, learning_rate=self.learning_rate,
                                 coverage="edit_regions", seed=self.seed,
                                 preview_every_steps=self.preview_every_steps,
                                 preview_size=self.preview_size, force_fp32=self.force_fp32)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class HairProgress:
    stage: str
    label: str
    step: int  # within the stage
    total: int
    overall: float  # 0..1 over the whole job
    elapsed_seconds: float
    losses: dict[str, float] = field(default_factory=dict)
    preview: np.ndarray | None = None  # uint8 [h, w, 3], now and then
    finished: bool = False
    stopped: bool = False


@dataclass
class HairTransferResult:
    """The transfer: aligned output, what changed, the chunks and figures, and the slider."""

    output: np.ndarray  # uint8 [R, R, 3], A with B's hair (A's pixels outside `changed`)
    changed: np.ndarray  # float32 [R, R]: where the output may differ from A (paste-back)
    hair_mask: np.ndarray  # float32 [R, R]: the new hair's region
    names: list[str]  # chunk names, bottom to top (the hair last)
    codes: list[ChunkCode]
    weights: list[np.ndarray]  # the chunk weights whose composite is the transfer
    metrics: dict
    notes: list[str]
    pose: PoseMatch | None
    lighting: Lighting | None
    transform: AlignTransform  # A's alignment
    settings: HairTransferSettings
    blender: HairBlender
    stopped: bool = False  # the job was stopped: what it had reached (`partial_result`)

    def interpolate(self, t: float) -> np.ndarray:
        """uint8 [R, R, 3]: A's own hair at t = 0, the transferred hair at t = 1 (equal to
        `output`), codes interpolated and the mask morphing in between."""
        return self.blender(t)

    def full_photo(self, photo_rgb: np.ndarray, aligned: np.ndarray | None = None
                   ) -> np.ndarray:
        """The output (or another aligned image, e.g. `interpolate(t)`) pasted back into A's
        full-resolution photo; pixels outside the changed region stay bit for bit."""
        image = self.output if aligned is None else aligned
        return paste_back(photo_rgb, image, self.transform, self.changed)

    def document(self, *, photo_bytes: bytes | None = None, photo_name: str = "",
                 generator_id: str | None = None, generator_sha256: str | None = None
                 ) -> Document:
        """A project of the edited photo: its aligned image is the output, its photo (when
        given) the pasted-back output file, and every chunk keeps its code, so all of them
        (the new hair too) stay editable. The chunk weights compose the transfer."""
        inversion = self.settings.inversion_settings()
        doc = Document(aligned=self.output.copy(), photo_bytes=photo_bytes,
                       photo_name=photo_name, transform=self.transform.to_json(),
                       generator_id=generator_id, generator_sha256=generator_sha256,
                       inversion={"settings": dataclasses.asdict(inversion),
                                  "metrics": _json_safe(self.metrics),
                                  "hair_transfer": _json_safe(self.settings.to_json())})
        for name, code, weight in zip(self.names, self.codes, self.weights, strict=True):
            if float(weight.max()) < 1e-3:
                continue  # covered completely by the new hair
            doc.add_chunk(weight, name=name, space=code.space,
                          code=code.value.detach().cpu().numpy().astype(np.float32))
        doc.validate()
        return doc


def carry_edits(source: Document, result: Document) -> list[str]:
    """Give the transfer's result the edits the user made on `source` (photo A): each
    chunk's edits go to the result's chunk of the same name. Edits of the hair (replaced
    by the new hair) and of chunks the result does not have stay behind; their chunk
    names are returned, for a message."""
    left: list[str] = []
    for chunk in source.chunks:
        if not chunk.edits:
            continue
        target = next((c for c in result.chunks if c.name == chunk.name), None)
        if target is None or chunk.name == HAIR_CHUNK:
            left.append(chunk.name)
            continue
        target.edits = [dataclasses.replace(edit) for edit in chunk.edits]
    result.validate()
    return left


def png_bytes(rgb: np.ndarray) -> bytes:
    """Lossless PNG bytes of a uint8 image (e.g. a project's photo made in memory)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG")
    return buffer.getvalue()


class HairTransferJob:
    """Puts the hair of `hair` (B) on `identity` (A); see the module docstring."""

    def __init__(self, generator: StyleGenerator, identity: PreparedPhoto, hair: PreparedPhoto,
                 identity_chunks: TransferChunks, hair_chunks: TransferChunks,
                 settings: HairTransferSettings | None = None, *, lpips: Lpips | None = None,
                 pose_directions: Mapping[str, Direction] | None = None,
                 pose_estimator: PoseEstimator | None = landmark_pose,
                 identity_metric: IdentityMetric | None = identity_distance,
                 initial_codes_a: list[ChunkCode] | None = None,
                 initial_code_b: ChunkCode | None = None,
                 control: JobControl | None = None):
        # initial_codes_a (one per identity chunk) and initial_code_b (B's head): where
        # the two inversions start, e.g. an encoder's guess; None: the mean face.
        self.generator = generator
        self.control = control_or_new(control)
        self.settings = s = settings or HairTransferSettings()
        self.device = generator.w_avg.device
        self.code_space = CodeSpace(generator)
        r = generator.img_resolution
        for prepared, chunks, who in ((identity, identity_chunks, "identity"),
                                      (hair, hair_chunks, "hair")):
            if prepared.aligned.shape != (r, r, 3):
                raise InvalidInputError(f"The {who} photo must be aligned to {r}x{r} for this "
                                        f"generator, not {list(prepared.aligned.shape)}.")
            if any(m.shape != (r, r) for m in chunks.masks.values()):
                raise InvalidInputError(f"The {who} photo's chunk masks must be {r}x{r}.")
        if not hair_chunks.has_hair:
            raise NoHairError("The hair photo has no hair chunk, so there is no hair to "
                              "transfer.")
        self.identity, self.hair = identity, hair
        self.identity_chunks, self.hair_chunks = identity_chunks, hair_chunks
        self.lpips = lpips
        self.loss = ReconstructionLoss(s.loss, lpips_model=lpips if "lpips" in s.loss
                                       else None)
        self.region_loss = RegionLoss(s.loss, lpips)
        self.pose_directions = dict(pose_directions or {})
        self.pose_estimator = pose_estimator
        self.identity_metric = identity_metric
        self.notes: list[str] = [*identity_chunks.notes, *hair_chunks.notes]

        self.photo_a = uint8_to_images(identity.aligned, self.device)
        self.photo_b = uint8_to_images(hair.aligned, self.device)
        self.names_a = list(identity_chunks.masks)
        inversion = s.inversion_settings()
        self._job_a = InversionJob(generator, self.photo_a,
                                   stack_masks(identity_chunks.masks.values(), "cpu"),
                                   inversion, self.loss, initial_codes=initial_codes_a,
                                   control=self.control)
        self.same_photo = _same_photo(identity, hair, identity_chunks, hair_chunks)
        self._job_b = None if self.same_photo else InversionJob(
            generator, self.photo_b, torch.from_numpy(_head_mask(hair_chunks))[None],
            inversion, self.loss,
            initial_codes=None if initial_code_b is None else [initial_code_b],
            control=self.control)

        self._stage = 0
        self._announced = -1
        self.seconds = 0.0
        self._result_a: InversionResult | None = None
        self._hair_code_b: ChunkCode | None = None
        self._pose: PoseMatch | None = None
        self._lighting: Lighting | None = None
        self._posed_hair: torch.Tensor | None = None  # pose-corrected hair, before relighting
        self._refinement: JointRefinement | None = None
        self._hair_mask0: np.ndarray | None = None
        self._partition: tuple[list[str], np.ndarray] | None = None
        self._result: HairTransferResult | None = None

    # -- commands ------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask run() to return after the current step (the same as `control.stop()`)."""
        self.control.stop()

    @property
    def stage(self) -> str:
        return STAGES[min(self._stage, len(STAGES) - 1)]

    @property
    def finished(self) -> bool:
        return self._result is not None

    # -- running -------------------------------------------------------------------------

    def run(self) -> Iterator[HairProgress]:
        """Run the stages until done or stop() is called; calling it again resumes."""
        while self._result is None:
            if self.control.stop_requested:
                self.control.acknowledge()
                yield self._progress(0, 1, stopped=True)
                return
            stage = self.stage
            if self._announced != self._stage:  # a stage begins: say so before its work
                self._announced = self._stage
                yield self._progress(0, self._stage_total(stage))
                continue
            if stage in ("invert_identity", "invert_hair"):
                job = self._job_a if stage == "invert_identity" else self._job_b
                if job is not None:
                    stopped = yield from self._run_inversion(job)
                    if stopped:
                        return
                self._finish_inversion(stage)
            elif stage == "pose":
                started = time.perf_counter()
                self._match_pose()
                self.seconds += time.perf_counter() - started
                yield self._progress(1, 1)
            elif stage == "refine":
                stopped = yield from self._run_refinement()
                if stopped:
                    return
            else:
                started = time.perf_counter()
                result = self._finish()
                self.seconds += time.perf_counter() - started
                result.metrics["seconds"] = round(self.seconds, 3)
                self._result = result
                break
            self._stage += 1
        yield self._progress(1, 1, finished=True, preview=self._small(self._result.output))

    def _stage_total(self, stage: str) -> int:
        if stage in ("invert_identity", "invert_hair"):
            job = self._job_a if stage == "invert_identity" else self._job_b
            return job.total_steps if job is not None else 0
        return self.settings.refine_steps if stage == "refine" else 1

    def run_to_end(self) -> HairTransferResult:
        for _ in self.run():
            pass
        return self.result()

    def result(self) -> HairTransferResult:
        if self._result is None:
            raise JobCancelled("The hair transfer was stopped before it finished; run it "
                               "again to continue.")
        return self._result

    def partial_result(self) -> HairTransferResult | None:
        """What a stopped transfer has reached, composed as a result marked `stopped` (the
        finished result once it is done). From the hair photo's inversion on, its code so
        far is B's hair, unposed and unrefined; during the refinement, the refinement so
        far. None before the hair photo's inversion has taken a step: there is no hair to
        put on A yet. The job stays resumable: `run()` again goes on where it stopped."""
        if self._result is not None:
            return self._result
        stage = self.stage
        if self._result_a is None or (stage == "invert_hair" and self._job_b is not None
                                      and self._job_b.step == 0):
            return None
        notes = list(self.notes)
        try:
            if self._stage < STAGES.index("refine"):
                # Stages the job redoes when it resumes: B's code as it is now, no pose
                # matching (renders that would delay the stop), no refinement steps.
                self._finish_inversion("invert_hair")
                self._match_pose(matching=False)
                job_b = self._job_b or self._job_a  # the same photo: A's inversion is B's
                where = (f"while inverting the hair photo ({job_b.step} of "
                         f"{job_b.total_steps} steps)" if stage == "invert_hair"
                         else "before the head pose was matched")
                self.notes.append(
                    f"Stopped {where}: the new hair is kept as inverted so far, its head "
                    "pose not matched and not refined; transfer again for the full result.")
            else:
                refine = self._refinement
                self.notes.append(
                    f"Stopped while refining the hair ({refine.step_count} of "
                    f"{refine.total_steps} steps): the hair is kept as refined so far; "
                    "transfer again for the full result.")
            return self._finish(stopped_in=stage)
        finally:
            self.notes = notes

    # -- stages --------------------------------------------------------------------------

    def _run_inversion(self, job: InversionJob) -> Generator[HairProgress, None, bool]:
        started = time.perf_counter()
        for progress in job.run():
            self.seconds += time.perf_counter() - started
            if progress.stopped:  # the inversion shares our control and has honoured it
                yield self._progress(progress.step, progress.total_steps, stopped=True,
                                     losses=progress.losses, preview=progress.preview)
                return True
            yield self._progress(progress.step, progress.total_steps, losses=progress.losses,
                                 preview=progress.preview)
            started = time.perf_counter()
        self.seconds += time.perf_counter() - started
        return False

    def _finish_inversion(self, stage: str) -> None:
        if stage == "invert_identity":
            self._result_a = self._job_a.result()
            return
        if self._job_b is None:  # the same photo: A's hair code is B's
            code = self._result_a.codes[self.names_a.index(HAIR_CHUNK)]
        else:
            code = self._job_b.result().codes[0]
        self._hair_code_b = ChunkCode(code.space, code.value.to(self.device))

    def _match_pose(self, *, matching: bool = True) -> None:
        s = self.settings
        b_hair = self.hair_chunks.hair
        pose = None
        if (matching and s.pose_match and self.pose_estimator is not None
                and not self.same_photo):
            target = self.pose_estimator(self.identity.aligned)
            pose = match_pose(self.code_space, self._hair_code_b, target,
                              self.pose_directions, self.pose_estimator, s.pose,
                              force_fp32=s.force_fp32)
            self.notes += pose.notes
        self._pose = pose
        code = pose.code if pose is not None else self._hair_code_b
        moved = pose is not None and pose.moved
        mask = follow_head(b_hair, pose.landmarks_before, pose.landmarks_after) if moved \
            else b_hair.copy()
        if moved and float((mask >= 0.5).mean()) < 0.5 * float((b_hair >= 0.5).mean()):
            self.notes.append("The hair mask could not follow the head's turn; it is used as "
                              "it was.")
            mask = b_hair.copy()
        with torch.no_grad():
            posed = self.code_space.render([code], force_fp32=s.force_fp32) if moved \
                else self.photo_b
        self._posed_hair = posed
        target = posed
        lighting = None
        if s.lighting:
            skin_a, skin_b = self.identity_chunks.skin(), self.hair_chunks.skin()
            if skin_a is None or skin_b is None:
                self.notes.append("Without a face in both photos there is no skin to measure "
                                  "the lighting on; the hair keeps its own lighting.")
            else:
                lighting = lighting_between(self.identity.aligned, skin_a, self.hair.aligned,
                                            skin_b)
                if lighting is not None:
                    target = relight(posed, lighting)
        self._lighting = lighting
        self._hair_mask0 = mask.astype(np.float32)
        self._start_refinement(code, target)

    def _start_refinement(self, hair_code: ChunkCode, hair_target: torch.Tensor) -> None:
        s = self.settings
        masks = self.identity_chunks.masks
        names, partition = regeneration_partition(masks, HAIR_CHUNK)
        self._partition = (names, partition)
        codes_a = dict(zip(self.names_a, self._result_a.codes, strict=True))
        images_a = dict(zip(self.names_a, self._result_a.chunk_images, strict=True))
        other_codes = [codes_a[n] for n in names] if set(names) <= set(codes_a) else None
        if other_codes is None:  # only hair was given: one mean code fills the rest
            other_codes = [self.code_space.mean_code(s.space)]
            other_images = self.code_space.render(other_codes).detach().cpu()
        else:
            other_images = torch.stack([images_a[n] for n in names])
        r = self.generator.img_resolution
        old_hair = self.identity_chunks.hair
        mask0 = self._hair_mask0
        regen = old_hair * (1 - mask0)
        regen_px = (partition * regen[None]).reshape(len(names), -1).sum(1)
        trainable = [bool(s.refine_regenerated and px >= 1.0) for px in regen_px]
        clean = inpaint_hair(self.identity.aligned, np.maximum(old_hair, mask0))
        dev = self.device
        self._refinement = JointRefinement(
            self.code_space, ChunkCode(hair_code.space, hair_code.value.to(dev)),
            [ChunkCode(c.space, c.value.to(dev)) for c in other_codes], trainable,
            other_images.to(dev), torch.from_numpy(partition).to(dev),
            torch.from_numpy(mask0).to(dev), hair_target.to(dev), self.photo_a,
            uint8_to_images(clean, dev), torch.from_numpy(old_hair.astype(np.float32)).to(dev),
            torch.from_numpy(self.identity_chunks.face_parts()).to(dev), self.region_loss,
            steps=s.refine_steps, learning_rate=s.refine_learning_rate,
            mask_learning_rate=s.mask_learning_rate,
            band_px=round(s.mask_band * r), mask_grid=s.mask_grid, weights=s.weights,
            force_fp32=s.force_fp32)

    def _run_refinement(self) -> Generator[HairProgress, None, bool]:
        refinement = self._refinement
        every = max(self.settings.preview_every_steps, 1)
        while refinement.step_count < refinement.total_steps:
            if self.control.stop_requested:
                self.control.acknowledge()
                yield self._progress(refinement.step_count, refinement.total_steps,
                                     stopped=True, losses=refinement.last_losses)
                return True
            started = time.perf_counter()
            losses = refinement.step()
            self.seconds += time.perf_counter() - started
            preview = None
            if refinement.step_count % every == 0:
                preview = self._refinement_preview()
            yield self._progress(refinement.step_count, refinement.total_steps, losses=losses,
                                 preview=preview)
        return False

    @torch.no_grad()
    def _refinement_preview(self) -> np.ndarray:
        hair_code, _, mask, others = self._refinement.state()
        _, partition = self._partition
        k = changed_region(self.identity_chunks.hair, mask.cpu().numpy(),
                           self.settings.change_margin * self.generator.img_resolution)
        dev = self.device
        hair = self.code_space.render([hair_code], force_fp32=self.settings.force_fp32)
        image = compose(hair, others, mask, torch.from_numpy(partition).to(dev), self.photo_a,
                        torch.from_numpy(k).to(dev))
        return self._small(images_to_uint8(image)[0])

    @torch.no_grad()
    def _finish(self, *, stopped_in: str | None = None) -> HairTransferResult:
        s = self.settings
        dev = self.device
        hair_code, other_codes, mask_t, others = self._refinement.state()
        mask = mask_t.cpu().numpy().astype(np.float32)
        names, partition = self._partition
        old_hair = self.identity_chunks.hair
        changed = changed_region(old_hair, mask, s.change_margin * self.generator.img_resolution)
        start_code = None
        if self.identity_chunks.has_hair:
            start_code = self._result_a.codes[self.names_a.index(HAIR_CHUNK)]
            start_code = ChunkCode(start_code.space, start_code.value.to(dev))
        blender = HairBlender(self.code_space, start_code, hair_code,
                              HairMorph(old_hair, mask, softness_px=max(1.0, 0.0015 *
                                                                        mask.shape[0])),
                              others, torch.from_numpy(partition).to(dev), self.photo_a,
                              torch.from_numpy(changed).to(dev), force_fp32=s.force_fp32)
        output = blender(1.0)
        weights = document_weights(mask, partition)
        metrics = self._metrics(output, mask, old_hair, stopped_in)
        return HairTransferResult(
            output=output, changed=changed, hair_mask=mask, names=[*names, HAIR_CHUNK],
            codes=[*other_codes, hair_code], weights=weights, metrics=metrics,
            notes=list(self.notes), pose=self._pose, lighting=self._lighting,
            transform=self.identity.transform, settings=s, blender=blender,
            stopped=stopped_in is not None)

    def _metrics(self, output: np.ndarray, mask: np.ndarray, old_hair: np.ndarray,
                 stopped_in: str | None = None) -> dict:
        identity_a = identity_b = None
        if self.identity_metric is not None:
            identity_a = self.identity_metric(output, self.identity.aligned)
            identity_b = self.identity_metric(output, self.hair.aligned)
        out = uint8_to_images(output, self.device)
        hair = torch.from_numpy(mask).to(self.device)
        keep = torch.from_numpy((1 - mask) * (1 - old_hair)).to(self.device)
        hair_lpips = outside_lpips = None
        if self.lpips is not None:
            with torch.no_grad():
                hair_lpips = float(self.lpips(out * hair, self._posed_hair * hair))
                outside_lpips = float(self.lpips(out * keep, self.photo_a * keep))
        diff = (out - self.photo_a).square().mean(1)[0] / 4  # MSE of [0, 1] pixels
        outside_l2 = float((diff * keep).sum() / keep.sum().clamp(min=1))
        refine = self._refinement
        inversion_steps = self.settings.inversion_steps
        if stopped_in in ("invert_hair", "pose") and self._job_b is not None:
            inversion_steps = self._job_b.step  # the hair photo's, A's were all done
        pose = self._pose.to_json() if self._pose is not None else None
        return {
            "identity_to_a": _round(identity_a), "identity_to_b": _round(identity_b),
            "hair_lpips": _round(hair_lpips), "outside_lpips": _round(outside_lpips),
            "outside_l2": _round(outside_l2),
            "hair_area": round(float((mask >= 0.5).mean()), 4),
            "steps": {"inversion": inversion_steps,
                      "refine": refine.step_count if refine else 0},
            "stopped": stopped_in,  # the stage a stopped transfer was kept at
            "pose": pose, "lighting": None if self._lighting is None
            else self._lighting.to_json(),
            "same_photo": self.same_photo, "seconds": round(self.seconds, 3),
            "device": describe_device(self.device), "notes": list(self.notes),
        }

    # -- helpers -------------------------------------------------------------------------

    def _progress(self, step: int, total: int, *, finished: bool = False,
                  stopped: bool = False, losses: dict | None = None,
                  preview: np.ndarray | None = None) -> HairProgress:
        stage = self.stage
        done = sum(_STAGE_WEIGHTS[name] for name in STAGES[:STAGES.index(stage)])
        fraction = 1.0 if finished else done + _STAGE_WEIGHTS[stage] * step / max(total, 1)
        return HairProgress(stage, STAGE_LABELS[stage], step, total, min(fraction, 1.0),
                            self.seconds, dict(losses or {}), preview, finished, stopped)

    def _small(self, image: np.ndarray) -> np.ndarray:
        size = self.settings.preview_size
        if image.shape[0] <= size:
            return image
        return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BOX))


def _head_mask(chunks: TransferChunks) -> np.ndarray:
    """B's hair and face parts together: the one chunk its head code is inverted on."""
    return np.clip(chunks.hair + chunks.face_parts(), 0, 1).astype(np.float32)


def _same_photo(a: PreparedPhoto, b: PreparedPhoto, chunks_a: TransferChunks,
                chunks_b: TransferChunks) -> bool:
    return (np.array_equal(a.aligned, b.aligned) and list(chunks_a.masks) == list(chunks_b.masks)
            and all(np.array_equal(chunks_a.masks[n], chunks_b.masks[n])
                    for n in chunks_a.masks))


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 5)


def _json_safe(value):
    """Metrics and settings as JSON: no NaN or infinity (null instead), tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = ["STAGES", "HairProgress", "HairTransferJob", "HairTransferResult",
           "HairTransferSettings", "Pose", "png_bytes"]
