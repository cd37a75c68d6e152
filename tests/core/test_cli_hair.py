"""`semedit hair` on real photos and planted renders with a tiny generator (CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
import torchvision
from PIL import Image

from core.project import load_project
from core.stylegan import images_to_uint8, load_generator
from semedit_gui.launcher import main as semedit

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = Path(__file__).resolve().parents[1] / "data"
GEN = str(DATA / "ada_tiny.pkl")  # 32², w_dim 64
FAST = ["--generator", GEN, "--steps", "20", "--refine-steps", "10"]


def run(capsys, *argv: object) -> tuple[int, str, str]:
    code = semedit([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def write_mask(path: Path, rows: slice, cols: slice = slice(None), size: int = 32) -> Path:
    mask = np.zeros((size, size), np.uint8)
    mask[rows, cols] = 255
    Image.fromarray(mask).save(path)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hair")
    astronaut = skimage.data.astronaut()
    Image.fromarray(astronaut).save(folder / "a.png")
    Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1])).save(folder / "b.png")
    Image.fromarray(np.full((300, 400, 3), 128, np.uint8)).save(folder / "grey.png")
    write_mask(folder / "ma.png", slice(0, 9))
    mask = np.zeros((32, 32), np.uint8)
    mask[:7] = 255
    mask[:16, :5] = mask[:16, -5:] = 255
    Image.fromarray(mask).save(folder / "mb.png")
    write_mask(folder / "empty.png", slice(0, 0))
    torch.manual_seed(0)
    features = torchvision.models.vgg16().features.state_dict()
    torch.save({f"features.{k}": v for k, v in features.items()}, folder / "vgg16.pth")
    return folder


def test_hair_writes_the_photo_the_project_and_the_metrics(photos, tmp_path, capsys):
    before = {name: (photos / name).read_bytes() for name in ("a.png", "b.png")}
    out, project, metrics = tmp_path / "out.png", tmp_path / "p.semedit", tmp_path / "m.json"
    code, stdout, err = run(capsys, "hair", photos / "a.png", photos / "b.png", *FAST,
                            "--vgg", photos / "vgg16.pth", "--hair-mask-a", photos / "ma.png",
                            "--hair-mask-b", photos / "mb.png", "-o", out, "--save", project,
                            "--metrics", metrics)
    assert code == 0, err
    report = json.loads(stdout)
    assert {"identity_to_a", "identity_to_b", "hair_lpips", "seconds"} <= set(report)
    assert report["hair_lpips"] is not None and report["seconds"] > 0
    assert report["size"] == [512, 512] and report["project"] == str(project)
    assert json.loads(metrics.read_text()) == {k: v for k, v in report.items()
                                               if k not in ("output", "project", "size")}
    # The full photo: the face region changed, everything far from it is A bit for bit.
    edited, original = png(out), png(photos / "a.png")
    assert edited.shape == original.shape
    np.testing.assert_array_equal(edited[:, :60], original[:, :60])
    assert (edited != original).any()
    # The inputs were only read.
    assert all((photos / name).read_bytes() == data for name, data in before.items())
    # The project: the edited photo with every chunk editable.
    doc = load_project(project)
    assert doc.photo_bytes == out.read_bytes() and doc.photo_name == "out.png"
    assert [c.name for c in doc.chunks][-1] == "hair"
    assert {"background", "face", "hair"} <= {c.name for c in doc.chunks}
    assert all(c.code is not None for c in doc.chunks)
    assert doc.generator_path == str(Path(GEN).resolve())  # found by content later
    code, _, err = run(capsys, "edit", project, "--generator", GEN, "--chunk", "hair",
                       "--direction", "pc0=1.5", "--full-photo", "-o", tmp_path / "e.png")
    assert code == 0, err
    assert png(tmp_path / "e.png").shape == original.shape


def test_planted_renders_without_alignment(photos, tmp_path, capsys):
    """Already aligned inputs (--no-align) with given masks: hair from B, the rest from A."""
    g = load_generator(GEN)
    with torch.no_grad():
        ws = g.mapping(torch.randn(2, g.z_dim, generator=torch.Generator().manual_seed(7)),
                       truncation_psi=0.7)
        a, b = images_to_uint8(g.synthesis(ws))
    Image.fromarray(a).save(tmp_path / "ra.png")
    Image.fromarray(b).save(tmp_path / "rb.png")
    hair = write_mask(tmp_path / "hair.png", slice(0, 11))
    code, stdout, err = run(capsys, "hair", tmp_path / "ra.png", tmp_path / "rb.png",
                            "--generator", GEN, "--steps", "40", "--refine-steps", "20",
                            "--loss", "l2", "--no-align", "--hair-mask-a", hair,
                            "--hair-mask-b", hair, "-o", tmp_path / "out.png")
    assert code == 0, err
    out = png(tmp_path / "out.png").astype(np.float64)
    rows = np.arange(32)
    inside, outside = rows < 11, rows >= 16

    def error(x, y, where):
        return float(np.abs(x.astype(np.float64) - y)[where].mean())

    assert error(out, b, inside) < 0.5 * error(a, b, inside)
    assert error(out, a, outside) < 0.05 * error(b, a, outside)
    assert "head pose could not be measured" in err  # a 32² render has no face for dlib
    assert json.loads(stdout)["identity_to_a"] is None


def test_same_photo_comes_back_unchanged(photos, tmp_path, capsys):
    out = tmp_path / "same.png"
    code, stdout, err = run(capsys, "hair", photos / "a.png", photos / "a.png", *FAST,
                            "--loss", "l2", "--hair-mask-a", photos / "ma.png",
                            "--hair-mask-b", photos / "ma.png", "-o", out)
    assert code == 0, err
    assert json.loads(stdout)["same_photo"] is True
    edited, original = png(out).astype(np.float64), png(photos / "a.png")
    assert np.abs(edited - original).mean() < 2.0  # of 255, over the whole photo
    assert (edited == original).mean() > 0.6  # most pixels are the photo, bit for bit


def test_clear_messages(photos, tmp_path, capsys):
    a, b = photos / "a.png", photos / "b.png"
    cases = [
        (["hair", photos / "grey.png", b, *FAST, "--loss", "l2", "-o", tmp_path / "o.png"],
         "No face was found in grey.png; hair transfer needs a face in both photos"),
        (["hair", a, b, *FAST, "--loss", "l2", "-o", tmp_path / "o.png"],
         "needs Segment Anything, which is not installed"),
        (["hair", a, b, *FAST, "--loss", "l2", "--hair-mask-a", photos / "ma.png",
          "--hair-mask-b", photos / "empty.png", "-o", tmp_path / "o.png"],
         "The hair mask given for b.png (--hair-mask-b) is empty"),
        (["hair", a, b, *FAST, "--hair-mask-a", photos / "ma.png", "--hair-mask-b",
          photos / "mb.png", "-o", tmp_path / "o.png"],
         "LPIPS needs the VGG16 ImageNet weights"),
        (["hair", a, b, *FAST, "-o", a], "never writes over its inputs"),
        (["hair", a, b, *FAST, "-o", tmp_path / "missing" / "o.png"], "does not exist"),
    ]
    for argv, message in cases:
        code, stdout, err = run(capsys, *argv)
        assert code == 1 and stdout == "", err
        assert err.startswith("semedit: error: ") and message in err, err
        assert err.count("\n") == 1  # one sentence, no traceback
    assert not (tmp_path / "o.png").exists()
    assert png(a).shape == (512, 512, 3)


def test_hair_directions_need_segment_anything(capsys, tmp_path):
    code, out, err = run(capsys, "directions", "compute", "--hair", "--generator", GEN,
                         "--models-dir", tmp_path)
    assert code == 1 and out == ""
    assert err.startswith("semedit: error: ") and "sam-vit-b" in err and err[-1] == "\n"
