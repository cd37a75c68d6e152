"""Where SemEdit keeps its data (`$SEMEDIT_HOME` or the platform data folder) and its models."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "SemEdit"
HOME_ENV = "SEMEDIT_HOME"


def semedit_home() -> Path:
    """The data folder: `$SEMEDIT_HOME` when set, else the platform's user data dir."""
    from_env = os.environ.get(HOME_ENV, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    # appauthor=False: no "SemEdit/SemEdit" nesting on Windows.
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def models_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The models folder; `override` (the CLI's `--models-dir`) wins over the environment.

    Nothing is created here: the store makes the folder when it first writes to it.
    """
    if override is not None and str(override).strip():
        return Path(override).expanduser()
    return semedit_home() / "models"
