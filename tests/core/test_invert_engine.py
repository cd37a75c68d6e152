"""ChunkyGAN inversion on tiny generators (CPU): the paper's claims, locality, resuming."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
import torchvision

from core.errors import InvalidInputError, ModelMissingError
from core.invert import InversionJob, InversionSettings, Lpips, ReconstructionLoss
from core.jobs import JobControl
from core.latents.codes import ChunkCode, CodeSpace
from core.stylegan import load_generator

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def gen():
    return load_generator(DATA / "ada_tiny.pkl")


@pytest.fixture(scope="module")
def lpips_random():
    """LPIPS with a VGG16 backbone of random weights (the real one cannot be downloaded here)."""
    torch.manual_seed(0)
    features = torchvision.models.vgg16().features.state_dict()
    return Lpips({f"features.{k}": v for k, v in features.items()})


def _planted(gen, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        ws = gen.mapping(torch.randn(1, gen.z_dim, generator=g), truncation_psi=0.7)
        return ws[0], gen.synthesis(ws)


def _halves(gen):
    r = gen.img_resolution
    left = torch.zeros(1, r, r)
    left[..., : r // 2] = 1
    return torch.cat([left, 1 - left])


def test_planted_code_is_approached(gen):
    # In W the solution is (nearly) unique; in W+ a random 32x32 network has many.
    w_star, target = _planted(gen, 1)
    settings = InversionSettings(space="w", steps=300, lambda_reg=0.0,
                                 coverage="whole_image", learning_rate=0.1)
    job = InversionJob(gen, target, torch.ones(1, 32, 32), settings, ReconstructionLoss("l2"))
    progress = list(job.run())
    first, last = progress[0].losses["l2"], progress[-1].losses["l2"]
    assert progress[-1].finished and progress[-1].step == 300
    assert last < 0.02 * first
    start_distance = (gen.w_avg - w_star[0]).norm()
    end_distance = (job.codes[0].value.detach() - w_star[0]).norm()
    assert end_distance < 0.5 * start_distance


def test_two_chunks_beat_one_wplus_code(gen, lpips_random):
    """ChunkyGAN's claim: a two-code composite reconstructs a two-face image better."""
    _, left_img = _planted(gen, 2)
    _, right_img = _planted(gen, 3)
    r = gen.img_resolution
    target = left_img.clone()
    target[..., r // 2 :] = right_img[..., r // 2 :]
    loss = ReconstructionLoss("lpips+l2", lpips_model=lpips_random)
    settings = InversionSettings(space="wplus", steps=80, lambda_reg=0.01,
                                 coverage="whole_image")
    one = InversionJob(gen, target, torch.ones(1, r, r), settings, loss).run_to_end()
    two = InversionJob(gen, target, _halves(gen), settings, loss).run_to_end()
    l2 = lambda out: float((out - target).square().mean())  # noqa: E731
    lp = lambda out: float(lpips_random(out, target))  # noqa: E731
    assert l2(two.output) < 0.75 * l2(one.output)
    assert lp(two.output) < 0.9 * lp(one.output)


@pytest.mark.parametrize("optimise_masks", [False, True])
def test_edit_regions_keep_pixels_outside_every_chunk_exactly(gen, optimise_masks):
    _, target = _planted(gen, 4)
    masks = torch.zeros(2, 32, 32)
    masks[0, 4:14, 4:20] = 1.0
    masks[1, 12:24, 10:28] = 0.6  # soft, overlapping the first
    settings = InversionSettings(steps=15, optimise_masks=optimise_masks)
    result = InversionJob(gen, target, masks, settings, ReconstructionLoss("l2")).run_to_end()
    outside = masks.sum(0) == 0
    assert torch.equal(result.output[0][:, outside], target[0][:, outside])
    assert not torch.equal(result.output[0][:, ~outside], target[0][:, ~outside])


def test_optimised_masks_move_but_stay_a_partition(gen):
    _, target = _planted(gen, 5)
    settings = InversionSettings(steps=30, coverage="whole_image", optimise_masks=True,
                                 lambda_mask=0.1, mask_learning_rate=0.2)
    job = InversionJob(gen, target, _halves(gen), settings, ReconstructionLoss("l2"))
    progress = list(job.run())
    assert "mask" in progress[-1].losses
    result = job.result()
    assert torch.allclose(result.masks.sum(0), torch.ones(32, 32), atol=1e-5)
    assert not torch.allclose(result.masks, _halves(gen), atol=1e-3)


def test_stop_and_resume_equals_an_uninterrupted_run(gen):
    _, target = _planted(gen, 6)
    settings = InversionSettings(steps=40, optimise_masks=True, coverage="whole_image")
    straight = InversionJob(gen, target, _halves(gen), settings, ReconstructionLoss("l2"))
    straight.run_to_end()

    resumed = InversionJob(gen, target, _halves(gen), settings, ReconstructionLoss("l2"))
    for progress in resumed.run():
        if progress.step == 17 and not progress.stopped:
            resumed.stop()
    assert resumed.step == 17
    last = list(resumed.run())[-1]
    assert last.finished and last.step == 40
    for a, b in zip(straight.codes, resumed.codes, strict=True):
        assert torch.equal(a.value, b.value)
    assert torch.equal(straight.masks.logits, resumed.masks.logits)


def test_stop_from_another_thread_then_resume(gen):
    _, target = _planted(gen, 7)
    control = JobControl()
    job = InversionJob(gen, target, torch.ones(1, 32, 32), InversionSettings(steps=10_000),
                       ReconstructionLoss("l2"), control=control)
    seen = []

    def consume():
        for progress in job.run():
            seen.append(progress)

    worker = threading.Thread(target=consume)
    worker.start()
    while len(seen) < 3:
        worker.join(timeout=0.01)
    control.stop()
    worker.join(timeout=30)
    assert not worker.is_alive() and seen[-1].stopped
    assert not control.stop_requested  # acknowledged: run() again goes on
    done = job.step
    job.stop()  # the convenience: the same control
    assert control.stop_requested
    last = list(job.run())[-1]
    assert last.stopped and last.step == done and last.total_steps == 10_000


def test_same_seed_same_result(gen):
    _, target = _planted(gen, 9)
    runs = [InversionJob(gen, target, torch.ones(1, 32, 32), InversionSettings(steps=12),
                         ReconstructionLoss("l2")).run_to_end() for _ in range(2)]
    assert torch.equal(runs[0].codes[0].value, runs[1].codes[0].value)


@pytest.mark.parametrize("space", ["w", "wplus", "s"])
def test_every_space_reduces_the_loss(gen, space):
    _, target = _planted(gen, 10)
    job = InversionJob(gen, target, torch.ones(1, 32, 32),
                       InversionSettings(space=space, steps=40, coverage="whole_image",
                                         lambda_reg=0.0, learning_rate=0.05),
                       ReconstructionLoss("l2"))
    progress = list(job.run())
    assert progress[-2].losses["l2"] < 0.6 * progress[0].losses["l2"]
    assert job.codes[0].value.shape == CodeSpace(gen).shape(space)


def test_mixed_spaces_render_in_one_synthesis_call(gen, monkeypatch):
    space = CodeSpace(gen)
    codes = [space.mean_code("w"), space.mean_code("s"), space.mean_code("wplus")]
    calls = []
    original = gen.synthesis.forward
    monkeypatch.setattr(gen.synthesis, "forward",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    images = space.render(codes)
    assert len(calls) == 1 and images.shape[0] == 3
    # The average face is the same whichever space holds it.
    assert torch.allclose(images[0], images[1], atol=1e-5)
    assert torch.allclose(images[0], images[2], atol=1e-5)


def test_bad_inputs_get_clear_errors(gen):
    _, target = _planted(gen, 11)
    loss = ReconstructionLoss("l2")
    with pytest.raises(InvalidInputError, match="32x32"):
        InversionJob(gen, target, torch.ones(1, 16, 16), InversionSettings(), loss)
    with pytest.raises(InvalidInputError, match="empty"):
        InversionJob(gen, target, torch.zeros(2, 32, 32), InversionSettings(), loss)
    with pytest.raises(InvalidInputError, match="NaN"):
        InversionJob(gen, target * float("nan"), torch.ones(1, 32, 32), InversionSettings(),
                     loss)
    with pytest.raises(InvalidInputError, match="NaN"):
        masks = torch.ones(1, 32, 32)
        masks[0, 0, 0] = float("nan")
        InversionJob(gen, target, masks, InversionSettings(), loss)
    with pytest.raises(InvalidInputError, match="align or resize"):
        InversionJob(gen, torch.zeros(1, 3, 64, 64), torch.ones(1, 32, 32),
                     InversionSettings(), loss)
    with pytest.raises(InvalidInputError, match="latent space"):
        InversionSettings(space="z")
    with pytest.raises(InvalidInputError, match="shape"):
        InversionJob(gen, target, torch.ones(1, 32, 32), InversionSettings(), loss,
                     initial_codes=[ChunkCode("w", torch.zeros(3))])
    with pytest.raises(ModelMissingError, match="vgg16-imagenet"):
        ReconstructionLoss("lpips")
