"""core.workflows on tiny models: the CLI and the app's jobs give the same bits, outcomes
are CPU-only, and a stop ends a workflow with what it reached."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from core import workflows
from core.errors import JobCancelled
from core.hair import HairTransferSettings
from core.invert import InversionSettings
from core.jobs import JobControl
from core.models.loaded import LoadedModels, ModelChoice
from core.project import load_project, save_project
from core.segment.mask_io import load_mask
from semedit_gui import jobs
from semedit_gui.launcher import main as semedit
from tests.sam_writers import write_tiny_sam

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
GEN = str(DATA / "ada_tiny.pkl")  # 32², w_dim 64


class FakeTask:
    """What a job sees of the app's worker task: its stop flag."""

    def __init__(self) -> None:
        self.control = JobControl()
        self.progress: list = []


def run_job(work, models: LoadedModels, task: FakeTask | None = None):
    """Run `jobs.x(...)` as the worker does: call it, drive a generator to its end."""
    task = task or FakeTask()
    outcome = work(models, task)
    if isinstance(outcome, types.GeneratorType):
        outcome = workflows.run(outcome, task.progress.append)
    return outcome


def cli(capsys, *argv: object) -> dict | list:
    code = semedit([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


def png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("workflows")
    astronaut = skimage.data.astronaut()
    Image.fromarray(astronaut).save(folder / "a.png")
    Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1])).save(folder / "b.png")
    face = np.zeros((32, 32), np.uint8)
    face[10:24, 8:24] = 255
    Image.fromarray(face).save(folder / "face.png")
    hair = np.zeros((32, 32), np.uint8)
    hair[:9] = 255
    Image.fromarray(hair).save(folder / "hair.png")
    hair_b = hair.copy()
    hair_b[:16, :5] = hair_b[:16, -5:] = 255
    Image.fromarray(hair_b).save(folder / "hair_b.png")
    return {"a": folder / "a.png", "b": folder / "b.png", "face": folder / "face.png",
            "hair": folder / "hair.png", "hair_b": folder / "hair_b.png",
            "sam": write_tiny_sam(folder / "sam_tiny.pth")}


@pytest.fixture
def models(tmp_path) -> LoadedModels:
    return LoadedModels(ModelChoice(generator=GEN, models_dir=str(tmp_path / "models"),
                                    device="cpu"))


def gui_inversion(models, files, steps: int, control_task: FakeTask | None = None):
    """The app's path: open the photo, paint two chunks, invert, apply on the UI side."""
    opened = run_job(jobs.open_photo(files["a"]), models)
    doc = opened.document
    for name in ("face", "hair"):
        doc.add_chunk(load_mask(files[name], doc.resolution).mask, name=name)
    settings = InversionSettings(steps=steps)
    task = control_task or FakeTask()
    outcome = run_job(jobs.invert(doc.snapshot(), settings, loss_kind="l2"), models, task)
    changed = workflows.apply_inversion(
        doc, list(doc.chunks), outcome.result, outcome.settings, metrics=outcome.metrics,
        generator_id=outcome.generator_id, generator_sha256=outcome.generator_sha256,
        pti_weights=outcome.pti_weights)
    return doc, outcome, changed, task


# ----------------------------------------------------------------- CLI == app, bit for bit


def test_invert_cli_and_app_make_the_same_project(files, models, tmp_path, capsys):
    project = tmp_path / "p.semedit"
    report = cli(capsys, "invert", files["a"], "--generator", GEN, "--mask", files["face"],
                 "--mask", files["hair"], "--loss", "l2", "--steps", "12", "-o", project)
    assert report["state"] == "done" and report["steps"] == 12
    saved = load_project(project)
    doc, outcome, changed, task = gui_inversion(models, files, 12)
    assert changed == [] and not outcome.stopped
    assert [c.name for c in saved.chunks] == [c.name for c in doc.chunks] == ["face", "hair"]
    for a, b in zip(saved.chunks, doc.chunks, strict=True):
        assert a.space == b.space and np.array_equal(a.code, b.code)
        assert np.array_equal(a.mask, b.mask)
    assert np.array_equal(saved.aligned, doc.aligned)
    assert saved.generator_sha256 == doc.generator_sha256
    assert report["l2"] == outcome.metrics["l2"]
    # The app saw each step, with the stage and the figures its panel shows.
    steps = [u.progress.step for u in task.progress if u.stage == "invert"]
    assert steps[-1] == 12 and all(u.progress.total_steps == 12 for u in task.progress)


