"""Every writing option of every command goes through one output guard: nothing the
command reads is ever written over, and the refusal comes before any work."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image, PngImagePlugin

from semedit_gui.launcher import main as semedit

DATA = Path(__file__).resolve().parents[1] / "data"
GEN = str(DATA / "ada_tiny.pkl")


def run(capsys, *argv) -> tuple[int, str]:
    code = semedit([str(a) for a in argv])
    _, err = capsys.readouterr()
    return code, err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(skimage.data.astronaut()[::8, ::8]).save(path)
    return path


@pytest.fixture
def hair_mask(tmp_path) -> Path:
    mask = np.zeros((32, 32), np.uint8)
    mask[:10] = 255
    path = tmp_path / "hair.png"
    Image.fromarray(mask).save(path)
    return path


def test_align_transform_onto_the_photo(capsys, photo, tmp_path):
    before = photo.read_bytes()
    code, err = run(capsys, "align", photo, "-o", tmp_path / "f.png", "--transform", photo,
                    "--no-align", "--size", "32")
    assert code != 0 and photo.read_bytes() == before
    assert "--transform" in one_line(err) and "never writes over its inputs" in err
    assert not (tmp_path / "f.png").exists()  # refused before the crop was written


def test_align_output_and_transform_the_same_file(capsys, photo, tmp_path):
    code, err = run(capsys, "align", photo, "-o", tmp_path / "f.png", "--transform",
                    tmp_path / "f.png", "--no-align", "--size", "32")
    assert code != 0 and "name the same file" in one_line(err)
    assert not (tmp_path / "f.png").exists()


@pytest.mark.parametrize("option", ["--metrics", "-o"])
def test_invert_never_writes_over_the_photo(capsys, photo, tmp_path, option):
    before = photo.read_bytes()
    outputs = {"-o": tmp_path / "p.semedit", "--metrics": tmp_path / "m.json"}
    outputs[option] = photo
    start = time.perf_counter()
    code, err = run(capsys, "invert", photo, "--generator", GEN, "--no-align", "--loss", "l2",
                    "--steps", "200", "-o", outputs["-o"], "--metrics", outputs["--metrics"])
    assert code != 0 and photo.read_bytes() == before
    assert one_line(err).startswith(f"semedit: error: {option} ")
    assert time.perf_counter() - start < 5  # before the 200 steps


def test_invert_never_writes_over_a_mask(capsys, photo, hair_mask):
    before = hair_mask.read_bytes()
    code, err = run(capsys, "invert", photo, "--generator", GEN, "--no-align", "--loss", "l2",
                    "--mask", hair_mask, "--steps", "200", "-o", hair_mask)
    assert code != 0 and hair_mask.read_bytes() == before
    assert "hair.png is the input file" in one_line(err)


def test_invert_never_writes_over_the_generator(capsys, photo, tmp_path):
    generator = tmp_path / "gen.pkl"
    generator.write_bytes(Path(GEN).read_bytes())
    code, err = run(capsys, "invert", photo, "--generator", generator, "--no-align",
                    "--loss", "l2", "--steps", "2", "-o", generator)
    assert code != 0 and generator.read_bytes() == Path(GEN).read_bytes()
    assert "gen.pkl is the input file" in one_line(err)


def test_invert_with_more_masks_than_a_project_holds_refuses_first(capsys, photo, hair_mask,
                                                                   tmp_path):
    masks = []
    for i in range(257):
        mask = np.zeros((32, 32), np.uint8)
        mask[i // 32 % 32, i % 32] = 255  # each one non-empty
        path = tmp_path / f"m{i}.png"
        Image.fromarray(mask).save(path)
        masks += ["--mask", path]
    start = time.perf_counter()
    code, err = run(capsys, "invert", photo, "--generator", GEN, "--no-align", "--loss", "l2",
                    "--steps", "200", *masks, "-o", tmp_path / "p.semedit")
    assert code != 0 and not (tmp_path / "p.semedit").exists()
    assert "at most 256" in one_line(err)
    assert time.perf_counter() - start < 5


def test_segment_face_chunks_never_writes_over_a_photo_named_like_a_chunk(capsys, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    photo = folder / "face.png"
    Image.fromarray(skimage.data.astronaut()[::8, ::8]).save(photo)
    before = photo.read_bytes()
    code, err = run(capsys, "segment", photo, "--face-chunks", "-o", folder)
    assert code != 0 and photo.read_bytes() == before
    assert "would write face.png over the input file" in one_line(err)
    assert sorted(p.name for p in folder.iterdir()) == ["face.png"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("project")
    photo = folder / "photo.png"
    Image.fromarray(skimage.data.astronaut()[::8, ::8]).save(photo)
    path = folder / "p.semedit"
    assert semedit(["invert", str(photo), "--generator", GEN, "--no-align", "--loss", "l2",
                    "--steps", "2", "-o", str(path)]) == 0
    return path, photo


def test_render_full_photo_never_overwrites_the_photo_after_its_metadata_changed(
        capsys, project, tmp_path):
    path, original = project
    photo = tmp_path / "photo.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "retouched metadata")  # same pixels, other bytes
    Image.open(original).save(photo, pnginfo=info)
    before = photo.read_bytes()
    assert before != original.read_bytes()
    code, err = run(capsys, "render", path, "--generator", GEN, "--full-photo", "-o", photo)
    assert code != 0 and photo.read_bytes() == before
    assert "original photo" in one_line(err)


def test_render_and_edit_never_overwrite_the_project_or_generator(capsys, project, tmp_path):
    path, _ = project
    before = path.read_bytes()
    code, err = run(capsys, "render", path, "--generator", GEN, "-o", path)
    assert code != 0 and path.read_bytes() == before and "-o" in one_line(err)
    code, err = run(capsys, "render", path, "--generator", GEN, "-o", GEN)
    assert code != 0 and "is the input file" in one_line(err)
    code, err = run(capsys, "edit", path, "--generator", GEN, "--chunk", "0", "--direction",
                    "pc0=1", "-o", tmp_path / "e.png", "--save", path)
    assert code != 0 and path.read_bytes() == before and "--save" in one_line(err)
    assert not (tmp_path / "e.png").exists()


def test_render_to_a_new_file_still_works(capsys, project, tmp_path):
    path, _ = project
    code, err = run(capsys, "render", path, "--generator", GEN, "-o", tmp_path / "r.png")
    assert code == 0, err
    assert Image.open(tmp_path / "r.png").size == (32, 32)


def test_eval_never_writes_its_tables_over_a_photo(capsys, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    photo = folder / "eval.md"
    photo.write_bytes(b"not to be touched")
    code, err = run(capsys, "eval", photo, "--generator", GEN, "-o", folder)
    assert code != 0 and photo.read_bytes() == b"not to be touched"
    assert "eval.md" in one_line(err)


def test_hair_outputs_onto_its_photos(capsys, photo, tmp_path):
    other = tmp_path / "b.png"
    other.write_bytes(photo.read_bytes())
    before = other.read_bytes()
    code, err = run(capsys, "hair", photo, other, "--generator", GEN, "-o",
                    tmp_path / "out.png", "--metrics", other)
    assert code != 0 and other.read_bytes() == before
    assert one_line(err).startswith("semedit: error: --metrics ")


def test_json_report_names_written_files(capsys, photo, tmp_path):
    code = semedit(["align", str(photo), "-o", str(tmp_path / "f.png"), "--transform",
                    str(tmp_path / "t.json"), "--no-align", "--size", "32"])
    out, _ = capsys.readouterr()
    assert code == 0 and json.loads(out)["transform"] == str(tmp_path / "t.json")
    assert json.loads((tmp_path / "t.json").read_text())
