"""Which generator file a project's codes belong to: projects bind to models by content.

A project records its generator's id (if any), sha256, display name and the path it was
loaded from. `render`, `edit` and the app find the file in this order: the id (if its
sha256 matches), the model index by sha256, the recorded path (if its sha256 matches).
A file the user points at (`--generator PATH`, the app's "Locate generator…") is checked
against the project's sha256 and, when it matches, remembered in the index, so the next
command finds it by itself. A file with another sha256 is refused unless forced: the
codes were found for another network and would render another face.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import InvalidInputError
from core.models.store import GeneratorNeeded, ModelStore
from core.project import Document


@dataclass(frozen=True)
class ProjectGenerator:
    path: Path
    warning: str | None = None  # set when a generator with another sha256 was forced
    sha256: str | None = None  # the file's, when it was hashed to compare it


def needed_generator(doc: Document) -> GeneratorNeeded:
    return GeneratorNeeded(doc.generator_id, doc.generator_sha256, doc.generator_name,
                           doc.generator_path)


CLI_HOW = "point at it with --generator PATH (it is then remembered)"


def find_project_generator(store: ModelStore, doc: Document,
                           given: str | os.PathLike[str] | None = None, *,
                           force: bool = False, how: str = CLI_HOW,
                           force_how: str = "force this one with --force-generator"
                           ) -> ProjectGenerator:
    """The generator file to render `doc` with; `given` (an id, a name or a path) is the
    user's choice, checked against the project's sha256. `how` and `force_how` tell the
    user what to do, in the front end's words."""
    if given is None:
        return ProjectGenerator(store.find_generator(needed_generator(doc), how=how))
    path = store.resolve(given, "generator")
    if doc.generator_sha256 is None:
        return ProjectGenerator(path)
    sha256 = store.sha256_of(path)
    if sha256 == doc.generator_sha256:
        return ProjectGenerator(path)  # sha256_of put it in the index: remembered
    shown = doc.generator_name or doc.generator_id or "its generator"
    mismatch = (f"The project was made with a different generator ({shown}, sha256 "
                f"{doc.generator_sha256[:12]}…) than {path} (sha256 {sha256[:12]}…): the "
                "project's codes belong to another network")
    if not force:
        raise InvalidInputError(f"{mismatch}. {how[0].upper()}{how[1:]}, or {force_how}.")
    return ProjectGenerator(path, warning=f"{mismatch}; the render will not show the "
                                          "project's face.", sha256=sha256)


def generator_binding(store: ModelStore, path: str | os.PathLike[str],
                      generator_id: str | None) -> dict[str, str | None]:
    """The Document fields that bind a project to the generator file at `path`."""
    resolved = Path(path).expanduser().resolve()
    return {"generator_id": generator_id, "generator_sha256": store.sha256_of(resolved),
            "generator_name": generator_id or resolved.name,
            "generator_path": str(resolved)}


__all__ = ["CLI_HOW", "ProjectGenerator", "find_project_generator", "generator_binding",
           "needed_generator"]
