"""Pivotal tuning: better reconstruction, original generator untouched, locality kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import InvalidInputError
from core.invert import InversionJob, InversionSettings, ReconstructionLoss
from core.invert.pti import PivotalTuningJob, PtiSettings, with_tuned_weights
from core.jobs import JobControl
from core.stylegan import load_generator

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def inverted():
    g = load_generator(DATA / "ada_tiny.pkl")
    with torch.no_grad():
        a = g.synthesis(g.mapping(torch.randn(1, g.z_dim, generator=torch.Generator()
                                               .manual_seed(1))))
        b = g.synthesis(g.mapping(torch.randn(1, g.z_dim, generator=torch.Generator()
                                               .manual_seed(2))))
    target = a.clone()
    target[..., 16:] = b[..., 16:]  # no single code renders this exactly
    loss = ReconstructionLoss("l2")
    job = InversionJob(g, target, torch.ones(1, 32, 32),
                       InversionSettings(steps=60, coverage="whole_image"), loss)
    return g, target, job.run_to_end(), loss


def _tune(inverted, lambda_locality: float, steps: int = 40) -> PivotalTuningJob:
    g, target, result, loss = inverted
    job = PivotalTuningJob(g, target, result.codes, result.masks, "whole_image",
                           PtiSettings(steps=steps, learning_rate=1e-3,
                                       lambda_locality=lambda_locality), loss)
    progress = list(job.run())
    assert progress[-1].finished and progress[-1].step == steps
    return job


def test_pti_improves_the_reconstruction_and_leaves_the_original_alone(inverted):
    g, target, result, _ = inverted
    before = {k: v.clone() for k, v in g.state_dict().items()}
    job = _tune(inverted, lambda_locality=0.1)
    tuned = job.tuned_generator()
    with torch.no_grad():
        codes_only = float((result.output - target).square().mean())
        ws = result.codes[0].value.unsqueeze(0)
        after = float((tuned.synthesis(ws) - target).square().mean())
    assert after < 0.7 * codes_only
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items())
    # The weights a project stores rebuild the same tuned generator.
    rebuilt = with_tuned_weights(g, job.tuned_weights())
    with torch.no_grad():
        assert torch.equal(rebuilt.synthesis(ws), tuned.synthesis(ws))


def test_locality_term_keeps_far_codes_as_they_were(inverted):
    g = inverted[0]
    with torch.no_grad():
        far = g.mapping(torch.randn(8, g.z_dim, generator=torch.Generator().manual_seed(9)))
        original = g.synthesis(far)

    def drift(job):
        with torch.no_grad():
            return float((job.tuned_generator().synthesis(far) - original).square().mean())

    assert drift(_tune(inverted, lambda_locality=1.0)) < drift(_tune(inverted, 0.0))


def test_wrong_weights_are_refused(inverted):
    g = inverted[0]
    with pytest.raises(InvalidInputError, match="shape"):
        with_tuned_weights(g, {"synthesis.b4.conv1.bias": np.zeros(3, np.float32)})
    with pytest.raises(InvalidInputError, match="do not fit"):
        with_tuned_weights(g, {"synthesis.b999.weight": np.zeros(3, np.float32)})


def test_a_stop_through_job_control_ends_pti_after_the_current_step(inverted):
    g, target, result, loss = inverted
    control = JobControl()
    job = PivotalTuningJob(g, target, result.codes, result.masks, "whole_image",
                           PtiSettings(steps=10, learning_rate=1e-3), loss, control=control)
    seen = []
    for progress in job.run():
        seen.append(progress)
        if progress.step == 3 and not progress.stopped:
            control.stop()  # e.g. the app's Stop button, from another thread

    assert [p.step for p in seen] == [1, 2, 3, 3]
    assert seen[-1].stopped and not seen[-1].finished and job.step == 3
    assert not control.stop_requested  # honoured: running again goes on
    rest = list(job.run())
    assert rest[-1].finished and [p.step for p in rest[:-1]] == list(range(4, 11))


def test_stop_is_a_shortcut_for_the_control(inverted):
    g, target, result, loss = inverted
    job = PivotalTuningJob(g, target, result.codes, result.masks, "whole_image",
                           PtiSettings(steps=5, learning_rate=1e-3), loss)
    job.stop()
    assert job.control.stop_requested
    assert [(p.step, p.stopped) for p in job.run()] == [(0, True)]
