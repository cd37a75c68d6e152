"""`semedit segment` and `semedit invert --chunks auto`, with a tiny SAM saved like the real one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.face import prepare_photo
from core.imageio import load_photo
from core.project import load_project
from core.segment.sam import SamSegmenter, load_sam
from semedit_gui.launcher import main as semedit
from tests.sam_writers import write_tiny_sam

DATA = Path(__file__).resolve().parents[1] / "data"
GEN = str(DATA / "ada_tiny.pkl")


def run(capsys, *argv: object) -> tuple[int, str, str]:
    code = semedit([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("segment")
    Image.fromarray(skimage.data.astronaut()).save(folder / "astronaut.png")
    return {"photo": folder / "astronaut.png", "sam": write_tiny_sam(folder / "sam_tiny.pth")}


def test_segment_writes_the_predicted_mask(files, tmp_path, capsys):
    out = tmp_path / "mask.png"
    code, stdout, err = run(capsys, "segment", files["photo"], "--point", "250,150",
                            "--negative", "20,20", "--sam", files["sam"], "-o", out)
    assert code == 0, err
    report = json.loads(stdout)
    with Image.open(out) as image:
        assert image.mode == "L" and image.size == (512, 512)
        written = np.asarray(image)
    # The same prompts through the Python API give the same mask.
    segmenter = SamSegmenter(load_sam(files["sam"]))
    segmenter.set_image(skimage.data.astronaut())
    expected = segmenter.predict(points=[(250, 150), (20, 20)], labels=[1, 0], multimask=False)
    np.testing.assert_array_equal(written == 255, expected.mask)
    assert set(np.unique(written)) <= {0, 255}
    assert report["score"] == pytest.approx(expected.score, abs=1e-4)


def test_segment_in_the_aligned_frame(files, tmp_path, capsys):
    out = tmp_path / "aligned.png"
    code, stdout, err = run(capsys, "segment", files["photo"], "--box", "170,60,330,280",
                            "--align", "256", "--bits", "16", "--soft", "--sam", files["sam"],
                            "-o", out)
    assert code == 0, err
    assert json.loads(stdout)["aligned"] is True
    with Image.open(out) as image:
        assert image.mode == "I;16" and image.size == (256, 256)
    # A point off the aligned crop is refused in one line.
    code, _, err = run(capsys, "segment", files["photo"], "--point", "5,500", "--align", "256",
                       "--sam", files["sam"], "-o", tmp_path / "x.png")
    assert code == 1 and "outside the aligned crop" in err and err.count("\n") == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--negative", "3,3"], "Negative points alone"),
    ([], "Give a --point"),
    (["--point", "3,3", "--sam", "missing.pth"], "no model file"),
    (["--point", "3,3", "-o", "mask.jpg"], "PNG"),
    (["--point", "9999,3"], "outside"),
    (["--face-chunks", "--point", "3,3"], "leave out --point"),
])
def test_segment_errors_are_one_line(files, tmp_path, capsys, args, message):
    argv = ["segment", files["photo"], *args]
    if "-o" not in args:
        argv += ["-o", tmp_path / "mask.png"]
    if "--sam" not in args:
        argv += ["--sam", files["sam"]]
    code, _, err = run(capsys, *argv)
    assert code == 1 and message in err and err.count("\n") == 1, err


def test_bad_point_syntax_is_an_argument_error(files, tmp_path, capsys):
    with pytest.raises(SystemExit):
        semedit(["segment", str(files["photo"]), "--point", "12", "-o", str(tmp_path / "m.png")])
    assert "X,Y" in capsys.readouterr().err


def test_face_chunks_without_sam_weights_fall_back_to_landmarks(files, tmp_path, capsys):
    folder = tmp_path / "chunks"
    code, stdout, err = run(capsys, "segment", files["photo"], "--face-chunks", "--align", "256",
                            "-o", folder)
    assert code == 0, err
    report = json.loads(stdout.splitlines()[-1])
    assert report["method"] == "landmarks"
    assert sorted(p.name for p in folder.iterdir()) == ["eyes.png", "face.png", "mouth.png"]
    assert "Segment Anything is not installed" in stdout


def test_face_chunks_with_sam(files, tmp_path, capsys):
    folder = tmp_path / "chunks"
    code, stdout, err = run(capsys, "segment", files["photo"], "--face-chunks", "--align", "256",
                            "--sam", files["sam"], "-o", folder)
    assert code == 0, err
    report = json.loads(stdout.splitlines()[-1])
    assert report["method"] == "sam"
    names = {Path(p).stem for p in report["output"]}
    assert {"face", "eyes", "mouth"} <= names
    masks = np.stack([np.asarray(Image.open(p)) for p in report["output"]]).astype(int)
    assert (masks >= 128).sum(0).max() <= 1  # no pixel in two chunks


def test_invert_with_automatic_chunks(files, tmp_path, capsys):
    project = tmp_path / "auto.semedit"
    code, stdout, err = run(capsys, "invert", files["photo"], "--generator", GEN,
                            "--chunks", "auto", "--loss", "l2", "--steps", "3", "-o", project)
    assert code == 0, err
    assert "semedit: note: Segment Anything is not installed" in stdout
    doc = load_project(project)
    assert [c.name for c in doc.chunks] == ["face", "eyes", "mouth"]
    # The chunks sit where the landmarks are in the 32×32 aligned frame.
    prepared = prepare_photo(load_photo(files["photo"]), 32)
    landmarks = prepared.aligned_landmarks()
    mouth = np.rint(landmarks[48:60].mean(0)).astype(int)
    assert doc.chunk("mouth").mask[mouth[1], mouth[0]] > 0.5
    stack = np.stack([c.mask for c in doc.chunks])
    assert stack.sum(0).max() <= 1.0 + 1e-5