def test_export_cli_and_app_write_the_same_pixels(files, models, tmp_path, capsys):
    project = tmp_path / "p.semedit"
    cli(capsys, "invert", files["a"], "--generator", GEN, "--mask", files["face"], "--loss",
        "l2", "--steps", "5", "-o", project)
    out = tmp_path / "cli.png"
    cli(capsys, "edit", project, "--generator", GEN, "--chunk", "face", "--direction",
        "pc0=2", "--full-photo", "-o", out)
    doc = load_project(project)
    workflows.apply_edit_plan(models, doc, [("face", [("pc0", 2.0)])])
    app = tmp_path / "app.png"
    written = run_job(jobs.export(doc.snapshot(), jobs.ExportRequest(app, full_photo=True)),
                      models)
    assert written == app
    cli_pixels, app_pixels = png(out), png(app)
    assert cli_pixels.shape == (512, 512, 3)
    assert np.array_equal(cli_pixels, app_pixels)
    assert (cli_pixels != png(files["a"])).any()  # the edit is there


def test_segment_cli_and_app_find_the_same_mask(files, tmp_path, capsys):
    out = tmp_path / "m.png"
    report = cli(capsys, "segment", files["a"], "--point", "250,150", "--sam", files["sam"],
                 "--device", "cpu", "-o", out)
    models = LoadedModels(ModelChoice(sam=str(files["sam"]), device="cpu"))
    rgb = np.asarray(Image.open(files["a"]).convert("RGB"))
    prediction = run_job(jobs.sam_predict(rgb, [(250.0, 150.0)], [1], None), models)
    assert report["score"] == round(prediction.score, 4)
    assert np.array_equal(png(out) >= 128, prediction.mask)


def test_face_chunks_cli_and_app_are_the_same(files, models, tmp_path, capsys):
    report = cli(capsys, "segment", files["a"], "--face-chunks", "--align", "32", "-o",
                 tmp_path / "chunks")
    doc = run_job(jobs.open_photo(files["a"]), models).document
    chunks = run_job(jobs.auto_chunks(doc.snapshot()), models)
    assert [Path(p).stem for p in report["output"]] == list(chunks.masks)
    assert report["method"] == chunks.method == "landmarks"  # no SAM installed here
    for name, mask in chunks.masks.items():
        written = load_mask(tmp_path / "chunks" / f"{name}.png", 32).mask
        assert np.array_equal(written, np.round(mask * 255) / 255), name


def test_hair_cli_and_app_give_the_same_result(files, models, tmp_path, capsys):
    out, project = tmp_path / "out.png", tmp_path / "hair.semedit"
    report = cli(capsys, "hair", files["a"], files["b"], "--generator", GEN, "--loss", "l2",
                 "--steps", "6", "--refine-steps", "3", "--no-pose-match", "--hair-mask-a",
                 files["hair"], "--hair-mask-b", files["hair_b"], "-o", out, "--save", project)
    doc = run_job(jobs.open_photo(files["a"]), models).document
    settings = HairTransferSettings(loss="l2", inversion_steps=6, refine_steps=3,
                                    pose_match=False)
    task = FakeTask()
    outcome = run_job(jobs.hair_transfer(doc.snapshot(), files["b"], settings,
                                         hair_mask_a=load_mask(files["hair"], 32).mask,
                                         hair_mask_b=load_mask(files["hair_b"], 32).mask),
                      models, task)
    assert np.array_equal(png(out), outcome.full_photo)
    assert report["hair_lpips"] == outcome.result.metrics["hair_lpips"]
    saved = load_project(project)
    again = outcome.result.document(photo_bytes=out.read_bytes(), photo_name=out.name,
                                    generator_id=outcome.generator_id,
                                    generator_sha256=outcome.generator_sha256)
    save_project(again, tmp_path / "again.semedit")  # masks are stored as PNGs
    again = load_project(tmp_path / "again.semedit")
    assert [c.name for c in saved.chunks] == [c.name for c in again.chunks]
    for a, b in zip(saved.chunks, again.chunks, strict=True):
        assert np.array_equal(a.code, b.code) and np.array_equal(a.mask, b.mask)
    assert {p.stage for p in task.progress} >= {"invert_identity", "refine"}
    # The blend slider, rebuilt on the worker from the CPU result: t = 1 is the output.
    t, end = run_job(jobs.hair_blend(outcome.result, 1.0), models)
    assert t == 1.0 and np.array_equal(end, outcome.result.output)
    _, start = run_job(jobs.hair_blend(outcome.result, 0.0), models)
    assert not np.array_equal(start, end)


def test_directions_cli_and_app_list_the_same(models, capsys):
    computed = cli(capsys, "directions", "compute", "--generator", GEN, "--device", "cpu")
    assert semedit(["directions", "list", "--generator", GEN, "--device", "cpu"]) == 0
    listed = json.loads(capsys.readouterr().out)
    app = run_job(jobs.load_directions(), models)
    assert [d["name"] for d in listed] == [d.name for d in app]
    assert set(computed["computed"]) <= {d.name for d in app}
    assert [d["scale"] for d in listed] == [round(d.scale, 6) for d in app]


