"""`semedit batch`: a recipe saved from a document makes the same bits on its photo, bad
photos are recorded and skipped, Ctrl-C and --resume, local worker processes and Ray."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core import workflows
from core.edit.stack import EditStacks
from core.invert import InversionSettings
from core.models.loaded import LoadedModels, ModelChoice
from core.project import load_project
from core.segment.mask_io import load_mask
from core.workflows import batch as batch_module
from core.workflows import recipe as recipe_module
from core.workflows.batch import MANIFEST_NAME, WorkerSpec, batch
from core.workflows.recipe import (
    ExportSettings,
    load_recipe,
    recipe_from_document,
    save_recipe,
)
from semedit_gui.launcher import main as semedit

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = Path(__file__).resolve().parents[1] / "data"
GEN = str(DATA / "ada_tiny.pkl")  # 32², w_dim 64
STEPS = 6


def png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


def manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST_NAME).read_text())["photos"]


def cli(capsys, *argv: object) -> tuple[int, dict, str]:
    code = semedit([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    return code, json.loads(lines[-1]) if lines else {}, err


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("shoot")
    astronaut = skimage.data.astronaut()
    Image.fromarray(astronaut).save(folder / "a.png")
    Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1])).save(folder / "b.png")
    Image.fromarray(np.ascontiguousarray(astronaut[40:, 20:-20])).save(folder / "c.png")
    masks = tmp_path_factory.mktemp("masks")
    face = np.zeros((32, 32), np.uint8)
    face[10:24, 8:24] = 255
    Image.fromarray(face).save(masks / "face.png")
    hair = np.zeros((32, 32), np.uint8)
    hair[:9] = 255
    Image.fromarray(hair).save(masks / "hair.png")
    return {"folder": folder, "a": folder / "a.png", "b": folder / "b.png",
            "c": folder / "c.png", "face": masks / "face.png", "hair": masks / "hair.png"}


@pytest.fixture
def models(tmp_path) -> LoadedModels:
    return LoadedModels(ModelChoice(generator=GEN, models_dir=str(tmp_path / "models"),
                                    device="cpu"))


def edited_document(models, photo: Path, *, masks: dict[str, Path] | None = None):
    """The app's way: open, chunks (automatic, or painted masks), invert, slider edits."""
    run = workflows.run
    doc = run(workflows.open_photo(models, photo)).document
    if masks is None:
        chunks = run(workflows.auto_chunks(models, doc)).masks
    else:
        chunks = {name: load_mask(path, doc.resolution).mask for name, path in masks.items()}
    for name, mask in chunks.items():
        doc.add_chunk(mask, name=name)
    outcome = run(workflows.invert(models, doc.snapshot(), InversionSettings(steps=STEPS),
                                   loss_kind="l2"))
    workflows.apply_inversion(doc, list(doc.chunks), outcome.result, outcome.settings,
                              metrics=outcome.metrics, generator_id=outcome.generator_id,
                              generator_sha256=outcome.generator_sha256,
                              loss_kind=outcome.loss_kind, pti_steps=outcome.pti_steps)
    stacks = EditStacks(doc, directions=models.directions().get)
    first, edited = next(iter(chunks)), list(chunks)[-1]
    stacks.set_enabled(first, stacks.add(first, "pc1", -1.5), False)  # off: not in the recipe
    stacks.add(edited, "pc0", 2.0)
    return doc, edited


def app_export(models, doc, path: Path, source: Path) -> np.ndarray:
    workflows.run(workflows.export(models, doc.snapshot(), path, full_photo=True,
                                   source_path=source))
    return png(path)


# ----------------------------------------------------------------- recipes


