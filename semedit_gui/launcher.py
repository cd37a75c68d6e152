"""The `semedit` console entry point: a subcommand goes to `core.cli`, anything else opens the app.

Kept free of Qt imports so that `semedit models list` and friends start fast and work
on machines without a display, and free of torch imports until `prepare_environment()`
has set what torch reads once, when it first allocates.
"""

from __future__ import annotations

import argparse
import os
import sys

from core.glibc_malloc import use_one_arena

# torch's CPU allocator asks for 2 MB pages (THP) for large tensors: 512 times fewer page
# faults where memory is fresh (a step's first use of it).
LARGE_PAGES_VARIABLE = "THP_MEM_ALLOC_ENABLE"


def prepare_environment() -> None:
    """Settings torch and glibc read once, before any thread starts; a user's are kept.

    One malloc arena: the app's worker thread then reuses the memory its inversion
    steps free (core.invert.memory.freed_memory_kept) instead of mapping and zeroing
    gigabytes afresh every step (benchmarks/RESULTS.md, issue #21).
    """
    os.environ.setdefault(LARGE_PAGES_VARIABLE, "1")
    use_one_arena()


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C while torch and the rest are still importing
        print("semedit: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    prepare_environment()
    from core import cli  # imports torch: after prepare_environment

    if cli.is_cli_invocation(argv):
        return cli.main(argv)
    args = _gui_parser().parse_args(argv)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a screenshot needs no screen
    elif not _display_available():
        print("semedit: error: no display found (DISPLAY and WAYLAND_DISPLAY are unset); "
              "run it in a desktop session, or use the subcommands (`semedit --help`)",
              file=sys.stderr)
        return 1
    from semedit_gui.app import run_app  # Qt only from here on

    return run_app(path=args.path, screenshot=args.screenshot)


def _display_available() -> bool:
    if os.environ.get("QT_QPA_PLATFORM") or not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="semedit", description="Open the SemEdit editor (see `semedit --help` for commands)."
    )
    parser.add_argument("path", nargs="?", help="a photo or a .semedit project to open")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="render the main window to a PNG and quit (works offscreen)")
    return parser


if __name__ == "__main__":
    sys.exit(main())
