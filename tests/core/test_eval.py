"""`semedit eval`: every method on two photos with tiny models, both tables, resume."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.models.loaded import LoadedModels, ModelChoice
from core.workflows import run
from core.workflows.eval import METHODS, EvalSettings, band_masks, evaluate, read_table
from semedit_gui.launcher import main as semedit
from tests.encoder_writers import TINY_WIDTHS, write_e4e

DATA = Path(__file__).resolve().parents[1] / "data"
GEN = str(DATA / "ada_tiny.pkl")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eval")
    photos = folder / "photos"
    photos.mkdir()
    face = skimage.data.astronaut()
    Image.fromarray(face).save(photos / "astronaut.png")
    Image.fromarray(np.ascontiguousarray(face[:, ::-1])).save(photos / "mirrored.jpg")
    (photos / "notes.txt").write_text("not a photo")
    write_e4e(folder / "tiny_e4e.pt", TINY_WIDTHS, seed=2)
    return folder


def eval_cli(capsys, inputs, out: Path, *extra: str) -> tuple[int, dict, str]:
    code = semedit(["eval", str(inputs / "photos"), "-o", str(out), "--generator", GEN,
                    "--steps", "2", "--pti-steps", "2", *extra])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out.strip().splitlines()[-1]) if code == 0 else {}), \
        captured.err


def rows(out: Path) -> dict[tuple[str, str], dict]:
    with (out / "eval.csv").open(newline="") as stream:
        return {(r["photo"], r["method"]): r for r in csv.DictReader(stream)}


def test_eval_writes_both_tables_marks_missing_models_and_resumes(inputs, tmp_path, capsys):
    out = tmp_path / "tables"
    code, report, err = eval_cli(capsys, inputs, out, "--loss", "l2", "--chunks", "auto")
    assert code == 0, err
    table = rows(out)
    photos = ("astronaut.png", "mirrored.jpg")
    assert set(table) == {(p, m) for p in photos for m in METHODS}  # the .txt is no photo
    for photo in photos:
        for method in ("mean_wplus", "chunky_wplus", "chunky_pti"):
            row = table[(photo, method)]
            assert row["status"] == "done"
            assert math.isfinite(float(row["l2"])) and 0 < float(row["l2"]) < 1
            assert float(row["seconds"]) > 0 and row["lpips"] == ""  # no VGG installed here
        for method in ("encoder", "encoder_wplus"):  # never faked
            assert table[(photo, method)]["status"] == "skipped: e4e-ffhq-encode not installed"
            assert table[(photo, method)]["l2"] == ""
    assert table[(photos[0], "mean_wplus")]["steps"] == "2"
    assert table[(photos[0], "chunky_pti")]["steps"] == "4"
    summary = {r["method"]: r for r in csv.DictReader((out / "eval-summary.csv").open())}
    l2s = [float(table[(p, "chunky_wplus")]["l2"]) for p in photos]
    assert float(summary["chunky_wplus"]["l2"]) == pytest.approx(np.mean(l2s))
    assert summary["chunky_wplus"]["photos"] == "2" and summary["encoder"]["photos"] == "0"
    md = (out / "eval.md").read_text()
    assert "## Averages" in md and "## Per photo" in md and "ChunkyGAN + PTI" in md
    assert md.count("skipped: e4e-ffhq-encode not installed") == 4
    assert report["ran"] == 10 and report["kept"] == 0

    # resumed with the encoder: only the rows that were skipped run now
    code, report, err = eval_cli(capsys, inputs, out, "--loss", "l2", "--chunks", "auto",
                                 "--encoder", str(inputs / "tiny_e4e.pt"))
    assert code == 0, err
    assert report["ran"] == 4 and report["kept"] == 6
    again = rows(out)
    for photo in photos:
        assert again[(photo, "chunky_wplus")] == table[(photo, "chunky_wplus")]  # kept as is
        encoder, refined = again[(photo, "encoder")], again[(photo, "encoder_wplus")]
        assert encoder["status"] == refined["status"] == "done"
        assert encoder["steps"] == "0" and refined["steps"] == "2"
        assert math.isfinite(float(encoder["l2"])) and math.isfinite(float(refined["l2"]))
    assert "skipped" not in (out / "eval.md").read_text()

    # other settings: nothing is kept
    code, report, err = eval_cli(capsys, inputs, out, "--loss", "l2", "--chunks", "2",
                                 "--methods", "mean_wplus,chunky_wplus")
    assert code == 0, err
    assert report["ran"] == 4 and len(read_table(out / "eval.csv")) == 4


def test_eval_with_the_lpips_loss_and_no_vgg_skips_the_optimisations(inputs, tmp_path):
    models = LoadedModels(ModelChoice(generator=GEN, encoder=str(inputs / "tiny_e4e.pt"),
                                      device="cpu"))
    seen = []
    photos = [inputs / "photos" / "astronaut.png"]
    report = run(evaluate(models, photos, tmp_path, EvalSettings(steps=2, chunks=2),
                          methods=("encoder", "mean_wplus")), seen.append)
    table = rows(tmp_path)
    assert table[("astronaut.png", "encoder")]["status"] == "done"  # needs no loss
    assert table[("astronaut.png", "mean_wplus")]["status"].startswith(
        "skipped: vgg16-imagenet not installed")
    assert [r.status == "done" for r in report.rows] == [True, False]
    fractions = [p.fraction for p in seen]  # what the progress bar draws
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("astronaut.png: Encoder (e4e) only" in p.label for p in seen)


def test_eval_refuses_bad_input(inputs, tmp_path, capsys):
    code, _, err = eval_cli(capsys, inputs, tmp_path / "x", "--chunks", "many")
    assert code != 0 and "--chunks" in err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "eval.csv").write_text("a,b\n1,2\n")
    code, _, err = eval_cli(capsys, inputs, tmp_path / "bad", "--loss", "l2")
    assert code != 0 and "not an eval table" in err


def test_band_masks_cover_the_image_once():
    masks = band_masks(32, 3)
    total = np.stack(list(masks.values())).sum(0)
    assert list(masks) == ["band1", "band2", "band3"] and np.array_equal(total, np.ones((32, 32)))
