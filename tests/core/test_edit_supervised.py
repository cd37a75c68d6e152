"""Supervised directions: the linear fit, user label files and the stoppable job."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from core.edit.directions import slider_scale
from core.edit.ganspace import mapped_samples
from core.edit.supervised import (
    SupervisedDirectionJob,
    fit_direction,
    landmark_labeller,
    load_labelled_latents,
)
from core.errors import CheckpointError, InvalidInputError
from core.jobs import JobControl
from core.stylegan import images_to_uint8
from tests.checkpoint_writers import random_generator

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def generator():
    return random_generator(16, w_dim=32)


def planted(n: int = 600, dim: int = 32, seed: int = 0):
    """Correlated latents (like W) and a hidden unit direction."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim)) * np.linspace(0.2, 2.0, dim)
    w = rng.normal(size=(n, dim)) @ mixing + rng.normal(size=dim)
    hidden = rng.normal(size=dim)
    hidden /= np.linalg.norm(hidden)
    return w.astype(np.float32), hidden, rng


def brightness(image: np.ndarray) -> dict[str, float]:
    return {"brightness": float(image.mean())}


# --- the fit ------------------------------------------------------------------------------


def test_ridge_fit_recovers_a_planted_direction(generator):
    w, hidden, rng = planted()
    projection = w @ hidden
    labels = 3.0 * projection + rng.normal(scale=projection.std(), size=len(w)) + 10.0
    d = fit_direction(w, labels, "planted")
    assert float(d.vector @ hidden) > 0.9
    assert d.space == "w" and d.source == "supervised" and d.layers is None
    assert np.linalg.norm(d.vector) == pytest.approx(1.0, abs=1e-6)
    assert d.scale == pytest.approx(slider_scale(w, d.vector))
    assert "ridge regression on 600 samples" in d.description


def test_the_sign_makes_positive_strength_increase_the_label():
    w, hidden, rng = planted(seed=1)
    labels = -np.tanh(w @ hidden / (w @ hidden).std()) + rng.normal(scale=0.2, size=len(w))
    d = fit_direction(w, labels, "down")
    assert float(d.vector @ hidden) < -0.9
    projection = w @ d.vector
    assert np.corrcoef(projection, labels)[0, 1] > 0.5


def test_binary_labels_use_logistic_regression():
    w, hidden, rng = planted(n=800, seed=2)
    score = w @ hidden
    noisy = score + rng.normal(scale=0.3 * score.std(), size=len(w))
    labels = np.where(noisy > np.median(noisy), 7.0, 3.0)  # larger value = positive class
    d = fit_direction(w, labels, "smiling")
    assert float(d.vector @ hidden) > 0.9
    assert "logistic regression" in d.description
    flipped = fit_direction(w, 10.0 - labels, "frowning")
    assert float(flipped.vector @ hidden) < -0.9


def test_fit_options_and_refusals():
    w, hidden, _ = planted(n=100, seed=3)
    labels = w @ hidden
    wide = np.concatenate([w, 3 * w])
    d = fit_direction(w, labels, "x", scale_latents=wide, layers=(0, 2), source="user",
                      description="mine")
    assert d.scale == pytest.approx(slider_scale(wide, d.vector))
    assert (d.layers, d.source, d.description) == ((0, 2), "user", "mine")
    with pytest.raises(InvalidInputError, match="equal"):
        fit_direction(w, np.ones(100), "flat")
    with pytest.raises(InvalidInputError, match="labels"):
        fit_direction(w, labels[:50], "short")
    with pytest.raises(InvalidInputError, match="at least 3"):
        fit_direction(w[:2], labels[:2], "two")
    broken = labels.copy()
    broken[4] = np.nan
    with pytest.raises(InvalidInputError, match="NaN"):
        fit_direction(w, broken, "nan")
    with pytest.raises(InvalidInputError, match="same"):
        fit_direction(np.ones((10, 4)), np.arange(10.0), "still")


def test_fewer_samples_than_dimensions_still_fit():
    w, hidden, rng = planted(n=24, seed=4)
    d = fit_direction(w, w @ hidden + rng.normal(scale=0.01, size=24), "few", ridge=0.1)
    assert float(d.vector @ hidden) > 0.5


# --- the user's labelled latents ----------------------------------------------------------


