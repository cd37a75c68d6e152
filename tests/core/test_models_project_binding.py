"""Projects bind to generators by content: a project made with `--generator PATH` renders
and edits without `--generator`, a moved generator is named in the message and found
again with `--generator NEWPATH` (then remembered), another network is refused unless
forced, and projects written before name and path were recorded still load."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.hashing import hash_file
from core.project import load_project
from semedit_gui.launcher import main as semedit

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = DATA / "ada_tiny.pkl"
OTHER = DATA / "rosinality_tiny.pt"  # the same architecture, other weights


def run(capsys, *argv: object) -> tuple[int, str, str]:
    code = semedit([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def made(tmp_path, capsys) -> tuple[Path, Path]:
    """A project inverted with a generator kept outside the models folder."""
    generator = tmp_path / "gans" / "my-finetune.pkl"
    generator.parent.mkdir()
    shutil.copyfile(TINY, generator)
    Image.fromarray(skimage.data.astronaut()).save(tmp_path / "astronaut.png")
    project = tmp_path / "p.semedit"
    code, _, err = run(capsys, "invert", tmp_path / "astronaut.png", "--generator", generator,
                       "--loss", "l2", "--steps", "3", "--no-align", "-o", project)
    assert code == 0, err
    return project, generator


def test_the_project_records_the_generator_by_content(made):
    project, generator = made
    doc = load_project(project)
    assert doc.generator_id is None
    assert doc.generator_sha256 == hash_file(TINY).sha256
    assert doc.generator_name == "my-finetune.pkl"
    assert doc.generator_path == str(generator.resolve())


def test_render_and_edit_without_generator(made, tmp_path, capsys):
    project, _ = made
    code, _, err = run(capsys, "render", project, "-o", tmp_path / "r.png")
    assert code == 0, err
    rendered = np.asarray(Image.open(tmp_path / "r.png"))
    assert rendered.shape == (32, 32, 3) and rendered.std() > 1
    code, _, err = run(capsys, "edit", project, "--chunk", "0", "--direction", "pc0=2",
                       "-o", tmp_path / "e.png")
    assert code == 0, err
    edited = np.asarray(Image.open(tmp_path / "e.png"))
    assert np.abs(edited.astype(int) - rendered.astype(int)).max() > 0


def test_a_moved_generator_is_named_then_found_and_remembered(made, tmp_path, capsys):
    project, generator = made
    moved = tmp_path / "elsewhere" / "renamed.pkl"
    moved.parent.mkdir()
    generator.rename(moved)
    code, _, err = run(capsys, "render", project, "-o", tmp_path / "r.png")
    sha = hash_file(TINY).sha256
    assert code == 1
    assert "my-finetune.pkl" in err and str(generator.resolve()) in err
    assert sha[:12] in err and "--generator PATH" in err
    code, _, err = run(capsys, "render", project, "-o", tmp_path / "r.png",
                       "--generator", moved)
    assert code == 0, err
    code, _, err = run(capsys, "render", project, "-o", tmp_path / "r2.png")  # remembered
    assert code == 0, err
    assert (tmp_path / "r.png").read_bytes() == (tmp_path / "r2.png").read_bytes()


def test_another_network_is_refused_unless_forced(made, tmp_path, capsys):
    project, _ = made
    code, _, err = run(capsys, "render", project, "-o", tmp_path / "x.png", "--generator", OTHER)
    assert code == 1 and "different generator" in err and "--force-generator" in err
    assert not (tmp_path / "x.png").exists()
    code, _, err = run(capsys, "render", project, "-o", tmp_path / "x.png", "--generator", OTHER,
                       "--force-generator")
    assert code == 0, err
    assert "belong to another network" in err and (tmp_path / "x.png").is_file()


def test_a_project_without_name_and_path_still_loads_and_renders(made, tmp_path, capsys):
    """Projects written before issue 15 record only the generator's id and sha256."""
    project, _ = made
    old = tmp_path / "old.semedit"
    with zipfile.ZipFile(project) as source, zipfile.ZipFile(old, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "manifest.json":
                manifest = json.loads(data)
                manifest["generator"] = {"id": None,
                                         "sha256": manifest["generator"]["sha256"]}
                data = json.dumps(manifest).encode()
            target.writestr(info, data)
    doc = load_project(old)
    assert doc.generator_name is None and doc.generator_path is None
    # the invert above put the generator in the index: found by sha256 alone
    code, _, err = run(capsys, "render", old, "-o", tmp_path / "o.png")
    assert code == 0, err
    assert io.BytesIO((tmp_path / "o.png").read_bytes()).getbuffer().nbytes > 0
