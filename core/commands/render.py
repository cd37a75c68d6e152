"""`semedit render PROJECT.semedit -o OUT.png [--full-photo]`."""

from __future__ import annotations

import argparse

from core.commands import project_output
from core.edit.composite import render_document
from core.edit.library import DirectionLibrary, default_library_root


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("render", help="render a project to an image",
                              description="Render the project's chunks, with their edits, "
                              "over its aligned image, or (--full-photo) put the result back "
                              "into the original photo at full resolution.")
    p.add_argument("project")
    project_output.add_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    doc, generator = project_output.open_project(args)
    library = DirectionLibrary(default_library_root(), generator)
    aligned, changed = render_document(generator, doc, directions=library.get)
    project_output.write_output(args, doc, aligned, changed)
    return 0
