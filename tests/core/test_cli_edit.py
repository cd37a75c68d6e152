"""`semedit edit` and `semedit directions` on a real photo inverted with a tiny generator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.project import load_project
from semedit_gui.launcher import main as semedit

DATA = Path(__file__).resolve().parents[1] / "data"
GEN = str(DATA / "ada_tiny.pkl")  # 32², w_dim 64, 8 ws rows


def run(capsys, *argv: object) -> tuple[int, str, str]:
    if argv[0] in ("edit", "render"):  # the project was made from a file, not a model id
        argv = (*argv, "--generator", GEN)
    code = semedit([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("edit")
    Image.fromarray(skimage.data.astronaut()).save(folder / "astronaut.png")
    mask = np.zeros((32, 32), np.uint8)
    mask[18:28, 8:24] = 255  # the lower face
    Image.fromarray(mask).save(folder / "lower.png")
    top = np.zeros((32, 32), np.uint8)
    top[:10] = 255
    Image.fromarray(top).save(folder / "top.png")
    path = folder / "astronaut.semedit"
    assert semedit(["invert", str(folder / "astronaut.png"), "--generator", GEN,
                    "--mask", str(folder / "lower.png"), "--mask", str(folder / "top.png"),
                    "--loss", "l2", "--steps", "5", "-o", str(path)]) == 0
    return path


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_directions_list_has_ganspace_components(capsys):
    code, out, err = run(capsys, "directions", "list", "--generator", GEN)
    assert code == 0, err
    listed = json.loads(out)
    assert [d["name"] for d in listed[:3]] == ["pc0", "pc1", "pc2"]
    assert all(d["source"] == "ganspace" and d["scale"] > 0 for d in listed)


def test_edit_changes_only_the_edited_chunk(project, tmp_path, capsys):
    out = tmp_path / "edited.png"
    code, stdout, err = run(capsys, "edit", project, "--chunk", "lower", "--direction", "pc0=3",
                            "--direction", "pc1=-2", "-o", out)
    assert code == 0, err
    report = json.loads(stdout)
    assert report["edits"][0] == {"chunk": "lower", "direction": "pc0", "strength": 3.0}
    doc = load_project(project)
    edited, photo = _png(out), doc.aligned
    outside = doc.chunk("lower").mask == 0
    np.testing.assert_array_equal(edited[outside], photo[outside])
    assert (edited[~outside] != photo[~outside]).any()
    # Without --save the project is untouched.
    assert doc.chunk("lower").edits == []


def test_saved_edits_render_and_strength_zero_is_the_photo(project, tmp_path, capsys):
    saved = tmp_path / "edited.semedit"
    code, _, err = run(capsys, "edit", project, "--chunk", "1", "--direction", "pc2=1.5",
                       "--mode", "reconstruction", "-o", tmp_path / "recon.png", "--save", saved)
    assert code == 0, err
    doc = load_project(saved)
    assert [(e.direction, e.strength, e.enabled) for e in doc.chunk("top").edits] == \
        [("pc2", 1.5, True)]
    code, _, err = run(capsys, "render", saved, "-o", tmp_path / "render.png")
    assert code == 0, err
    np.testing.assert_array_equal(_png(tmp_path / "render.png"), _png(tmp_path / "recon.png"))
    code, _, err = run(capsys, "edit", saved, "--chunk", "top", "--direction", "pc2=0",
                       "-o", tmp_path / "zero.png")
    assert code == 0, err
    np.testing.assert_array_equal(_png(tmp_path / "zero.png"), doc.aligned)


def test_other_modes_and_full_photo(project, tmp_path, capsys):
    code, _, err = run(capsys, "edit", project, "--chunk", "lower", "--direction", "pc0=3",
                       "--mode", "side_by_side", "-o", tmp_path / "sbs.png")
    assert code == 0, err
    assert _png(tmp_path / "sbs.png").shape == (32, 64, 3)
    code, _, err = run(capsys, "edit", project, "--chunk", "lower", "--direction", "pc0=3",
                       "--full-photo", "-o", tmp_path / "full.png")
    assert code == 0, err
    assert _png(tmp_path / "full.png").shape == (512, 512, 3)


@pytest.mark.parametrize(("args", "message"), [
    (["--chunk", "lower", "--direction", "nope=1"], "no direction named 'nope'"),
    (["--chunk", "absent", "--direction", "pc0=1"], "no chunk called 'absent'"),
    (["--chunk", "lower"], "at least one --chunk followed by --direction"),
    (["--chunk", "lower", "--direction", "pc0=1", "--mode", "difference", "--full-photo"],
     "does not apply to --mode difference"),
])
def test_edit_errors_are_one_line(project, tmp_path, capsys, args, message):
    code, _, err = run(capsys, "edit", project, *args, "-o", tmp_path / "x.png")
    assert code == 1 and message in err and err.count("\n") == 1, err


def test_direction_before_chunk_is_a_usage_error(project, tmp_path, capsys):
    with pytest.raises(SystemExit):
        semedit(["edit", str(project), "--direction", "pc0=1", "-o", str(tmp_path / "x.png")])
    assert "name a --chunk before its --direction" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        semedit(["edit", str(project), "--chunk", "0", "--direction", "pc0", "-o",
                 str(tmp_path / "x.png")])
    assert "NAME=VALUE" in capsys.readouterr().err


def test_import_use_and_remove_a_direction_file(project, tmp_path, capsys):
    vector = np.random.default_rng(0).standard_normal((1, 64)).astype(np.float32)
    np.save(tmp_path / "smile.npy", vector)
    code, out, err = run(capsys, "directions", "import", tmp_path / "smile.npy",
                         "--layers", "2-6", "--generator", GEN)
    assert code == 0, err
    assert json.loads(out)["imported"][0] | {"scale": None} == {
        "name": "smile", "title": "smile", "group": None, "space": "w", "source": "imported",
        "scale": None,
        "layers": [2, 6], "description": json.loads(out)["imported"][0]["description"]}
    code, _, err = run(capsys, "edit", project, "--chunk", "lower", "--direction", "smile=1",
                       "-o", tmp_path / "smile.png")
    assert code == 0, err
    code, _, err = run(capsys, "directions", "import", tmp_path / "smile.npy", "--generator", GEN)
    assert code == 1 and "already in the library" in err
    code, _, err = run(capsys, "directions", "remove", "smile", "--generator", GEN)
    assert code == 0, err
    code, _, err = run(capsys, "directions", "remove", "pc0", "--generator", GEN)
    assert code == 1 and "built-in" in err


def test_fit_a_direction_from_labelled_latents(tmp_path, capsys):
    rng = np.random.default_rng(1)
    hidden = rng.standard_normal(64)
    hidden /= np.linalg.norm(hidden)
    w = rng.standard_normal((200, 64)).astype(np.float32)
    np.savez(tmp_path / "labelled.npz", w=w, labels=w @ hidden + 0.05 * rng.standard_normal(200))
    code, out, err = run(capsys, "directions", "fit", tmp_path / "labelled.npz",
                         "--name", "mine", "--generator", GEN)
    assert code == 0, err
    code, out, err = run(capsys, "directions", "list", "--generator", GEN)
    mine = [d for d in json.loads(out) if d["name"] == "mine"]
    assert mine and mine[0]["source"] == "user"
    code, _, err = run(capsys, "directions", "fit", tmp_path / "labelled.npz", "--name", "mine",
                       "--generator", GEN)
    assert code == 1 and "already in the library" in err
