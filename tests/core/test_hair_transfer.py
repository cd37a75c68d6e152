"""Hair transfer on a tiny generator (CPU): planted pairs, same photo, pose, slider, project."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from core.edit.ganspace import mapped_samples
from core.edit.render import EditRenderer, without_edits
from core.edit.supervised import fit_direction
from core.errors import JobCancelled
from core.face.align import centre_crop_transform
from core.face.prepare import PreparedPhoto
from core.hair import HairTransferJob, HairTransferSettings, NoHairError, Pose
from core.hair.chunks import TransferChunks, partition
from core.hair.pose import PoseMatchSettings, moved_code, render_code
from core.invert import Lpips
from core.jobs import JobControl
from core.latents.codes import CodeSpace
from core.stylegan import images_to_uint8, load_generator

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = Path(__file__).resolve().parents[1] / "data"
R = 32


@pytest.fixture(scope="module")
def gen():
    return load_generator(DATA / "ada_tiny.pkl")  # 32², w_dim 64, 8 ws rows


@pytest.fixture(scope="module")
def lpips_random():
    """LPIPS with a VGG16 backbone of random weights (the real one is not installed here)."""
    torch.manual_seed(0)
    features = torchvision.models.vgg16().features.state_dict()
    return Lpips({f"features.{k}": v for k, v in features.items()})


def planted(gen, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        ws = gen.mapping(torch.randn(1, gen.z_dim, generator=g), truncation_psi=0.7)
        return ws[0], images_to_uint8(gen.synthesis(ws))[0]


def prepared(image: np.ndarray) -> PreparedPhoto:
    return PreparedPhoto(image, centre_crop_transform((R, R), R), None)


def region(rows: slice, cols: slice = slice(None)) -> np.ndarray:
    mask = np.zeros((R, R), np.float32)
    mask[rows, cols] = 1
    return mask


HAIR_A = region(slice(0, 12))
HAIR_B = np.maximum(region(slice(0, 9)), region(slice(0, 20), slice(0, 6)))
FACE = region(slice(14, 28), slice(9, 23))


def chunks(hair: np.ndarray) -> TransferChunks:
    return TransferChunks(partition({"hair": hair, "face": FACE}), None)


def fast(**changes) -> HairTransferSettings:
    base = dict(loss="l2", inversion_steps=30, refine_steps=15, lighting=False)
    return HairTransferSettings(**{**base, **changes})


def mean_error(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64))[where].mean())


def test_planted_pair_takes_hair_from_b_and_the_rest_from_a(gen, lpips_random):
    _, a = planted(gen, 1)
    _, b = planted(gen, 2)
    job = HairTransferJob(gen, prepared(a), prepared(b), chunks(HAIR_A), chunks(HAIR_B),
                          fast(loss="lpips+l2", inversion_steps=40, refine_steps=30),
                          lpips=lpips_random, pose_estimator=None, identity_metric=None)
    progress = list(job.run())
    assert progress[-1].finished and progress[-1].overall == 1.0
    assert progress[0].stage == "invert_identity"
    assert {p.stage for p in progress} == {"invert_identity", "invert_hair", "pose", "refine",
                                           "finish"}
    assert all(b.overall <= a.overall + 1e-9 for a, b in zip(progress[1:], progress, strict=False))
    result = job.result()
    out = result.output
    inside = HAIR_B >= 0.5
    outside = (HAIR_A < 0.5) & (HAIR_B < 0.5)
    # Inside B's hair the output is B's hair, far closer than A there ...
    assert mean_error(out, b, inside) < 0.3 * mean_error(a, b, inside)
    # ... and outside both hair regions it is A, far closer than B there.
    assert mean_error(out, a, outside) < 0.05 * mean_error(b, a, outside)
    # The new hair's region is B's hair mask (refined within a band at its outline).
    assert float(((result.hair_mask >= 0.5) != inside).mean()) < 0.05
    m = result.metrics
    assert {"identity_to_a", "identity_to_b", "hair_lpips", "seconds"} <= set(m)
    assert m["identity_to_a"] is None and m["seconds"] > 0  # no dlib face in a 32² render
    assert 0 <= m["hair_lpips"] < 0.5 and m["outside_l2"] < 1e-3


def test_old_hair_not_covered_is_regenerated_without_holes(gen):
    _, a = planted(gen, 1)
    _, b = planted(gen, 2)
    tall = region(slice(0, 16))  # A's hair reaches lower than B's: rows 9–15 are uncovered
    result = HairTransferJob(gen, prepared(a), prepared(b), chunks(tall), chunks(HAIR_B),
                             fast(), pose_estimator=None, identity_metric=None).run_to_end()
    weights = np.stack(result.weights)
    np.testing.assert_allclose(weights.sum(0), 1.0, atol=1e-4)  # no holes anywhere
    uncovered = (tall >= 0.5) & (result.hair_mask < 0.02)
    assert uncovered.sum() > 50
    # Those pixels now come from A's background and face codes, not from the hair chunk.
    names = result.names
    assert names[-1] == "hair" and set(names[:-1]) == {"background", "face"}
    assert (weights[:-1].sum(0)[uncovered] > 0.98).all()
    # ... and they changed: the old hair is not pasted back (no ghost hair).
    assert result.changed[uncovered].min() == 1.0


def test_same_photo_returns_the_photo(gen):
    _, a = planted(gen, 3)
    job = HairTransferJob(gen, prepared(a), prepared(a.copy()), chunks(HAIR_A),
                          chunks(HAIR_A), fast(), pose_estimator=None, identity_metric=None)
    result = job.run_to_end()
    assert job.same_photo and result.metrics["same_photo"]
    out = result.output
    # Outside the hair (and its margin) it is the photo, bit for bit.
    np.testing.assert_array_equal(out[result.changed == 0], a[result.changed == 0])
    # Inside, no worse than the inversion's own reconstruction of A's hair.
    recon = images_to_uint8(job._result_a.output)[0]
    hair = HAIR_A >= 0.5
    assert mean_error(out, a, hair) <= 1.05 * mean_error(recon, a, hair) + 1.0
    assert mean_error(out, a, np.ones_like(hair)) < 6.0  # of 255
    assert result.pose is None and result.lighting is None


def brightness_yaw(image: np.ndarray) -> float:
    """A stand-in "yaw" a 32² random render has: left half brighter than the right."""
    x = image.astype(np.float64).mean(2) / 255
    return float(x[:, : R // 2].mean() - x[:, R // 2 :].mean())


@pytest.fixture(scope="module")
def yaw_direction(gen):
    """A learned direction for that stand-in yaw, fitted the supervised way."""
    w = mapped_samples(gen, samples=400, seed=0)
    with torch.no_grad():
        images = images_to_uint8(gen.synthesis(torch.from_numpy(w)[:, None].expand(
            -1, gen.num_ws, -1)))
    return fit_direction(w, np.array([brightness_yaw(i) for i in images]), "yaw")


def test_pose_is_matched_on_the_render(gen, yaw_direction):
    """B is A's planted face turned by a known amount: the hair code turns back until its
    render measures A's pose, and the measurement is made on the render."""
    w_a, a = planted(gen, 4)
    space = CodeSpace(gen)
    code_a = space.from_w(w_a[0], "wplus")
    b = render_code(space, moved_code(space, code_a, yaw_direction, 1.5))
    measured: list[float] = []

    def estimator(image: np.ndarray) -> Pose:
        measured.append(brightness_yaw(image))
        return Pose(measured[-1], 0.0)

    head = np.ones((R, R), np.float32)  # B's head code covers the whole picture here
    b_chunks = TransferChunks(partition({"hair": head}), None)
    settings = fast(pose=PoseMatchSettings(yaw_tolerance=0.004), refine_steps=0)
    job = HairTransferJob(gen, prepared(a), prepared(b), chunks(HAIR_A), b_chunks, settings,
                          pose_directions={"yaw": yaw_direction}, pose_estimator=estimator,
                          identity_metric=None)
    result = job.run_to_end()
    search = result.pose.searches[0]
    assert search.converged and search.evaluations <= 8
    assert abs(search.measured - brightness_yaw(a)) <= 0.004
    assert search.strength < -0.5  # turned back, not forward
    # The pose-corrected hair render really has A's pose (measured again here).
    corrected = render_code(space, result.pose.code)
    assert abs(brightness_yaw(corrected) - brightness_yaw(a)) <= 0.004
    assert result.metrics["pose"]["searches"][0]["converged"]


