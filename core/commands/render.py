"""`semedit render PROJECT.semedit -o OUT.png [--full-photo]`."""

from __future__ import annotations

import argparse

from core.commands import project_output


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("render", help="render a project to an image",
                              description="Render the project's chunks, with their edits, "
                              "over its aligned image, or (--full-photo) put the result back "
                              "into the original photo at full resolution.")
    p.add_argument("project")
    project_output.add_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    doc, models = project_output.open_project(args)
    project_output.write_output(args, models, doc, mode="reconstruction")
    return 0