@pytest.mark.parametrize("chunks", ["auto", "masks"])
def test_a_recipe_from_a_document_makes_its_edits_bit_for_bit(chunks, photos, models, tmp_path,
                                                               capsys):
    masks = None if chunks == "auto" else {"face": photos["face"], "hair": photos["hair"]}
    doc, edited = edited_document(models, photos["a"], masks=masks)
    expected = app_export(models, doc, tmp_path / "app.png", photos["a"])
    recipe = recipe_from_document(doc, directions=models.directions().get, chunk_source=chunks,
                                  loss="l2")
    path = save_recipe(recipe, tmp_path / "look.json")
    written = json.loads(path.read_text())
    assert written["inversion"]["steps"] == STEPS and written["inversion"]["loss"] == "l2"
    assert [e["direction"] for e in written["edits"][edited]] == ["pc0"]
    assert len(written["edits"]) == 1  # the disabled edit is left out
    assert written["generator"]["sha256"] == doc.generator_sha256
    assert load_recipe(path).sha256() == recipe.sha256()

    out = tmp_path / "out"
    # Without --generator the recipe's generator is found by its sha256 (the model index).
    which = ["--generator", GEN] if chunks == "auto" else [
        "--models-dir", models.choice.models_dir]
    code, report, err = cli(capsys, "batch", path, photos["a"], "-o", out, *which,
                            "--device", "cpu", "--projects")
    assert code == 0, err
    assert report["done"] == 1 and report["state"] == "done"
    made = png(out / "a.png")
    assert made.shape == expected.shape == (512, 512, 3)
    assert np.array_equal(made, expected)
    assert (made != png(photos["a"])).any()  # the edit is there
    project = load_project(out / "a.semedit")
    assert [c.name for c in project.chunks] == [c.name for c in doc.chunks]
    for a, b in zip(project.chunks, doc.chunks, strict=True):
        assert np.array_equal(a.code, b.code)
    assert [(e.direction, e.strength) for e in project.chunk(edited).edits] == [("pc0", 2.0)]
    entry = manifest(out)[str(photos["a"])]
    assert entry["status"] == "done" and entry["outputs"] == ["a.png", "a.semedit"]


def test_a_recipe_takes_the_loss_and_pti_steps_the_project_records(photos, models, tmp_path):
    doc, _ = edited_document(models, photos["a"], masks={"face": photos["face"]})
    assert doc.inversion["settings"]["loss"] == "l2"  # what edited_document inverted with
    recipe = recipe_from_document(doc, directions=models.directions().get)
    assert (recipe.loss, recipe.pti_steps) == ("l2", 0)
    assert recipe_from_document(doc, directions=models.directions().get,
                                loss="lpips").loss == "lpips"  # asked for: wins
    older = doc.snapshot()  # a project from before the loss was recorded
    older.inversion = {**older.inversion, "settings": {
        k: v for k, v in older.inversion["settings"].items() if k not in ("loss", "pti_steps")}}
    assert recipe_from_document(older, directions=models.directions().get).loss == "lpips"


def test_recipe_files_are_checked_with_clear_messages(photos, models, tmp_path):
    doc, _ = edited_document(models, photos["a"], masks={"face": photos["face"]})
    recipe = recipe_from_document(doc, directions=models.directions().get, loss="l2")
    path = save_recipe(recipe, tmp_path / "r.json")
    good = json.loads(path.read_text())
    assert good["chunks"]["masks"] == {"face": "r.masks/00-face.png"}
    assert np.array_equal(load_recipe(path).masks["face"], doc.chunk("face").mask)

    def broken(change, message):
        data = json.loads(json.dumps(good))
        change(data)
        path.write_text(json.dumps(data))
        with pytest.raises(Exception, match=message):
            load_recipe(path)

    broken(lambda d: d.update(version=2), "version 2; this SemEdit reads version 1")
    broken(lambda d: d["inversion"].update(stepz=3), r"unknown keys \['stepz'\]")
    broken(lambda d: d["inversion"].update(steps="many"), "steps must be int")
    broken(lambda d: d["inversion"].update(space="z"), "space 'z'")
    broken(lambda d: d["edits"]["face"][0].update(strength=None), "must be a finite number")
    broken(lambda d: d["edits"].update(nose=[]), "chunk 'nose', which the recipe does not")
    broken(lambda d: d["chunks"]["masks"].update(face="../../etc/passwd"),
           "outside the recipe's folder")
    broken(lambda d: d["generator"].update(sha256="abc"), "64")
    broken(lambda d: d["export"].update(format="gif"), "'export.format' is 'gif'")
    path.write_text("{not json")
    with pytest.raises(Exception, match="not a readable recipe"):
        load_recipe(path)
    # An auto-chunk recipe needs the automatic chunks' names.
    doc.chunk("face").name = "cheek"
    with pytest.raises(Exception, match="not among them"):
        recipe_from_document(doc, directions=models.directions().get, chunk_source="auto")