def test_slider_blends_from_a_own_hair_to_b(gen):
    _, a = planted(gen, 1)
    _, b = planted(gen, 2)
    result = HairTransferJob(gen, prepared(a), prepared(b), chunks(HAIR_A), chunks(HAIR_B),
                             fast(), pose_estimator=None, identity_metric=None).run_to_end()
    np.testing.assert_array_equal(result.interpolate(1.0), result.output)
    blender = result.blender
    np.testing.assert_array_equal(blender.mask(0.0), HAIR_A)
    np.testing.assert_allclose(blender.mask(1.0), result.hair_mask)
    # The mask morphs: small slider steps change few pixels, and every mask in between
    # keeps what both hair regions share and stays within what either covers.
    masks = [blender.mask(t) >= 0.5 for t in np.linspace(0, 1, 21)]
    new = result.hair_mask >= 0.5
    both, either = (HAIR_A >= 0.5) & new, (HAIR_A >= 0.5) | new
    for before, after in itertools.pairwise(masks):
        assert (before != after).sum() <= 0.25 * (either & ~both).sum()
    for mask in masks:
        assert mask[both].all() and not mask[~either].any()
    # The code interpolates: small slider moves make small changes (continuity).
    images = [result.interpolate(t).astype(np.float64) for t in (0.5, 0.52, 0.9)]
    assert np.abs(images[1] - images[0]).mean() < np.abs(images[2] - images[0]).mean()
    # At 0 it is A's own hair (its chunk reconstruction), not B's.
    start = result.interpolate(0.0)
    hair_a = HAIR_A >= 0.5
    assert mean_error(start, a, hair_a) < 0.5 * mean_error(start, b, hair_a)


