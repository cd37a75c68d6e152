"""SemEdit's package data: `models.json`, the icons, the sample photo and the tutorial (`help/`).

They live in this package (`core/resources/`), so a wheel, `pip install .` and pipx carry
them like any other package data; they are found through `importlib.resources`, which
also works inside the PyInstaller bundle (it keeps the package's files under
`_internal/core/resources`).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from core.errors import SemeditError


def resources_dir() -> Path:
    """The folder of the package data, or `SEMEDIT_RESOURCES` when set (tests, packagers)."""
    override = os.environ.get("SEMEDIT_RESOURCES")
    if override:
        return Path(override)
    folder = resources.files(__name__)
    if isinstance(folder, Path):
        return folder
    # A loader whose reader gives no paths (a frozen app's, say): the files sit beside this
    # module when they are on disk at all (the bundle puts them there).
    here = Path(__file__).resolve().parent
    if (here / "models.json").is_file():
        return here
    # e.g. imported from a zip: the app needs real files (Qt reads icons by path)
    raise SemeditError(
        f"SemEdit's data files ({folder}) are not plain files on disk; install SemEdit "
        "with pip or pipx instead of running it from an archive."
    )


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
