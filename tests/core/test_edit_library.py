"""The direction library: on-disk cache of built-ins, persistent imports, lookup."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import core.edit.library as library_module
from core.edit.direction_io import is_unit, sampled_scale
from core.edit.directions import Direction
from core.edit.library import (
    DirectionLibrary,
    default_library_root,
    generator_key,
    load_directions,
    save_directions,
)
from core.errors import CheckpointError, InvalidInputError, JobCancelled
from core.jobs import JobControl
from tests.checkpoint_writers import random_generator

SETTINGS = {"ganspace_samples": 1000, "ganspace_components": 6, "scale_samples": 400}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def generator():
    return random_generator(16, w_dim=32)


@pytest.fixture
def counted(monkeypatch):
    """Counts how often GANSpace directions are really computed."""
    calls = []
    original = library_module.ganspace_directions

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(library_module, "ganspace_directions", counting)
    return calls


def make(root: Path, generator, **overrides) -> DirectionLibrary:
    return DirectionLibrary(root, generator, **{**SETTINGS, **overrides})


def assert_same(a: list[Direction], b: list[Direction]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.vector, y.vector)
        assert (x.name, x.space, x.scale, x.layers, x.source, x.description) == (
            y.name, y.space, y.scale, y.layers, y.source, y.description)


def test_save_and_load_round_trip(tmp_path):
    directions = [
        Direction("a", "w", np.arange(1, 5, dtype=np.float32), 1.5, layers=(1, 3),
                  source="imported", description="first – with ünïcode"),
        Direction("b.c", "w", np.ones((6, 4), np.float32), 0.25, source="ganspace"),
        Direction("s-1", "s", np.eye(9, dtype=np.float32)[2], 3.0, source="user"),
    ]
    save_directions(tmp_path / "sub" / "set.npz", directions, meta={"kind": "test", "n": 3})
    loaded, meta = load_directions(tmp_path / "sub" / "set.npz")
    assert_same(loaded, directions)
    assert meta == {"kind": "test", "n": 3}
    sidecar = json.loads((tmp_path / "sub" / "set.json").read_text(encoding="utf-8"))
    assert [e["name"] for e in sidecar["directions"]] == ["a", "b.c", "s-1"]
    with np.load(tmp_path / "sub" / "set.npz", allow_pickle=False) as arrays:
        assert sorted(arrays.files) == ["d0", "d1", "d2"]
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["set.json", "set.npz"]


@pytest.mark.parametrize("damage", ["garbage npz", "garbage json", "other npz", "bad entry",
                                    "missing json"])
def test_damaged_pairs_are_refused(tmp_path, damage):
    path = tmp_path / "set.npz"
    save_directions(path, [Direction("a", "w", np.ones(4, np.float32), 1.0)])
    sidecar = path.with_suffix(".json")
    if damage == "garbage npz":
        path.write_bytes(b"PK\x03\x04 nothing")
    elif damage == "garbage json":
        sidecar.write_text("{")
    elif damage == "other npz":
        np.savez(path, d0=np.ones(4, np.float32) * 2)
    elif damage == "bad entry":
        data = json.loads(sidecar.read_text())
        data["directions"][0]["scale"] = -1
        sidecar.write_text(json.dumps(data))
    else:
        sidecar.unlink()
    with pytest.raises(CheckpointError):
        load_directions(path)


def test_default_root_follows_semedit_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMEDIT_HOME", str(tmp_path / "home"))
    assert default_library_root() == tmp_path / "home" / "directions"


def test_generator_key(generator):
    other = random_generator(16, w_dim=32, seed=1)
    assert generator_key(generator) == generator_key(generator)
    assert generator_key(generator) != generator_key(other)
    other.source_sha256 = "AB" * 32
    assert generator_key(other) == "ab" * 32
    other.source_sha256 = "../../etc"
    assert "/" not in generator_key(other) and len(generator_key(other)) == 64


def test_builtin_is_computed_once_and_cached(tmp_path, generator, counted):
    lib = make(tmp_path, generator)
    first = lib.builtin()
    assert [d.name for d in first] == [f"pc{i}" for i in range(6)]
    assert lib.builtin_path == tmp_path / generator_key(generator) / "builtin.npz"
    assert lib.builtin_path.is_file() and lib.builtin_path.with_suffix(".json").is_file()
    assert_same(lib.builtin(), first)
    assert len(counted) == 1
    assert_same(make(tmp_path, generator).builtin(), first)  # a new instance reads the cache
    assert len(counted) == 1
    assert len(make(tmp_path, generator, ganspace_components=4).builtin()) == 4  # new settings
    assert len(counted) == 2
    make(tmp_path, generator, ganspace_layers={0: (0, 2)}).builtin()
    assert len(counted) == 3


@pytest.mark.parametrize("damage", ["npz", "json"])
def test_a_corrupt_cache_is_recomputed(tmp_path, generator, counted, damage):
    first = make(tmp_path, generator).builtin()
    path = make(tmp_path, generator).builtin_path
    target = path if damage == "npz" else path.with_suffix(".json")
    target.write_bytes(target.read_bytes()[:40])
    again = make(tmp_path, generator).builtin()
    assert len(counted) == 2
    assert_same(again, first)
    load_directions(path)  # rewritten whole
    make(tmp_path, generator).builtin()
    assert len(counted) == 2


def test_imports_persist_and_can_be_removed(tmp_path, generator, counted):
    boundary = np.random.default_rng(0).normal(size=(1, 32)).astype(np.float32)
    boundary /= np.linalg.norm(boundary)
    np.save(tmp_path / "smile.npy", boundary)
    comps = np.linalg.qr(np.random.default_rng(1).normal(size=(32, 3)))[0].T[:, None, :]
    np.savez(tmp_path / "gs.npz", lat_comp=comps.astype(np.float32),
             lat_stdev=np.array([3.0, 2.0, 1.0], np.float32))
    root = tmp_path / "lib"
    lib = make(root, generator)
    (smile,) = lib.import_file(tmp_path / "smile.npy")
    # a unit vector gets its scale from this generator's mapped samples
    assert is_unit(smile.vector)
    assert smile.scale == pytest.approx(sampled_scale(smile, lib.w_samples(), num_ws=6))
    assert len(lib.import_file(tmp_path / "gs.npz", layers=(0, 2))) == 3

    fresh = make(root, generator)
    names = [d.name for d in fresh.list()]
    assert names == [f"pc{i}" for i in range(6)] + ["gs_pc0", "gs_pc1", "gs_pc2", "smile"]
    assert_same([fresh.get("smile")], [smile])
    assert fresh.get("gs_pc1").layers == (0, 2)
    assert fresh.get("gs_pc1").scale == pytest.approx(4.0)
    assert len(counted) == 1  # the built-ins were computed once for both instances

    with pytest.raises(InvalidInputError, match="already in the library"):
        fresh.import_file(tmp_path / "smile.npy")
    fresh.import_file(tmp_path / "smile.npy", scale=0.5, replace=True)
    assert make(root, generator).get("smile").scale == 0.5
    np.save(tmp_path / "pc0.npy", boundary)
    with pytest.raises(InvalidInputError, match="built-in"):
        fresh.import_file(tmp_path / "pc0.npy")

    fresh.remove("gs_pc1")
    fresh.remove("smile")
    later = make(root, generator)
    assert [d.name for d in later.imported()] == ["gs_pc0", "gs_pc2"]
    with pytest.raises(InvalidInputError, match="cannot be removed"):
        later.remove("pc0")
    with pytest.raises(InvalidInputError, match="'gs_pc0'"):
        later.get("gs_pc")
    with pytest.raises(InvalidInputError, match="no direction named 'smile'"):
        later.remove("smile")
    later.remove("gs_pc0")
    later.remove("gs_pc2")
    assert later.imported() == [] and list(later.imported_folder.iterdir()) == []


def test_a_damaged_import_is_skipped_not_fatal(tmp_path, generator):
    np.save(tmp_path / "a.npy", np.ones(32, np.float32) * 2)
    np.save(tmp_path / "b.npy", np.ones(32, np.float32) * 3)
    lib = make(tmp_path / "lib", generator)
    lib.import_file(tmp_path / "a.npy")
    lib.import_file(tmp_path / "b.npy")
    (lib.imported_folder / "a.npz").write_bytes(b"broken")
    fresh = make(tmp_path / "lib", generator)
    assert [d.name for d in fresh.list()][-1:] == ["b"]
    assert fresh.unreadable == [fresh.imported_folder / "a.npz"]


def test_supervised_directions_are_fitted_once_and_listed(tmp_path, generator):
    fits = []

    def brightness(image):
        fits.append(1)
        return {"brightness": float(image.mean())}

    settings = {"labels": ("brightness",), "samples": 24, "batch": 8, "labeller": brightness}
    lib = make(tmp_path, generator, supervised_settings=settings)
    assert lib.supervised() == []
    directions = lib.builtin(supervised=True)
    assert [d.name for d in directions][-1] == "brightness"
    assert len(fits) == 24
    fresh = make(tmp_path, generator, supervised_settings=settings)
    assert_same(fresh.builtin(supervised=True), directions)
    assert len(fits) == 24  # read from supervised.npz, not fitted again
    assert [d.name for d in fresh.list()][-1] == "brightness"
    assert [d.name for d in fresh.builtin()] == [f"pc{i}" for i in range(6)]
    # a job the GUI runs itself, stored afterwards
    job = fresh.supervised_job(samples=32)
    assert job.total == 32
    fresh.store_supervised(job.run_to_end())
    assert make(tmp_path, generator).supervised()[0].name == "brightness"


def test_a_stop_through_job_control_ends_the_first_ganspace_computation(
        tmp_path, generator, monkeypatch):
    control = JobControl()
    batches = []
    forward = generator.mapping.forward

    def counting_forward(z, *args, **kwargs):
        batches.append(len(z))
        if len(batches) == 2:
            control.stop()  # e.g. the app closing during its first GANSpace computation
        return forward(z, *args, **kwargs)

    monkeypatch.setattr(generator.mapping, "forward", counting_forward)
    lib = make(tmp_path, generator, ganspace_samples=10_000)
    with pytest.raises(JobCancelled, match="Sampling the mapping network was cancelled"):
        lib.list(control)
    assert batches == [2_000, 2_000]  # no batch after the stop; 10 000 samples are 5 batches
    assert not lib.builtin_path.exists()  # nothing partial is cached
    assert [d.name for d in lib.list()][:2] == ["pc0", "pc1"]  # runs again in full
    assert batches == [2_000] * 7


def test_a_stopped_supervised_fit_is_not_stored(tmp_path, generator):
    control = JobControl()
    labelled = []

    def brightness(image):
        labelled.append(1)
        if len(labelled) == 5:
            control.stop()
        return {"brightness": float(image.mean())}

    settings = {"labels": ("brightness",), "samples": 24, "batch": 8, "labeller": brightness}
    lib = make(tmp_path, generator, supervised_settings=settings)
    with pytest.raises(JobCancelled, match="supervised directions was cancelled"):
        lib.builtin(supervised=True, control=control)
    assert len(labelled) == 5 and not lib.supervised_path.exists()


def test_rescaled_gives_unit_vectors_the_builtin_scale_rule(tmp_path, generator):
    lib = make(tmp_path, generator)
    pc0 = lib.builtin()[0]
    moved = lib.rescaled(Direction("u", "w", pc0.vector, 3.0, source="imported"))
    assert moved.scale == pytest.approx(pc0.scale, rel=0.1)  # other samples, same spread
    assert moved.scale == pytest.approx(sampled_scale(moved, lib.w_samples(), num_ws=6))
    long = Direction("v", "w", pc0.vector * 5, 1.0, source="imported")
    assert lib.rescaled(long) is long


def test_names_shown_export_and_import_back(tmp_path, generator):
    library = make(tmp_path / "lib", generator)
    np.save(tmp_path / "smile.npy", np.random.default_rng(0).normal(size=32).astype(np.float32))
    library.import_file(tmp_path / "smile.npy", layers=(1, 3), scale=0.5)
    assert library.get("pc2").shown_name == "pc2"  # GANSpace stays pcN until renamed
    library.rename("pc2", "Jaw width")
    library.set_label("smile", title="Big smile", description="A wider smile.")
    again = make(tmp_path / "lib", generator)  # the names shown are kept on disk
    assert again.get("pc2").shown_name == "Jaw width" and again.get("pc2").name == "pc2"
    assert (again.get("smile").shown_name, again.get("smile").description) == (
        "Big smile", "A wider smile.")
    again.rename("pc2", "")
    assert again.get("pc2").shown_name == "pc2"
    with pytest.raises(InvalidInputError, match="no direction named 'nope'"):
        again.rename("nope", "x")

    exported = again.export("smile", tmp_path / "out")
    assert exported == tmp_path / "out.npz"
    other_library = make(tmp_path / "other", generator)
    (back,) = other_library.import_file(exported)
    assert (back.name, back.layers, back.scale, back.shown_name) == (
        "smile", (1, 3), 0.5, "Big smile")
    np.testing.assert_array_equal(back.vector, again.get("smile").vector)

    stranger = make(tmp_path / "stranger", random_generator(16, w_dim=32, seed=7))
    with pytest.raises(InvalidInputError, match="exported from another generator"):
        stranger.import_file(exported)


def test_fitted_directions_are_shown_by_their_measurement_and_can_be_removed(tmp_path,
                                                                            generator):
    library = make(tmp_path, generator)
    vector = np.random.default_rng(1).normal(size=32).astype(np.float32)
    library.store_supervised([Direction("yaw", "w", vector, 1.0, source="supervised"),
                              Direction("pitch", "w", vector, 1.0, source="supervised")])
    assert library.get("yaw").shown_name == "Head turn (yaw)"
    library.remove("yaw")
    assert [d.name for d in library.supervised()] == ["pitch"]
    library.remove("pitch")
    assert not library.supervised_path.exists()
