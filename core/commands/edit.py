"""`semedit edit PROJECT --chunk NAME --direction NAME=VALUE ... -o OUT.png [--save P]`.

Each `--direction` applies to the `--chunk` named before it: it sets the strength of
that chunk's edit along the direction (adding the edit when the chunk has none).
"""

from __future__ import annotations

import argparse
import math

from core.commands import project_output
from core.edit.scheduler import MODES
from core.errors import InvalidInputError
from core.project import save_project
from core.workflows import apply_edit_plan


class _EditAction(argparse.Action):
    """Keeps --chunk and --direction in command-line order: [(chunk, [(name, value)])]."""

    def __call__(self, parser, namespace, value, option_string=None):
        plan = getattr(namespace, "plan", None) or []
        if option_string == "--chunk":
            plan.append((value, []))
        elif not plan:
            parser.error("name a --chunk before its --direction")
        else:
            plan[-1][1].append(value)
        namespace.plan = plan


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "edit", help="move chunks along directions and render the result",
        description="Set edits on chunks (each --direction applies to the --chunk before it) "
        "and render. Without --save the project file is left as it was.")
    p.add_argument("project")
    p.add_argument("--chunk", action=_EditAction, dest="plan", metavar="NAME|INDEX",
                   help="the chunk the following --direction options edit")
    p.add_argument("--direction", action=_EditAction, dest="plan", metavar="NAME=VALUE",
                   type=_direction_value,
                   help="a direction (see `semedit directions list`) and a slider value; "
                   "±1 is a visible, natural change, 0 removes the effect")
    p.add_argument("--mode", choices=MODES, default="edited",
                   help="edited: only edited chunks change (default); reconstruction: every "
                   "chunk from its code; original; difference: heat map; side_by_side")
    p.add_argument("--save", metavar="PROJECT.semedit", help="also save the edited project")
    project_output.add_arguments(p)
    p.set_defaults(handler=run, plan=None)


def run(args: argparse.Namespace) -> int:
    if not args.plan or not any(edits for _, edits in args.plan):
        raise InvalidInputError("Give at least one --chunk followed by --direction NAME=VALUE.")
    if args.full_photo and args.mode not in ("edited", "reconstruction"):
        raise InvalidInputError(f"--full-photo pastes a face back into the photo; it does not "
                                f"apply to --mode {args.mode}.")
    doc, models = project_output.open_project(args)
    edits = apply_edit_plan(models, doc, args.plan)
    project_output.write_output(args, models, doc, mode=args.mode, edits=edits.applied,
                                with_seconds=True)
    if args.save:
        save_project(doc, args.save)
    return 0


def _direction_value(text: str) -> tuple[str, float]:
    name, sep, value = text.rpartition("=")
    try:
        strength = float(value)
    except ValueError:
        strength = math.nan
    if not sep or not name or not math.isfinite(strength):
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE (e.g. pc0=1.5)")
    return name, strength