def test_another_generator_is_refused_before_any_photo(photos, models, tmp_path, capsys):
    doc, _ = edited_document(models, photos["a"], masks={"face": photos["face"]})
    path = save_recipe(recipe_from_document(doc, directions=models.directions().get,
                                            loss="l2"), tmp_path / "r.json")
    other = str(DATA / "rosinality_tiny.pt")
    code, _, err = cli(capsys, "batch", path, photos["a"], "-o", tmp_path / "out",
                       "--generator", other, "--device", "cpu")
    assert code == 1 and "The recipe was made with the generator" in err
    assert not (tmp_path / "out" / MANIFEST_NAME).exists()


# ----------------------------------------------------------------- bad photos


def test_a_folder_with_a_faceless_photo_and_a_broken_file_finishes(photos, models, tmp_path,
                                                                   capsys):
    doc, _ = edited_document(models, photos["a"])
    recipe = recipe_from_document(doc, directions=models.directions().get, chunk_source="auto",
                                  loss="l2", export=ExportSettings(format="jpeg", quality=90))
    path = save_recipe(recipe, tmp_path / "r.json")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    (shoot / "a.png").write_bytes(photos["a"].read_bytes())
    gradient = np.tile(np.linspace(0, 255, 300, dtype=np.uint8)[None, :, None], (200, 1, 3))
    Image.fromarray(gradient).save(shoot / "wall.png")
    (shoot / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    (shoot / "notes.txt").write_text("not a photo: ignored")
    out = tmp_path / "out"
    code, report, err = cli(capsys, "batch", path, shoot, "-o", out, "--generator", GEN,
                            "--device", "cpu")
    assert code == 0, err
    assert (report["done"], report["skipped"], report["failed"]) == (1, 2, 0)
    photos_done = manifest(out)
    assert set(photos_done) == {str(shoot / n) for n in ("a.png", "wall.png", "broken.jpg")}
    assert photos_done[str(shoot / "wall.png")]["reason"] == "no face"
    broken = photos_done[str(shoot / "broken.jpg")]
    assert broken["status"] == "skipped" and broken["reason"] == "unreadable"
    assert str(shoot / "broken.jpg") in broken["message"]
    assert "skipped: " + str(shoot / "wall.png") in err
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", MANIFEST_NAME]
    # A second run into the same folder needs --resume; then nothing is made again.
    code, _, err = cli(capsys, "batch", path, shoot, "-o", out, "--generator", GEN,
                       "--device", "cpu")
    assert code == 1 and "--resume" in err


def test_a_missing_direction_skips_the_photos_that_need_it(photos, models, tmp_path, capsys):
    doc, edited = edited_document(models, photos["a"], masks={"face": photos["face"]})
    path = save_recipe(recipe_from_document(doc, directions=models.directions().get,
                                            loss="l2"), tmp_path / "r.json")
    data = json.loads(path.read_text())
    data["edits"][edited] = [{"direction": "smile_from_elsewhere", "strength": 1.0,
                              "sha256": None}]
    path.write_text(json.dumps(data))
    code, report, err = cli(capsys, "batch", path, photos["a"], photos["b"], "-o",
                            tmp_path / "out", "--generator", GEN, "--device", "cpu")
    assert code == 0, err
    assert report["skipped"] == 2
    entries = manifest(tmp_path / "out")
    assert {e["reason"] for e in entries.values()} == {"missing direction"}
    assert "smile_from_elsewhere" in entries[str(photos["a"])]["message"]


def test_outputs_never_overwrite_the_photos(photos, models, tmp_path, capsys):
    doc, _ = edited_document(models, photos["a"], masks={"face": photos["face"]})
    path = save_recipe(recipe_from_document(doc, directions=models.directions().get,
                                            loss="l2"), tmp_path / "r.json")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    (shoot / "a.png").write_bytes(photos["a"].read_bytes())
    before = (shoot / "a.png").read_bytes()
    code, _, err = cli(capsys, "batch", path, shoot, "-o", shoot, "--generator", GEN,
                       "--device", "cpu")
    assert code == 1 and "never writes over its inputs" in err
    assert (shoot / "a.png").read_bytes() == before


# ----------------------------------------------------------------- Ctrl-C and --resume


def test_resume_after_ctrl_c_does_not_redo_finished_photos(photos, models, tmp_path, capsys,
                                                           monkeypatch):
    doc, _ = edited_document(models, photos["a"], masks={"face": photos["face"]})
    path = save_recipe(recipe_from_document(doc, directions=models.directions().get,
                                            loss="l2"), tmp_path / "r.json")
    inversions: list[str] = []
    original = recipe_module.invert

    def interrupting(models, doc, *args, **kwargs):
        inversions.append(doc.photo_name)
        steps = original(models, doc, *args, **kwargs)
        while True:
            try:
                progress = next(steps)
            except StopIteration as finished:
                return finished.value
            if (doc.photo_name == "b.png" and progress.step == 3 and not progress.stopped
                    and len(inversions) == 2):
                os.kill(os.getpid(), signal.SIGINT)
            yield progress

    monkeypatch.setattr(recipe_module, "invert", interrupting)
    out = tmp_path / "out"
    args = ["batch", path, photos["a"], photos["b"], photos["c"], "-o", out, "--generator",
            GEN, "--device", "cpu"]
    code, report, err = cli(capsys, *args)
    assert code == 130 and report["state"] == "stopped"
    assert "stopping after the current step" in err
    first = manifest(out)
    assert first[str(photos["a"])]["status"] == "done"
    assert first[str(photos["b"])]["status"] == "interrupted"
    assert str(photos["c"]) not in first
    assert not (out / "b.png").exists()
    done_file = (out / "a.png").stat()
    inversions.clear()

    code, report, err = cli(capsys, *args, "--resume")
    assert code == 0, err
    assert report["already_done"] == 1 and report["done"] == 2
    assert inversions == ["b.png", "c.png"]  # a.png was not made again
    again = (out / "a.png").stat()
    assert (again.st_ino, again.st_mtime_ns) == (done_file.st_ino, done_file.st_mtime_ns)
    assert {e["status"] for e in manifest(out).values()} == {"done"}


# ----------------------------------------------------------------- worker processes, Ray


def serial_outputs(photos, models, tmp_path, capsys) -> tuple[Path, dict[str, bytes]]:
    doc, _ = edited_document(models, photos["a"], masks={"face": photos["face"],
                                                         "hair": photos["hair"]})
    path = save_recipe(recipe_from_document(doc, directions=models.directions().get,
                                            loss="l2"), tmp_path / "r.json")
    out = tmp_path / "serial"
    code, _, err = cli(capsys, "batch", path, photos["a"], photos["b"], photos["c"], "-o", out,
                       "--generator", GEN, "--device", "cpu")
    assert code == 0, err
    return path, {n: (out / n).read_bytes() for n in ("a.png", "b.png", "c.png")}


@pytest.mark.slow
def test_two_local_workers_make_the_same_bits_as_one_process(photos, models, tmp_path, capsys,
                                                              monkeypatch):
    path, expected = serial_outputs(photos, models, tmp_path, capsys)
    killed: list[int] = []
    record = batch_module.Manifest.record

    def kill_the_first_worker(self, outcome, outputs):
        record(self, outcome, outputs)
        if not killed:  # it is handed the next photo at once, and dies with it
            killed.append(int(outcome.worker.rsplit(":", 1)[1]))
            os.kill(killed[0], signal.SIGKILL)

    monkeypatch.setattr(batch_module.Manifest, "record", kill_the_first_worker)
    out = tmp_path / "pool"
    code, report, err = cli(capsys, "batch", path, photos["a"], photos["b"], photos["c"], "-o",
                            out, "--generator", GEN, "--device", "cpu", "--workers", "2")
    assert code == 0, err
    assert report["done"] == 3 and report["workers"] == 2 and report["retried"] == 1
    assert {n: (out / n).read_bytes() for n in expected} == expected
    assert killed and f":{killed[0]}" not in manifest(out)[str(photos["c"])]["worker"]


def test_ray_missing_says_what_to_install(photos, models, tmp_path, capsys, monkeypatch):
    doc, _ = edited_document(models, photos["a"], masks={"face": photos["face"]})
    path = save_recipe(recipe_from_document(doc, directions=models.directions().get,
                                            loss="l2"), tmp_path / "r.json")
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    code, _, err = cli(capsys, "batch", path, photos["a"], "-o", tmp_path / "out",
                       "--generator", GEN, "--device", "cpu", "--ray", "auto")
    assert code == 1 and "pip install 'semedit[cluster]'" in err


needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason=(
    "Ray is an optional extra: pip install 'semedit[cluster]' (CI installs only .[dev])"))