def test_labelled_npz_and_csv(tmp_path):
    w, hidden, _ = planted(n=40, dim=6)
    labels = w @ hidden
    np.savez(tmp_path / "a.npz", w=w, labels=labels)
    np.savez(tmp_path / "b.npz", latents=w[:, None, :], labels=labels)
    header = "image,label," + ",".join(f"w_{i}" for i in range(6))
    lines = [header] + [f"img{i}.png,{float(labels[i])!r},"
                        + ",".join(repr(float(v)) for v in w[i]) for i in range(40)]
    (tmp_path / "c.csv").write_text("\n".join(lines) + "\n\n")
    for name in ("a.npz", "b.npz", "c.csv"):
        got_w, got_labels = load_labelled_latents(tmp_path / name, w_dim=6)
        np.testing.assert_allclose(got_w, w, rtol=1e-6)
        np.testing.assert_allclose(got_labels, labels, rtol=1e-6)
        assert got_w.dtype == np.float32 and got_labels.shape == (40,)
    latents, values = load_labelled_latents(tmp_path / "c.csv")
    # noise-free labels: a weak penalty gives back the hidden direction almost exactly
    assert float(fit_direction(latents, values, "mine", ridge=1e-6).vector @ hidden) > 0.999


@pytest.mark.parametrize(("write", "message"), [
    (lambda p: np.savez(p / "x.npz", w=np.ones((4, 6))), "labels"),
    (lambda p: np.savez(p / "x.npz", w=np.ones((4, 6)), labels=np.ones(3)), "4 latents"),
    (lambda p: np.savez(p / "x.npz", w=np.ones((4, 2, 6)), labels=np.ones(4)), "shape"),
    (lambda p: np.savez(p / "x.npz", w=np.full((4, 6), np.nan), labels=np.ones(4)), "NaN"),
    (lambda p: np.savez(p / "x.npz", w=np.ones((4, 5)), labels=np.ones(4)), "5-dimensional"),
    (lambda p: np.savez(p / "x.npz", w=np.array([{"a": 1}] * 4, dtype=object),
                        labels=np.ones(4)), "readable"),
    (lambda p: (p / "x.npz").write_bytes(b"PK\x03\x04 truncated"), "readable"),
    (lambda p: (p / "x.csv").write_text(""), "empty"),
    (lambda p: (p / "x.csv").write_text("w_0,w_1\n1,2\n"), "'label'"),
    (lambda p: (p / "x.csv").write_text("label,a\n1,2\n"), "w_0"),
    (lambda p: (p / "x.csv").write_text("label,w_0,w_2\n1,2,3\n"), "w_1 is missing"),
    (lambda p: (p / "x.csv").write_text("label,w_0\n1,abc\n"), "line 2"),
    (lambda p: (p / "x.csv").write_text("label,w_0\n1,2,3\n"), "3 cells"),
    (lambda p: (p / "x.csv").write_text("label,w_0\n"), "no latents"),
    (lambda p: (p / "x.txt").write_text("1 2 3"), ".npz or a .csv"),
])
def test_malformed_label_files_are_refused(tmp_path, write, message):
    write(tmp_path)
    path = next(tmp_path.iterdir())
    with pytest.raises(CheckpointError, match=message):
        load_labelled_latents(path, w_dim=6 if path.suffix == ".npz" else None)