# ----------------------------------------------------------------- CPU-only outcomes


def _torch_objects(value, path: str = "outcome", seen: set[int] | None = None) -> list[str]:
    """Paths of every torch.Tensor or torch.nn.Module reachable from `value`."""
    seen = set() if seen is None else seen
    if id(value) in seen or isinstance(value, str | bytes | int | float | bool | type(None)
                                       | np.ndarray | Path):
        return []
    seen.add(id(value))
    if isinstance(value, torch.Tensor | torch.nn.Module):
        return [path]
    if isinstance(value, dict):
        items = [(f"{path}[{k!r}]", v) for k, v in value.items()]
    elif isinstance(value, list | tuple | set | frozenset):
        items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    elif dataclasses.is_dataclass(value) or hasattr(value, "__dict__"):
        fields = vars(value) if hasattr(value, "__dict__") else {
            f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        items = [(f"{path}.{k}", v) for k, v in fields.items()]
    else:
        return []
    found = []
    for where, item in items:
        found += _torch_objects(item, where, seen)
    return found


def test_every_outcome_is_cpu_only(files, tmp_path):
    models = LoadedModels(ModelChoice(generator=GEN, sam=str(files["sam"]),
                                      models_dir=str(tmp_path / "models"), device="cpu"))
    task = FakeTask()
    opened = run_job(jobs.open_photo(files["a"]), models, task)
    doc = opened.document
    doc.add_chunk(load_mask(files["face"], 32).mask, name="face")
    outcomes = {
        "open_photo": opened,
        "auto_chunks": run_job(jobs.auto_chunks(doc.snapshot()), models, task),
        "sam_predict": run_job(jobs.sam_predict(doc.aligned, [(16.0, 16.0)], [1], None),
                               models, task),
        "load_directions": run_job(jobs.load_directions(), models, task),
        "invert": run_job(jobs.invert(doc.snapshot(), InversionSettings(steps=3),
                                      loss_kind="l2", pti_steps=2), models, task),
    }
    inverted = doc.snapshot()
    inverted.chunks[0].code = outcomes["invert"].result.codes[0].value
    inverted.generator_sha256 = outcomes["invert"].generator_sha256
    outcomes["export"] = run_job(jobs.export(inverted, jobs.ExportRequest(
        tmp_path / "e.png", full_photo=False)), models, task)
    settings = HairTransferSettings(loss="l2", inversion_steps=2, refine_steps=1,
                                    pose_match=False)
    hair = run_job(jobs.hair_transfer(doc.snapshot(), files["b"], settings,
                                      hair_mask_a=load_mask(files["hair"], 32).mask,
                                      hair_mask_b=load_mask(files["hair_b"], 32).mask),
                   models, task)
    outcomes["hair_transfer"] = hair
    outcomes["hair_blend"] = run_job(jobs.hair_blend(hair.result, 0.5), models, task)
    outcomes["progress"] = task.progress
    assert outcomes["invert"].pti_weights  # PTI ran: its weights come back as arrays
    assert all(isinstance(v, np.ndarray) for v in outcomes["invert"].pti_weights.values())
    for name, outcome in outcomes.items():
        assert _torch_objects(outcome) == [], name
    # ... and the walk does find a tensor or a model where there is one.
    assert _torch_objects({"g": models.generator()}) == ["outcome['g']"]
    assert _torch_objects([types.SimpleNamespace(t=torch.zeros(1))]) == ["outcome[0].t"]


def test_a_hair_blend_uses_the_current_generator(files, models, tmp_path):
    """No result holds a generator: after a switch, the blend renders with the new one
    (and a generator of another size is refused in words)."""
    doc = run_job(jobs.open_photo(files["a"]), models).document
    settings = HairTransferSettings(loss="l2", inversion_steps=2, refine_steps=1,
                                    pose_match=False)
    outcome = run_job(jobs.hair_transfer(doc.snapshot(), files["b"], settings,
                                         hair_mask_a=load_mask(files["hair"], 32).mask,
                                         hair_mask_b=load_mask(files["hair_b"], 32).mask),
                      models)
    before = models.generator()
    _, image = run_job(jobs.hair_blend(outcome.result, 0.5), models)
    models.use(ModelChoice(generator=str(DATA / "ada_tiny64_w512.pkl"),
                           models_dir=models.choice.models_dir, device="cpu"))
    assert models.generator() is not before
    with pytest.raises(Exception, match="run the transfer again"):
        run_job(jobs.hair_blend(outcome.result, 0.5), models)
    models.use(ModelChoice(generator=GEN, models_dir=models.choice.models_dir, device="cpu"))
    _, again = run_job(jobs.hair_blend(outcome.result, 0.5), models)
    assert np.array_equal(again, image)  # a fresh load of the same file renders the same


# ----------------------------------------------------------------- stopping


def test_a_stop_ends_the_inversion_with_what_it_reached(files, models):
    task = FakeTask()

    class StopAtFour(list):
        def append(self, update):
            super().append(update)
            if update.progress.step == 4:
                task.control.stop()

    task.progress = StopAtFour()
    doc, outcome, _changed, _ = gui_inversion(models, files, 200, task)
    assert outcome.stopped and 4 <= outcome.result.steps <= 5
    assert outcome.metrics["steps"] == outcome.result.steps
    assert all(c.code is not None for c in doc.chunks)  # the partial codes are kept
    # Continue: the document's codes are the start of the next run.
    resumed = run_job(jobs.invert(doc.snapshot(), InversionSettings(steps=3), loss_kind="l2",
                                  resume=True), models)
    assert not resumed.stopped and resumed.result.steps == 3


def test_a_stop_ends_the_hair_transfer(files, models):
    doc = run_job(jobs.open_photo(files["a"]), models).document
    task = FakeTask()

    class StopInRefinement(list):
        def append(self, progress):
            super().append(progress)
            if progress.stage == "invert_identity" and progress.step == 2:
                task.control.stop()

    task.progress = StopInRefinement()
    settings = HairTransferSettings(loss="l2", inversion_steps=50, refine_steps=50,
                                    pose_match=False)
    # Before the hair photo is inverted there is nothing to keep (tests/core/test_hair_stop.py:
    # later stops keep the hair so far).
    with pytest.raises(JobCancelled, match="Stopped before the hair was transferred"):
        run_job(jobs.hair_transfer(doc.snapshot(), files["b"], settings,
                                   hair_mask_a=load_mask(files["hair"], 32).mask,
                                   hair_mask_b=load_mask(files["hair_b"], 32).mask),
                models, task)
    assert task.progress[-1].stage == "invert_identity" and task.progress[-1].stopped
    assert task.progress[-1].step < 50


def ctrl_c_at(module, monkeypatch, stage: str, step: int) -> None:
    """Press Ctrl-C (a real SIGINT to this process) when a command's workflow reports
    `step` of `stage`."""
    original = module.run_workflow

    def interrupting(workflow):
        while True:
            try:
                progress = next(workflow)
            except StopIteration as finished:
                return finished.value
            if progress.stage == stage and progress.step == step and not progress.stopped:
                os.kill(os.getpid(), signal.SIGINT)  # handled at once, in this thread
            yield progress

    monkeypatch.setattr(module, "run_workflow",
                        lambda workflow, **kwargs: original(interrupting(workflow), **kwargs))


def test_ctrl_c_stops_the_cli_inversion_and_saves_what_it_reached(files, tmp_path, capsys,
                                                                 monkeypatch):
    """The first Ctrl-C sets the command's JobControl: the inversion ends after its step,
    the project is saved and the report says how far it got."""
    from core.commands import invert as invert_command

    ctrl_c_at(invert_command, monkeypatch, "invert", 3)
    handler = signal.getsignal(signal.SIGINT)
    project = tmp_path / "p.semedit"
    code = semedit(["invert", str(files["a"]), "--generator", GEN, "--loss", "l2", "--steps",
                    "500", "--pti-steps", "50", "-o", str(project)])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["state"] == f"stopped after {report['steps']} steps"
    assert 3 <= report["steps"] <= 4
    assert "stopping after the current step" in err
    doc = load_project(project)
    assert doc.chunks[0].code is not None and doc.pti_weights is None  # PTI was skipped
    assert signal.getsignal(signal.SIGINT) is handler  # restored


def test_ctrl_c_stops_the_cli_hair_transfer_and_writes_nothing(files, tmp_path, capsys,
                                                               monkeypatch):
    from core.commands import hair as hair_command

    ctrl_c_at(hair_command, monkeypatch, "invert_identity", 2)
    out = tmp_path / "out.png"
    code = semedit(["hair", str(files["a"]), str(files["b"]), "--generator", GEN, "--loss",
                    "l2", "--steps", "300", "--no-pose-match", "--hair-mask-a",
                    str(files["hair"]), "--hair-mask-b", str(files["hair_b"]), "-o", str(out)])
    stdout, err = capsys.readouterr()
    assert code == 1 and stdout == ""
    assert err.endswith("semedit: error: The hair transfer was stopped (Ctrl-C) before it "
                        "finished; nothing was written.\n"), err
    assert not out.exists()


def test_output_into_a_closed_pipe_ends_quietly():
    """`semedit models list | head -1`: the reader goes away, no traceback."""
    child = subprocess.Popen([sys.executable, "-m", "core.cli", "models", "list"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    child.stdout.close()  # before the child writes: every write meets a closed pipe
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=120) == 141
    assert err == "", err
