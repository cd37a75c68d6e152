"""`semedit <subcommand>`: the command line. User errors print one line and exit non-zero.

Each subcommand lives in `core/commands/<name>.py` and registers itself through
`register(subparsers)`; handlers return an exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import core
from core.commands import align, directions, edit, hair, invert, render, segment
from core.commands import models as models_command
from core.errors import SemeditError

EXIT_USER_ERROR = 1
EXIT_INTERRUPTED = 130
SUBCOMMANDS: dict[str, Callable[[argparse._SubParsersAction], None]] = {
    "models": models_command.register,
    "align": align.register,
    "invert": invert.register,
    "render": render.register,
    "edit": edit.register,
    "directions": directions.register,
    "segment": segment.register,
    "hair": hair.register,
}


def is_cli_invocation(argv: list[str]) -> bool:
    """True when argv asks for a subcommand or the CLI's help; otherwise the GUI opens."""
    return bool(argv) and (argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help", "--version"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    try:
        return args.handler(args)
    except SemeditError as error:
        print(f"semedit: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("semedit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
