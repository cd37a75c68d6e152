"""A models or home folder that cannot be made: one sentence, never an OSError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from semedit_gui.launcher import main as semedit

GEN = str(Path(__file__).resolve().parents[1] / "data" / "ada_tiny.pkl")


@pytest.fixture
def home_under_a_file(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("a file, not a folder")
    monkeypatch.setenv("SEMEDIT_HOME", str(tmp_path / "file" / "sub"))
    return tmp_path / "file"


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_models_import_into_a_home_under_a_file(capsys, home_under_a_file):
    assert semedit(["models", "import", "stylegan2-ffhq-1024", GEN]) == 1
    err = _one_line(capsys)
    assert f"{home_under_a_file} is a file, not a folder" in err
    assert "verified_hashes.json" not in err  # no advice to delete a record that is not there


def test_models_import_into_a_models_dir_under_a_file(capsys, tmp_path):
    (tmp_path / "file").write_text("x")
    assert semedit(["models", "--models-dir", str(tmp_path / "file" / "models"), "import",
                    "stylegan2-ffhq-1024", GEN]) == 1
    assert "is a file, not a folder" in _one_line(capsys)


def test_directions_import_into_a_home_under_a_file(capsys, home_under_a_file, tmp_path):
    np.save(tmp_path / "d.npy", np.ones((1, 512), np.float32))
    assert semedit(["directions", "import", str(tmp_path / "d.npy"), "--generator", GEN]) == 1
    assert f"{home_under_a_file} is a file, not a folder" in _one_line(capsys)