@needs_ray
@pytest.mark.slow
def test_ray_with_two_workers_makes_the_same_bits_as_one_process(photos, models, tmp_path,
                                                                 capsys):
    path, expected = serial_outputs(photos, models, tmp_path, capsys)
    out = tmp_path / "ray"
    code, report, err = cli(capsys, "batch", path, photos["a"], photos["b"], photos["c"], "-o",
                            out, "--generator", GEN, "--device", "cpu", "--ray", "auto",
                            "--workers", "2")
    assert code == 0, err
    assert report["done"] == 3 and report["workers"] == 2
    assert {n: (out / n).read_bytes() for n in expected} == expected


@needs_ray
@pytest.mark.slow
def test_killing_a_ray_worker_loses_no_photo(photos, models, tmp_path):
    doc, _ = edited_document(models, photos["a"], masks={"face": photos["face"]})
    recipe = recipe_from_document(doc, directions=models.directions().get, loss="l2")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    astronaut = skimage.data.astronaut()
    names = [f"p{i}.png" for i in range(6)]
    for i, name in enumerate(names):  # six photos: both actors hold two when one is killed
        Image.fromarray(np.ascontiguousarray(astronaut[4 * i:, 4 * i:])).save(shoot / name)
    spec = WorkerSpec(recipe, ModelChoice(generator=GEN, models_dir=str(tmp_path / "m"),
                                          device="cpu"))
    killed = None
    run = batch(spec, [shoot], tmp_path / "out", workers=2, ray_address="auto")
    while True:
        try:
            progress = next(run)
        except StopIteration as finished:
            summary = finished.value
            break
        if progress.outcome is not None and killed is None:
            killed = int(progress.outcome.worker.rsplit(":", 1)[1])
            os.kill(killed, signal.SIGKILL)  # it is making its next photo by now
    assert killed is not None
    entries = manifest(tmp_path / "out")
    assert summary.counts["done"] == 6 and summary.counts["failed"] == 0, entries
    assert summary.retried >= 1  # the killed worker's photo was given out again
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [*names, MANIFEST_NAME]
    assert batch_module.RETRIES >= 1


@needs_ray
@pytest.mark.slow
def test_a_ray_worker_with_another_network_stops_the_run_before_any_photo(photos, models,
                                                                          tmp_path):
    doc, _ = edited_document(models, photos["a"], masks={"face": photos["face"]})
    recipe = recipe_from_document(doc, directions=models.directions().get, loss="l2")
    other = str(DATA / "rosinality_tiny.pt")  # what this worker has under that name
    spec = WorkerSpec(recipe, ModelChoice(generator=other, models_dir=str(tmp_path / "m"),
                                          device="cpu"))
    with pytest.raises(Exception, match=r"A Ray worker could not start: .*The recipe was "
                       r"made with the generator"):
        workflows.run(batch(spec, [photos["a"]], tmp_path / "out", ray_address="auto"))
    assert not (tmp_path / "out" / MANIFEST_NAME).exists()