def test_label_file_pickles_are_not_executed(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').close()",))

    with open(tmp_path / "evil.npz", "wb") as stream:
        np.savez(stream, w=np.array([Payload()], dtype=object), labels=np.ones(1))
    with pytest.raises(CheckpointError):
        load_labelled_latents(tmp_path / "evil.npz")
    assert not marker.exists()
    pickle.loads(pickle.dumps(Payload()))  # the payload is live: it would have run
    assert marker.exists()


# --- the job ------------------------------------------------------------------------------


def test_job_runs_stops_resumes_and_its_direction_works(generator):
    job = SupervisedDirectionJob(generator, labels=("brightness",), samples=96, seed=0,
                                 batch=8, labeller=brightness)
    seen = []
    for progress in job.run():
        seen.append(progress)
        if progress.done == 24 and not progress.stopped:
            job.stop()
    assert seen[-1].stopped and seen[-1].done == 24
    assert [p.done for p in seen[:-1]] == [8, 16, 24]
    for progress in job.run():
        seen.append(progress)
    assert seen[-1].finished and not seen[-1].stopped
    done = [p.done for p in seen]
    assert done == sorted(done) and done[-1] == 96
    assert all(p.total == 96 and p.faces == p.done and p.skipped == 0 for p in seen)

    (direction,) = job.result()
    assert direction.name == "brightness" and direction.source == "supervised"
    # moving new faces along it makes them brighter, and against it darker
    w = torch.from_numpy(mapped_samples(generator, samples=16, seed=99, truncation_psi=0.7))
    step = torch.from_numpy(direction.vector * 3.0 * direction.scale)

    def mean_brightness(codes: torch.Tensor) -> float:
        ws = codes.unsqueeze(1).repeat(1, generator.num_ws, 1)
        with torch.no_grad():
            images = images_to_uint8(generator.synthesis(ws, noise_mode="const"))
        return float(np.mean([brightness(im)["brightness"] for im in images]))

    assert mean_brightness(w + step) > mean_brightness(w) > mean_brightness(w - step)


def test_a_stop_through_job_control_ends_labelling_after_the_current_face(generator):
    control = JobControl()
    labelled = []

    def counting(image: np.ndarray) -> dict[str, float]:
        labelled.append(image)
        if len(labelled) == 11:  # the 11th face, in the middle of the second batch of 8
            control.stop()
        return brightness(image)

    job = SupervisedDirectionJob(generator, labels=("brightness",), samples=32, seed=0,
                                 batch=8, labeller=counting, min_faces=4, control=control)
    seen = list(job.run())
    assert [(p.done, p.stopped) for p in seen] == [(8, False), (11, False), (11, True)]
    assert len(labelled) == 11 and job.faces == 11 and not control.stop_requested
    seen = list(job.run())  # resumes at face 12: nothing is labelled twice
    assert seen[-1].finished and len(labelled) == 32 and job.faces == 32
    everything = SupervisedDirectionJob(generator, labels=("brightness",), samples=32, seed=0,
                                        batch=8, labeller=brightness, min_faces=4)
    np.testing.assert_allclose(job.result()[0].vector, everything.run_to_end()[0].vector,
                               rtol=1e-5, atol=1e-6)


def test_job_is_reproducible_and_fits_what_was_labelled(generator):
    def odd_only(image):
        odd_only.count += 1
        return brightness(image) if odd_only.count % 2 else None

    odd_only.count = 0
    job = SupervisedDirectionJob(generator, labels=("brightness",), samples=60, batch=16,
                                 labeller=odd_only, min_faces=20)
    last = list(job.run())[-1]
    assert (last.done, last.faces, last.skipped) == (60, 30, 30)
    again = SupervisedDirectionJob(generator, labels=("brightness",), samples=60, batch=16,
                                   labeller=brightness)
    again.run_to_end()
    np.testing.assert_array_equal(job._w, again._w)
    assert np.linalg.norm(job.result()[0].vector) == pytest.approx(1.0, abs=1e-6)

    few = SupervisedDirectionJob(generator, labels=("brightness",), samples=30, batch=16,
                                 labeller=brightness)
    few.stop()
    assert [p.stopped for p in few.run()] == [True]
    with pytest.raises(InvalidInputError, match="Only 0 of 0 samples"):
        few.result()


def test_random_faces_without_a_face_are_skipped(generator):
    job = SupervisedDirectionJob(generator, samples=4, batch=4)  # the real landmark labeller
    assert job.labeller is landmark_labeller
    last = list(job.run())[-1]
    assert (last.done, last.faces, last.skipped) == (4, 0, 4)
    with pytest.raises(InvalidInputError, match="at least 20"):
        job.result()


def test_job_refuses_bad_settings(generator):
    with pytest.raises(InvalidInputError, match="Unknown face measurement 'smile'"):
        SupervisedDirectionJob(generator, labels=("yaw", "smile"))
    with pytest.raises(InvalidInputError, match="at least one"):
        SupervisedDirectionJob(generator, labels=())
    with pytest.raises(InvalidInputError, match="positive"):
        SupervisedDirectionJob(generator, samples=0)
    job = SupervisedDirectionJob(generator, labels=("a", "b"), samples=4,
                                 labeller=lambda image: {"a": 1.0})
    with pytest.raises(InvalidInputError, match="no value for 'b'"):
        job.run_to_end()