def test_document_holds_every_chunk_and_renders_the_transfer(gen):
    _, a = planted(gen, 1)
    _, b = planted(gen, 2)
    result = HairTransferJob(gen, prepared(a), prepared(b), chunks(HAIR_A), chunks(HAIR_B),
                             fast(), pose_estimator=None, identity_metric=None).run_to_end()
    doc = result.document(photo_bytes=b"not used here", photo_name="out.png")
    assert [c.name for c in doc.chunks] == ["background", "face", "hair"]
    assert all(c.code is not None and c.space == "wplus" for c in doc.chunks)
    np.testing.assert_array_equal(doc.aligned, result.output)
    assert doc.inversion["settings"]["coverage"] == "edit_regions"
    assert doc.inversion["metrics"]["hair_area"] == result.metrics["hair_area"]
    # Rendering every chunk from its code (the project's reconstruction) is the transfer's
    # composite: the same as the output wherever the output is not the photo itself.
    renderer = EditRenderer(gen, doc, {})
    rendered = renderer.render(without_edits(renderer.request("reconstruction"))).image
    inside = result.changed >= 0.999
    assert mean_error(rendered, result.output, inside) < 1.0


def test_stop_and_resume(gen):
    _, a = planted(gen, 1)
    _, b = planted(gen, 2)
    job = HairTransferJob(gen, prepared(a), prepared(b), chunks(HAIR_A), chunks(HAIR_B),
                          fast(inversion_steps=6, refine_steps=6), pose_estimator=None,
                          identity_metric=None)
    stages = []
    for progress in job.run():
        stages.append(progress.stage)
        if progress.stage == "invert_hair" and progress.step == 2 and not progress.stopped:
            job.stop()
    assert progress.stopped and job.stage == "invert_hair"
    with pytest.raises(JobCancelled, match="stopped before it finished"):
        job.result()
    for progress in job.run():
        if progress.stage == "refine" and progress.step == 3 and not progress.stopped:
            job.stop()
    assert progress.stopped and job.stage == "refine"
    last = list(job.run())[-1]
    assert last.finished and job.result().metrics["steps"] == {"inversion": 6, "refine": 6}


@pytest.mark.parametrize(("stage", "at_step"),
                         [("invert_identity", 2), ("invert_hair", 3), ("refine", 4)])
def test_a_stop_through_job_control_ends_the_stage_after_the_current_step(gen, stage, at_step):
    _, a = planted(gen, 1)
    _, b = planted(gen, 2)
    control = JobControl()
    job = HairTransferJob(gen, prepared(a), prepared(b), chunks(HAIR_A), chunks(HAIR_B),
                          fast(inversion_steps=6, refine_steps=6), pose_estimator=None,
                          identity_metric=None, control=control)
    seen = []
    for progress in job.run():
        seen.append((progress.stage, progress.step, progress.stopped))
        if progress.stage == stage and progress.step == at_step and not progress.stopped:
            control.stop()  # as the app's Stop button or closing the window does

    # No step runs after the one during which the stop came; the stop is then honoured.
    assert seen[-2:] == [(stage, at_step, False), (stage, at_step, True)]
    assert job.stage == stage and not job.finished and not control.stop_requested
    last = list(job.run())[-1]
    assert last.finished and job.result().metrics["steps"] == {"inversion": 6, "refine": 6}


def test_a_hair_photo_without_hair_is_refused(gen):
    _, a = planted(gen, 1)
    bald = TransferChunks(partition({"face": FACE}), None)
    with pytest.raises(NoHairError, match="no hair to transfer"):
        HairTransferJob(gen, prepared(a), prepared(a), chunks(HAIR_A), bald, fast())
