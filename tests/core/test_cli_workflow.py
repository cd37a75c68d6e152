"""align -> invert -> render on the command line, with a real photo and a tiny generator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.face.align import AlignTransform
from core.project import load_project
from semedit_gui.launcher import main as semedit

DATA = Path(__file__).resolve().parents[1] / "data"
GEN = str(DATA / "ada_tiny.pkl")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = semedit([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    Image.fromarray(skimage.data.astronaut()).save(folder / "astronaut.png")
    mask = np.zeros((32, 32), np.uint8)
    mask[10:24, 8:24] = 255
    Image.fromarray(mask).save(folder / "face.png")
    hair = np.zeros((64, 64), np.uint16)
    hair[:14] = 65535
    Image.fromarray(hair).save(folder / "hair.png")
    return folder


@pytest.fixture(scope="module")
def inverted(photo_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("project")
    project, metrics = out / "astronaut.semedit", out / "metrics.json"
    code = semedit(["invert", str(photo_dir / "astronaut.png"), "--generator", GEN,
                    "--mask", str(photo_dir / "face.png"), "--mask", str(photo_dir / "hair.png"),
                    "--loss", "l2", "--steps", "30", "-o", str(project),
                    "--metrics", str(metrics)])
    assert code == 0
    return project, json.loads(metrics.read_text())


def test_invert_writes_project_and_metrics(inverted, photo_dir):
    project, metrics = inverted
    assert set(metrics) >= {"lpips", "l2", "identity", "steps", "seconds", "seconds_per_step",
                            "device"}
    assert metrics["steps"] == 30 and metrics["device"] == "cpu"
    assert 0 < metrics["l2"] < 1 and metrics["lpips"] is None  # no VGG weights installed here
    doc = load_project(project)
    assert [c.name for c in doc.chunks] == ["face", "hair"]
    assert all(c.code.shape == (8, 64) for c in doc.chunks)
    assert doc.photo_bytes == (photo_dir / "astronaut.png").read_bytes()
    assert doc.generator_sha256 and len(doc.generator_sha256) == 64
    settings = doc.inversion["settings"]  # the loss and PTI steps are kept (issue #19)
    assert (settings["loss"], settings["pti_steps"], settings["steps"]) == ("l2", 0, 30)


def test_render_reproduces_the_inversion_and_keeps_the_rest(inverted, tmp_path, capsys):
    project, metrics = inverted
    code, _, err = run(capsys, "render", project, "-o", tmp_path / "aligned.png",
                       "--generator", GEN)
    assert code == 0, err
    doc = load_project(project)
    rendered = np.asarray(Image.open(tmp_path / "aligned.png")).astype(float) / 255
    l2 = float(np.mean((rendered - doc.aligned.astype(float) / 255) ** 2))
    assert l2 == pytest.approx(metrics["l2"], rel=0.02, abs=1e-5)
    outside = np.stack([c.mask for c in doc.chunks]).sum(0) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "aligned.png"))[outside],
                          doc.aligned[outside])


def test_render_full_photo_changes_only_the_face_region(inverted, photo_dir, tmp_path, capsys):
    project, _ = inverted
    code, _, err = run(capsys, "render", project, "-o", tmp_path / "full.png", "--full-photo",
                       "--generator", GEN)
    assert code == 0, err
    original = np.asarray(Image.open(photo_dir / "astronaut.png"))
    full = np.asarray(Image.open(tmp_path / "full.png"))
    assert full.shape == original.shape
    changed = np.any(full != original, axis=2)
    assert 0 < changed.mean() < 0.2
    ys, xs = np.nonzero(changed)
    assert ys.max() < 400 and 120 < xs.mean() < 330  # around the face


def test_render_never_overwrites_the_photo(inverted, photo_dir, tmp_path, capsys):
    project, _ = inverted
    copy = tmp_path / "same.png"
    copy.write_bytes((photo_dir / "astronaut.png").read_bytes())
    code, _, err = run(capsys, "render", project, "-o", copy, "--full-photo", "--generator", GEN)
    assert code == 1 and "never overwrites" in err
    assert copy.read_bytes() == (photo_dir / "astronaut.png").read_bytes()


def test_render_with_another_generator_is_refused(inverted, tmp_path, capsys):
    project, _ = inverted
    code, _, err = run(capsys, "render", project, "-o", tmp_path / "x.png",
                       "--generator", DATA / "rosinality_tiny.pt")
    assert code == 1 and "different generator" in err


def test_align_command(photo_dir, tmp_path, capsys):
    code, _, err = run(capsys, "align", photo_dir / "astronaut.png", "-o", tmp_path / "a.png",
                         "--transform", tmp_path / "t.json", "--size", "256")
    assert code == 0, err
    aligned = np.asarray(Image.open(tmp_path / "a.png"))
    golden = np.asarray(Image.open(DATA / "astronaut_ffhq256.png"))
    mse = np.mean((aligned.astype(float) - golden) ** 2)
    assert mse == 0 or 10 * np.log10(255**2 / mse) >= 40
    transform = AlignTransform.from_json(json.loads((tmp_path / "t.json").read_text()))
    assert transform.output_size == 256


def test_photo_without_face_suggests_no_align(tmp_path, capsys):
    Image.fromarray(skimage.data.coffee()).save(tmp_path / "coffee.png")
    code, _, err = run(capsys, "invert", tmp_path / "coffee.png", "--generator", GEN,
                       "--loss", "l2", "-o", tmp_path / "c.semedit")
    assert code == 1 and "--no-align" in err and "Traceback" not in err
    code, _, err = run(capsys, "invert", tmp_path / "coffee.png", "--generator", GEN,
                       "--loss", "l2", "--steps", "3", "--no-align", "-o", tmp_path / "c.semedit")
    assert code == 0, err
    doc = load_project(tmp_path / "c.semedit")
    assert doc.transform["method"] != "ffhq"


@pytest.mark.parametrize(("extra", "message"), [
    (["--loss", "lpips"], "vgg16-imagenet"),
    (["--chunks", "auto", "--mask", "x.png", "--loss", "l2"], "not both"),
    (["--chunks", "auto", "--no-align", "--loss", "l2"], "leave out --no-align"),
    (["--chunks", "auto", "--sam", "absent.pth", "--loss", "l2"], "no model file"),
    (["--mask", "absent.png", "--loss", "l2"], "does not exist"),
    (["--generator", "no-such-model", "--loss", "l2"], "neither a file nor a known model"),
])
def test_invert_errors_are_one_line(photo_dir, tmp_path, capsys, extra, message):
    args = ["invert", photo_dir / "astronaut.png", "-o", tmp_path / "p.semedit"]
    if "--generator" not in extra:
        args += ["--generator", GEN]
    code, _, err = run(capsys, *args, *extra)
    assert code == 1 and message in err and err.count("\n") == 1
