"""`semedit <subcommand>`: the command line. User errors print one line and exit non-zero.

Each subcommand lives in `core/commands/<name>.py` and registers itself through
`register(subparsers)`; handlers return an exit code. Handlers find the run's stop flag
in `args.control`: the first Ctrl-C sets it, so a long workflow ends after its current
step and the command saves what it reached; a second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

import core
from core.commands import align, batch, directions, edit, hair, invert, render, segment
from core.commands import eval as eval_command
from core.commands import models as models_command
from core.errors import SemeditError
from core.jobs import JobControl

EXIT_USER_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_USAGE = 2
# Every output is written whole (atomically) or not at all: a second Ctrl-C keeps the
# files as they were, and what the first one saved.
INTERRUPTED_MESSAGE = ("semedit: interrupted; outputs not yet written were not written "
                       "(files are written whole or not at all)")
EXIT_BROKEN_PIPE = 141  # as a program ended by SIGPIPE: the reader stopped reading
SUBCOMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "models": models_command.register,
    "align": align.register,
    "invert": invert.register,
    "render": render.register,
    "edit": edit.register,
    "directions": directions.register,
    "segment": segment.register,
    "hair": hair.register,
    "eval": eval_command.register,
    "batch": batch.register,
}


def is_cli_invocation(argv: list[str]) -> bool:
    """True when argv asks for a subcommand or the CLI's help; otherwise the GUI opens."""
    return bool(argv) and (argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help", "--version"))


class _Parser(argparse.ArgumentParser):
    """Errors in one line, like every other error of the CLI, with where to find help
    (argparse's own prints the whole usage block first). Subcommands inherit it."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"semedit: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="semedit",
        description="Semantic editing of portrait photos with StyleGAN2. "
        "Without a subcommand, `semedit [PHOTO|PROJECT] [--screenshot OUT.png]` opens the editor.",
    )
    parser.add_argument("--version", action="version", version=f"semedit {core.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in SUBCOMMANDS.values():
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.control = JobControl()
    try:
        with _ctrl_c_stops(args.control):
            code = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return code
    except SemeditError as error:
        print(f"semedit: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(INTERRUPTED_MESSAGE, file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE


@contextlib.contextmanager
def _ctrl_c_stops(control: JobControl) -> Iterator[None]:
    """While a command runs, the first Ctrl-C asks its workflow to stop (`control.stop()`),
    a second one interrupts (KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return

    asked = False  # jobs acknowledge (clear) a stop they honoured, so remember it here

    def on_interrupt(signum, frame) -> None:
        nonlocal asked
        if asked:
            raise KeyboardInterrupt
        asked = True
        control.stop()
        print("\nsemedit: stopping after the current step (Ctrl-C again to quit)",
              file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _discard_stdout() -> None:
    """After a closed pipe: send what is still buffered nowhere, so exiting stays quiet."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return  # not a real file (a test's capture): nothing is flushed at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
