"""Importing direction files: every accepted shape, and refusing everything else safely."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from core.edit.direction_io import (
    UNIT_VECTOR_SCALE,
    import_direction_file,
    sampled_scale,
)
from core.edit.directions import SLIDER_SIGMAS, slider_scale
from core.edit.ganspace import mapped_samples
from core.errors import CheckpointError, InvalidInputError
from core.latents.codes import CodeSpace
from tests.checkpoint_writers import random_generator

W, L = 32, 6  # random_generator(16, w_dim=32): w_dim 32, 6 ws rows


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def code_space() -> CodeSpace:
    g = random_generator(16, w_dim=W)
    assert (g.w_dim, g.num_ws) == (W, L)
    return CodeSpace(g)


def rng_vector(*shape: int, seed: int = 0, unit: bool = False) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    return v / np.linalg.norm(v) if unit else v


def load(path: Path, **kwargs):
    return import_direction_file(path, w_dim=W, num_ws=L, **kwargs)


class Payload:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))


# --- accepted files -----------------------------------------------------------------------


def test_plain_vector_keeps_its_length_with_scale_one(tmp_path):
    v = rng_vector(W) * 4.0
    np.save(tmp_path / "age.npy", v)
    (d,) = load(tmp_path / "age.npy")
    assert (d.name, d.space, d.source, d.scale, d.layers) == ("age", "w", "imported", 1.0, None)
    np.testing.assert_array_equal(d.vector, v)
    assert "age.npy" in d.description


def test_interfacegan_boundary_is_a_unit_row_with_a_few_units_of_scale(tmp_path, code_space):
    boundary = rng_vector(1, W, unit=True)
    np.save(tmp_path / "stylegan_ffhq_smile_w_boundary.npy", boundary)
    (d,) = load(tmp_path / "stylegan_ffhq_smile_w_boundary.npy", name="smile")
    assert d.name == "smile" and d.vector.shape == (W,)
    np.testing.assert_array_equal(d.vector, boundary[0])
    assert d.scale == UNIT_VECTOR_SCALE
    samples = mapped_samples(code_space.generator, samples=300)
    (scaled,) = load(tmp_path / "stylegan_ffhq_smile_w_boundary.npy", w_samples=samples)
    assert scaled.scale == pytest.approx(slider_scale(samples, boundary[0]))
    (given,) = load(tmp_path / "stylegan_ffhq_smile_w_boundary.npy", scale=0.25,
                    w_samples=samples)
    assert given.scale == 0.25


def test_per_layer_directions_and_layer_ranges(tmp_path):
    rows = rng_vector(L, W)
    np.save(tmp_path / "rows.npy", rows[None])  # [1, num_ws, w_dim]: a batch of one
    (d,) = load(tmp_path / "rows.npy", layers=(2, 5))
    assert d.vector.shape == (L, W) and d.layers == (2, 5)
    np.testing.assert_array_equal(d.vector, rows)
    delta = d.ws_delta(L, 1.0)
    assert not np.any(delta[:2]) and not np.any(delta[5:])
    with pytest.raises(InvalidInputError, match="does not fit"):
        load(tmp_path / "rows.npy", layers=(2, 9))


def test_torch_tensor_and_dict_of_tensors(tmp_path):
    v = rng_vector(1, W)
    torch.save(torch.from_numpy(v).double(), tmp_path / "pose.pt")
    (d,) = load(tmp_path / "pose.pt")
    assert d.name == "pose" and d.vector.dtype == np.float32
    np.testing.assert_allclose(d.vector, v[0], rtol=1e-6)
    torch.save({"smile": torch.from_numpy(rng_vector(W, seed=1)),
                "age": torch.from_numpy(rng_vector(L, W, seed=2)).half()},
               tmp_path / "edits.pth")
    directions = load(tmp_path / "edits.pth")
    assert [d.name for d in directions] == ["edits_smile", "edits_age"]
    assert directions[1].vector.shape == (L, W)
    named = load(tmp_path / "edits.pth", name="mine")
    assert [d.name for d in named] == ["mine_smile", "mine_age"]


def test_npz_with_one_or_several_arrays(tmp_path):
    np.savez(tmp_path / "one file.npz", boundary=rng_vector(W))
    assert [d.name for d in load(tmp_path / "one file.npz")] == ["one_file"]
    np.savez(tmp_path / "two.npz", a=rng_vector(W), b=rng_vector(1, W, seed=3))
    assert [d.name for d in load(tmp_path / "two.npz")] == ["two_a", "two_b"]


def test_ganspace_pca_file(tmp_path):
    k = 5
    comps, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(W, k)))
    stdev = np.array([3.0, 2.0, 1.5, 1.0, 0.5], np.float32)
    np.savez_compressed(
        tmp_path / "stylegan2-ffhq_style_ipca_c80_n1000000_w.npz",
        lat_comp=(comps.T[:, None, :] * 1.5).astype(np.float32),  # not quite unit: normalised
        lat_mean=np.ones((1, W), np.float32), lat_stdev=stdev,
        var_ratio=np.array([0.3, 0.2, 0.1, 0.05, 0.02], np.float32),
        act_comp=np.zeros((k, 1, W), np.float32))
    directions = load(tmp_path / "stylegan2-ffhq_style_ipca_c80_n1000000_w.npz", name="ffhq")
    assert [d.name for d in directions] == [f"ffhq_pc{i}" for i in range(k)]
    for i, d in enumerate(directions):
        assert np.linalg.norm(d.vector) == pytest.approx(1.0, abs=1e-6)
        assert abs(float(d.vector @ comps[:, i])) == pytest.approx(1.0, abs=1e-6)
        assert d.scale == pytest.approx(SLIDER_SIGMAS * stdev[i])
    assert "30.0% of variance" in directions[0].description


def test_e4e_ganspace_checkpoint_uses_comp_and_std(tmp_path):
    comps = np.linalg.qr(np.random.default_rng(1).normal(size=(W, 3)))[0].T
    torch.save({"comp": torch.from_numpy(comps[:, None, :]).float(),
                "std": torch.tensor([2.0, 1.0, 0.5]), "mean": torch.zeros(1, W)},
               tmp_path / "ffhq_pca.pt")
    directions = load(tmp_path / "ffhq_pca.pt")
    assert [d.name for d in directions] == ["ffhq_pca_pc0", "ffhq_pca_pc1", "ffhq_pca_pc2"]
    assert [d.scale for d in directions] == pytest.approx([4.0, 2.0, 1.0])


def test_stylespace_channels(tmp_path, code_space):
    names = list(code_space.layer_dims)
    np.savez(tmp_path / "gaze.npz", layer=np.array(3), channel=np.array(2))
    (d,) = load(tmp_path / "gaze.npz", code_space=code_space)
    offset = sum(list(code_space.layer_dims.values())[:3])
    assert d.space == "s" and d.vector.shape == (code_space.s_dim,)
    assert d.vector[offset + 2] == 1.0 and d.vector.sum() == 1.0
    assert d.name == "gaze" and d.source == "imported"
    # default scale: SLIDER_SIGMAS × the channel's spread over mapped samples
    w = torch.from_numpy(mapped_samples(code_space.generator, samples=1000))
    styles = code_space.generator.synthesis.compute_styles(w[:, None].repeat(1, L, 1))
    assert d.scale == pytest.approx(2.0 * float(styles[names[3]][:, 2].double().std(
        unbiased=False)), rel=1e-4)

    (tmp_path / "edits.json").write_text(json.dumps([
        {"layer": names[1], "channel": 0, "name": "hair colour", "scale": 0.5},
        {"layer": 0, "channel": 1, "description": "something"},
    ]))
    a, b = load(tmp_path / "edits.json", code_space=code_space)
    assert (a.name, a.scale) == ("hair_colour", 0.5)
    assert b.name == f"{names[0]}.1" and b.description == "something"
    torch.save({"layer": torch.tensor([1, 2]), "channel": torch.tensor([0, 3])},
               tmp_path / "pairs.pt")
    assert len(load(tmp_path / "pairs.pt", code_space=code_space, scale=1.0)) == 2

    with pytest.raises(InvalidInputError, match="CodeSpace"):
        load(tmp_path / "gaze.npz")
    (tmp_path / "bad.json").write_text('{"layer": 0, "channel": 10000}')
    with pytest.raises(CheckpointError, match="channels"):
        load(tmp_path / "bad.json", code_space=code_space)
    (tmp_path / "bad2.json").write_text('{"layer": 99, "channel": 1}')
    with pytest.raises(CheckpointError, match="does not exist"):
        load(tmp_path / "bad2.json", code_space=code_space)


def test_stylespace_vectors_and_sampled_scales(tmp_path, code_space):
    v = rng_vector(code_space.s_dim, unit=True)
    np.save(tmp_path / "s.npy", v)
    (d,) = load(tmp_path / "s.npy", code_space=code_space)
    assert d.space == "s"
    with pytest.raises(CheckpointError, match="shape"):
        load(tmp_path / "s.npy")  # without the generator's styles it fits nothing
    # a per-layer unit direction acting on 3 rows: scale from samples broadcast to them
    rows = rng_vector(L, W, unit=True)
    np.save(tmp_path / "rows.npy", rows)
    samples = mapped_samples(code_space.generator, samples=400)
    (r,) = load(tmp_path / "rows.npy", layers=(0, 3), w_samples=samples)
    moved = np.repeat(samples[:, None], L, axis=1)
    moved[:, 3:] = 0
    flat = r.ws_delta(L, 1.0).reshape(-1)
    assert r.scale == pytest.approx(slider_scale(moved.reshape(400, -1), flat), rel=1e-4)
    assert sampled_scale(r, samples, num_ws=L) == r.scale


# --- refused files ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "array", "message"), [
    ("wide.npy", np.ones(W + 1, np.float32), "shape"),
    ("batch.npy", np.ones((3, W), np.float32), "shape"),
    ("nan.npy", np.full(W, np.nan, np.float32), "NaN"),
    ("zero.npy", np.zeros(W, np.float32), "all zeros"),
    ("empty.npy", np.zeros((0,), np.float32), "empty"),
    ("flags.npy", np.ones(W, bool), "bool"),
    ("complex.npy", np.ones(W, np.complex64), "complex"),
    ("text.npy", np.array(["a"] * W), "not numbers"),
    ("huge.npy", np.full(W, 1e300), "infinite"),
])
def test_bad_arrays_are_refused(tmp_path, name, array, message):
    np.save(tmp_path / name, array)
    with pytest.raises(CheckpointError, match=message) as caught:
        load(tmp_path / name)
    assert caught.value.path == tmp_path / name
    assert "\n" not in str(caught.value)


def test_bad_ganspace_and_dict_files_are_refused(tmp_path):
    np.savez(tmp_path / "a.npz", lat_comp=np.ones((3, 2, W)), lat_stdev=np.ones(3))
    with pytest.raises(CheckpointError, match=r"expected \[k, 1, 32\]"):
        load(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", lat_comp=np.ones((3, 1, W)), lat_stdev=-np.ones(3))
    with pytest.raises(CheckpointError, match="positive"):
        load(tmp_path / "b.npz")
    torch.save({"a": torch.ones(W), "b": [1, 2]}, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="'b' is a list"):
        load(tmp_path / "c.pt")
    torch.save([torch.ones(W)], tmp_path / "d.pt")
    with pytest.raises(CheckpointError, match="found a list"):
        load(tmp_path / "d.pt")
    np.savez(tmp_path / "e.npz")
    with pytest.raises(CheckpointError, match="no directions"):
        load(tmp_path / "e.npz")
    (tmp_path / "f.json").write_text("[1, 2")
    with pytest.raises(CheckpointError, match="JSON"):
        load(tmp_path / "f.json", code_space=None)
    (tmp_path / "g.txt").write_text("1 2 3")
    with pytest.raises(CheckpointError, match="unknown direction file type"):
        load(tmp_path / "g.txt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load(tmp_path / "missing.npy")


def test_hostile_pickles_are_refused_without_running(tmp_path):
    marker = tmp_path / "payload-ran"
    np.save(tmp_path / "evil.npy", np.array([Payload(marker)], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "evil.npz", direction=np.array([Payload(marker)], dtype=object))
    torch.save({"direction": Payload(marker)}, tmp_path / "evil.pt")
    (tmp_path / "evil.pth").write_bytes(pickle.dumps(Payload(marker)))  # a raw pickle
    for name in ("evil.npy", "evil.npz", "evil.pt", "evil.pth"):
        with pytest.raises(CheckpointError, match="refused"):
            load(tmp_path / name)
        assert not marker.exists(), name
    pickle.loads((tmp_path / "evil.pth").read_bytes())  # the payload is live
    assert marker.exists()


@pytest.mark.parametrize("name", ["cut.npy", "cut.npz", "cut.pt"])
def test_truncated_files_are_refused(tmp_path, name):
    whole = tmp_path / f"whole{Path(name).suffix}"
    big = rng_vector(L, W)
    if name.endswith(".npy"):
        np.save(whole, big)
    elif name.endswith(".npz"):
        np.savez_compressed(whole, a=big, b=big)
    else:
        torch.save({"a": torch.from_numpy(big)}, whole)
    data = whole.read_bytes()
    (tmp_path / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load(tmp_path / name)
