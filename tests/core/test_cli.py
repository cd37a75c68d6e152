"""The `semedit` command line: help, models subcommands, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from semedit_gui.launcher import main as semedit
from tests.model_fixtures import resources_with_tiny_ffhq

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "data" / "ada_tiny.pkl"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = semedit(list(argv))
    except SystemExit as exit_:  # argparse's --help and usage errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_the_subcommands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "models" in out and "opens the editor" in out


def test_models_list_json_uses_semedit_home(capsys):
    code, out, _ = run(capsys, "models", "list", "--json")
    assert code == 0
    listing = json.loads(out)
    assert Path(listing["models_dir"]) == Path(os.environ["SEMEDIT_HOME"]) / "models"
    ids = {m["id"] for m in listing["models"]}
    assert {"stylegan2-ffhq-1024", "sam-vit-b", "vgg16-imagenet"} <= ids
    assert all(m["state"] == "missing" for m in listing["models"])


def test_models_list_table_and_models_dir_override(capsys, tmp_path):
    code, out, _ = run(capsys, "models", "--models-dir", str(tmp_path), "list")
    assert code == 0
    assert out.splitlines()[0].split()[:4] == ["ID", "KIND", "DEFAULT", "STATE"]
    assert f"Models folder: {tmp_path}" in out


def test_user_error_is_one_line_without_traceback(capsys):
    code, out, err = run(capsys, "models", "download", "no-such-model")
    assert code == 1
    assert out == ""
    assert err.startswith("semedit: error: ") and err.count("\n") == 1
    assert "Traceback" not in err and "no-such-model" in err


def test_verify_with_nothing_installed(capsys):
    code, _, err = run(capsys, "models", "verify")
    assert code == 1 and "No model is installed" in err


def test_import_then_verify_then_detect_tampering(capsys, tmp_path, monkeypatch):
    # the FFHQ entry describes the tiny generator: import reads what a file is
    monkeypatch.setenv("SEMEDIT_RESOURCES", str(resources_with_tiny_ffhq(tmp_path)))
    source = tmp_path / "my-ffhq.pkl"
    shutil.copy(FIXTURE, source)
    code, out, err = run(capsys, "models", "import", "stylegan2-ffhq-1024", str(source))
    assert code == 0, err
    assert source.read_bytes() == FIXTURE.read_bytes()  # the user's file is untouched
    code, out, _ = run(capsys, "models", "verify", "stylegan2-ffhq-1024", "--json")
    assert code == 0 and json.loads(out)[0]["ok"]
    installed = Path(json.loads(out)[0]["path"])
    installed.write_bytes(installed.read_bytes()[:-1] + b"\0")
    code, out, _ = run(capsys, "models", "verify", "stylegan2-ffhq-1024")
    assert code == 1 and out.startswith("FAILED")


@pytest.mark.parametrize("args", [["--help"], ["models", "list"]])
def test_installed_console_script(args):
    script = Path(sys.executable).with_name("semedit")
    if not script.exists():
        pytest.skip("the package is not installed into this interpreter's environment")
    result = subprocess.run([str(script), *args], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == 0, result.stderr
    assert result.stdout
