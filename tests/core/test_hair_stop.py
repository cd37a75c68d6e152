"""A stopped hair transfer keeps what it reached: from the hair photo's inversion on, the
result so far (marked stopped); before it, a clear "nothing changed". The photo
preparation looks at the stop flag between its sub-steps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

import core.face
from core import workflows
from core.errors import JobCancelled
from core.hair import HairTransferJob, HairTransferSettings
from core.hair.chunks import TransferChunks, partition
from core.imageio import load_photo
from core.jobs import JobControl
from core.models.loaded import LoadedModels, ModelChoice
from core.workflows.hair import STOPPED_BEFORE_TRANSFER
from tests.core.test_hair_transfer import FACE, HAIR_A, HAIR_B, R, planted, prepared

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def gen():
    from core.stylegan import load_generator

    return load_generator(DATA / "ada_tiny.pkl")


def chunks(hair: np.ndarray) -> TransferChunks:
    return TransferChunks(partition({"hair": hair, "face": FACE}), None)


def job_stopped_at(gen, stage: str, step: int) -> HairTransferJob:
    _, a = planted(gen, 1)
    _, b = planted(gen, 2)
    job = HairTransferJob(gen, prepared(a), prepared(b), chunks(HAIR_A), chunks(HAIR_B),
                          HairTransferSettings(loss="l2", inversion_steps=6, refine_steps=6,
                                               lighting=False),
                          pose_estimator=None, identity_metric=None)
    for progress in job.run():
        if progress.stage == stage and progress.step == step and not progress.stopped:
            job.stop()
    assert progress.stopped and job.stage == stage
    return job


def test_stopped_while_inverting_the_identity_photo_keeps_nothing(gen):
    job = job_stopped_at(gen, "invert_identity", 3)
    assert job.partial_result() is None  # no hair has been found yet
    with pytest.raises(JobCancelled):
        job.result()


def test_stopped_while_inverting_the_hair_photo_keeps_the_hair_so_far(gen):
    job = job_stopped_at(gen, "invert_hair", 2)
    kept = job.partial_result()
    assert kept is not None and kept.stopped and kept.metrics["stopped"] == "invert_hair"
    assert kept.metrics["steps"] == {"inversion": 2, "refine": 0}
    assert kept.output.shape == (R, R, 3) and kept.output.dtype == np.uint8
    assert np.array_equal(kept.output, kept.interpolate(1.0))  # the slider's right end
    _, a = planted(gen, 1)
    outside = kept.changed == 0
    assert outside.any() and np.array_equal(kept.output[outside], a[outside])
    inside = kept.hair_mask >= 0.5
    assert np.abs(kept.output[inside].astype(int) - a[inside]).mean() > 1.0  # new hair
    assert any(n.startswith("Stopped while inverting the hair photo (2 of 6 steps)")
               for n in kept.notes)
    assert [c.name for c in kept.document().chunks][-1] == "hair"  # editable as usual

    # The stop kept the job resumable: it goes on and ends unstopped, without the note.
    last = list(job.run())[-1]
    done = job.result()
    assert last.finished and not done.stopped and done.metrics["stopped"] is None
    assert done.metrics["steps"] == {"inversion": 6, "refine": 6}
    assert not any("Stopped" in n for n in done.notes)
    assert not np.array_equal(done.output, kept.output)


def test_stopped_while_refining_keeps_the_refinement_so_far(gen):
    job = job_stopped_at(gen, "refine", 3)
    kept = job.partial_result()
    assert kept.stopped and kept.metrics["stopped"] == "refine"
    assert kept.metrics["steps"] == {"inversion": 6, "refine": 3}
    assert any("Stopped while refining the hair (3 of 6 steps)" in n for n in kept.notes)
    assert np.array_equal(job.partial_result().output, kept.output)  # asking again: same
    list(job.run())
    assert job.result().metrics["steps"] == {"inversion": 6, "refine": 6}


# ----------------------------------------------------------------- the workflow


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hair_stop")
    astronaut = skimage.data.astronaut()
    Image.fromarray(astronaut).save(folder / "a.png")
    Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1])).save(folder / "b.png")
    return {"a": folder / "a.png", "b": folder / "b.png"}


@pytest.fixture
def models(tmp_path) -> LoadedModels:
    return LoadedModels(ModelChoice(generator=str(DATA / "ada_tiny.pkl"),
                                    models_dir=str(tmp_path / "models"), device="cpu"))


def transfer(models, photos, control, **settings):
    hair = np.zeros((R, R), np.float32)
    hair[:9] = 1
    hair_b = hair.copy()
    hair_b[:16, :5] = hair_b[:16, -5:] = 1
    return workflows.hair_transfer(
        models, load_photo(photos["a"]), load_photo(photos["b"]),
        HairTransferSettings(**{"loss": "l2", "inversion_steps": 6, "refine_steps": 6,
                                "pose_match": False, **settings}),
        hair_mask_a=hair, hair_mask_b=hair_b, control=control)


def test_the_preparation_looks_at_the_stop_between_its_steps(models, photos, monkeypatch):
    control = JobControl()
    prepared_names = []
    real = core.face.prepare_photo

    def prepare_then_stop(photo, *args, **kwargs):
        prepared_names.append(photo.path.name)
        control.stop()  # Stop pressed while the first photo is being aligned
        return real(photo, *args, **kwargs)

    monkeypatch.setattr(core.face, "prepare_photo", prepare_then_stop)
    with pytest.raises(JobCancelled) as stopped:
        workflows.run(transfer(models, photos, control), lambda _p: None)
    assert str(stopped.value) == STOPPED_BEFORE_TRANSFER
    assert STOPPED_BEFORE_TRANSFER == "Stopped before the hair was transferred; nothing changed."
    assert prepared_names == ["a.png"]  # the hair photo was never prepared


def test_a_workflow_stopped_in_the_hair_inversion_returns_what_it_kept(models, photos):
    control = JobControl()
    seen = []

    def watch(progress):
        seen.append(progress)
        if progress.stage == "invert_hair" and progress.step == 2 and not progress.stopped:
            control.stop()

    outcome = workflows.run(transfer(models, photos, control), watch)
    assert outcome.stopped and outcome.result.metrics["stopped"] == "invert_hair"
    assert seen[-1].stopped and not control.stop_requested
    photo_a = load_photo(photos["a"]).rgb
    assert outcome.full_photo.shape == photo_a.shape
    differs = np.any(outcome.full_photo != photo_a, axis=2)
    assert differs.any() and differs.mean() < 0.5  # only around the hair
    assert any(n.startswith("Stopped while inverting the hair photo") for n in outcome.notes)


def test_ctrl_c_while_refining_writes_what_the_cli_transfer_kept(photos, tmp_path, capsys,
                                                                  monkeypatch):
    from core.commands import hair as hair_command
    from semedit_gui.launcher import main as semedit
    from tests.core.test_workflows import ctrl_c_at

    hair = np.zeros((R, R), np.uint8)
    hair[:9] = 255
    Image.fromarray(hair).save(tmp_path / "hair.png")
    ctrl_c_at(hair_command, monkeypatch, "refine", 2)
    out = tmp_path / "out.png"
    code = semedit(["hair", str(photos["a"]), str(photos["b"]), "--generator",
                    str(DATA / "ada_tiny.pkl"), "--loss", "l2", "--steps", "3",
                    "--refine-steps", "300", "--no-pose-match", "--hair-mask-a",
                    str(tmp_path / "hair.png"), "--hair-mask-b", str(tmp_path / "hair.png"),
                    "-o", str(out)])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    figures = json.loads(stdout.strip().splitlines()[-1])
    assert figures["stopped"] == "refine" and 2 <= figures["steps"]["refine"] <= 3
    assert "Stopped while refining the hair" in err
    assert np.asarray(Image.open(out)).shape == load_photo(photos["a"]).rgb.shape
