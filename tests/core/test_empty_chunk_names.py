"""An empty chunk is named as the user sees it (its name in the app and in the project,
the --mask file's name on the command line), never as a zero-based list index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.errors import InvalidInputError
from core.invert.masks import check_chunks_not_empty, check_masks, empty_chunks_sentence
from semedit_gui.launcher import main as semedit

pytestmark = pytest.mark.usefixtures("one_torch_thread")

GEN = str(Path(__file__).resolve().parents[1] / "data" / "ada_tiny.pkl")  # 32²


def test_sentences_name_the_chunks():
    assert empty_chunks_sentence(["'hair'"]) == "Chunk 'hair' is empty; paint it or remove it."
    assert empty_chunks_sentence(["'a'", "'b'", "'c'"]) == (
        "Chunks 'a', 'b' and 'c' are empty; paint them or remove them.")
    assert empty_chunks_sentence([], ["'skin'"]) == (
        "Chunk 'skin' is entirely covered by the chunks above; move it up or remove it.")


def test_the_engine_counts_from_one():
    with pytest.raises(InvalidInputError) as raised:
        check_masks(torch.stack([torch.ones(8, 8), torch.zeros(8, 8)]), 8)
    assert str(raised.value) == "Chunk 2 is empty; paint it or remove it."


def test_empty_and_covered_chunks_are_told_apart():
    full, blank = np.ones((4, 4), np.float32), np.zeros((4, 4), np.float32)
    check_chunks_not_empty(["face"], [full], [full])  # nothing to say
    with pytest.raises(InvalidInputError) as raised:
        # bottom to top: "skin" is painted but "face" above covers all of it
        check_chunks_not_empty(["skin", "eyes", "face"], [blank, blank, full],
                               [full, blank, full])
    assert str(raised.value) == ("Chunk 'eyes' is empty; paint it or remove it; Chunk 'skin' "
                                 "is entirely covered by the chunks above; move it up or "
                                 "remove it.")


def test_the_cli_names_the_mask_file(tmp_path, capsys):
    photo = tmp_path / "face.png"
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(photo)
    painted, blank = np.zeros((32, 32), np.uint8), np.zeros((32, 32), np.uint8)
    painted[8:24, 8:24] = 255
    Image.fromarray(painted).save(tmp_path / "mouth.png")
    Image.fromarray(blank).save(tmp_path / "eyebrows.png")
    code = semedit(["invert", str(photo), "--no-align", "--generator", GEN, "--loss", "l2",
                    "--steps", "1", "--mask", str(tmp_path / "mouth.png"),
                    "--mask", str(tmp_path / "eyebrows.png"), "-o", str(tmp_path / "p.semedit")])
    err = capsys.readouterr().err
    assert code != 0 and "Chunk 'eyebrows' is empty; paint it or remove it." in err, err
    assert "[1]" not in err and not (tmp_path / "p.semedit").exists()
