"""The CLI's own messages: usage errors in one line, Ctrl-C without a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import cli
from semedit_gui import launcher

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("argv", "fragment", "prog"), [
    (["invert"], "the following arguments are required: image", "semedit invert"),
    (["invert", "p.png", "-o", "x", "--steps", "many"], "--steps: invalid int value",
     "semedit invert"),
    (["render", "p.semedit", "-o", "x", "--bogus"], "unrecognized arguments: --bogus",
     "semedit"),
])
def test_usage_errors_are_one_line_with_a_hint(capsys, argv, fragment, prog):
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.count("\n") == 1 and "usage:" not in err, err
    assert err.startswith("semedit: error: ") and fragment in err
    assert err.rstrip().endswith(f"(see `{prog} --help`)")


def test_ctrl_c_while_importing_ends_quietly(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(launcher, "prepare_environment", interrupted)
    assert launcher.main(["models", "list"]) == 130
    assert capsys.readouterr().err == "semedit: interrupted\n"


def test_ctrl_c_at_start_of_the_real_program(tmp_path):
    # SIGINT a fresh `semedit` while it imports torch: exit 130, one line, no traceback
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; from semedit_gui.launcher import main; "
         "sys.exit(main(['models', 'list']))"],
        cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        env={**os.environ, "SEMEDIT_HOME": str(tmp_path)})
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    if process.returncode == 0:
        pytest.skip("the command finished before the signal came")
    assert process.returncode == 130, err
    assert "Traceback" not in err and err.strip() == "semedit: interrupted", err


def test_a_second_ctrl_c_says_what_was_kept(monkeypatch, capsys):
    def handler(args):
        raise KeyboardInterrupt  # what the second Ctrl-C raises inside a command

    parser = cli.build_parser()
    args = parser.parse_args(["models", "list"])
    args.handler = handler
    monkeypatch.setattr(cli, "build_parser", lambda: type("P", (), {
        "parse_args": staticmethod(lambda argv: args)})())
    assert cli.main(["models", "list"]) == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "were not written" in err and "whole or not at all" in err
