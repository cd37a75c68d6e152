"""The user's preferences, kept as JSON in the SemEdit data folder.

Forgiving by design: a missing, unreadable or hand-broken file, or one value of the wrong
type, never blocks start-up. Bad values fall back to their defaults and the problem is
reported once (`AppSettings.load` returns the warnings) so the window can say so.
Writes are atomic, so a crash while saving cannot leave half a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from core.device import DEVICE_CHOICES
from core.fileio import write_atomically
from core.invert import COVERAGES, LOSS_KINDS
from core.invert.engine import AUTOCASTS
from core.invert.memory import GRADIENT_MODES
from core.latents import SPACES
from core.models.loaded import ModelChoice
from core.paths import semedit_home

SETTINGS_FILE = "settings.json"
SETTINGS_VERSION = 1
PRECISIONS = ("auto", "fp32")  # auto: fp16 top blocks on CUDA, as the inversion does
THEMES = ("system", "light", "dark")
MAX_RECENT = 10


@dataclass
class AppSettings:
    device: str = "auto"
    precision: str = "auto"
    # The Inversion panel's settings for a new photo (a project keeps its own).
    default_steps: int = 300
    default_space: str = "wplus"
    lambda_reg: float = 1.0
    default_loss: str = "lpips"
    default_coverage: str = "edit_regions"
    default_pti_steps: int = 0
    inversion_memory: str = "auto"  # InversionSettings.gradient_mode: auto/batched/per_chunk
    mixed_precision: str = "off"  # InversionSettings.autocast: off/bf16/fp16
    models_dir: str = ""  # "" = $SEMEDIT_HOME/models
    generator: str = ""  # manifest id or file path; "" = the default generator
    sam: str = ""
    vgg: str = ""
    theme: str = "system"
    autosave_seconds: int = 60
    recent_files: list[str] = field(default_factory=list)
    welcome_dismissed: bool = False
    window_geometry: str = ""  # Qt's saveGeometry, base64: size and place on screen
    window_state: str = ""  # Qt's saveState, base64: docks and toolbars with a photo open
    export_format: str = ""  # the format last exported (PNG, JPEG, ...): the next starts on it

    @property
    def render_force_fp32(self) -> bool | None:
        """Precision of renders (preview, export): True forces fp32; None renders as the
        project was inverted ("auto")."""
        return True if self.precision == "fp32" else None

    def inversion_engine_settings(self) -> dict[str, str]:
        """The InversionSettings fields these preferences set."""
        return {"gradient_mode": self.inversion_memory, "autocast": self.mixed_precision}

    def inversion_defaults(self) -> dict:
        """The Inversion panel's values for a new photo (`InversionPanel.values` keys)."""
        return {"steps": self.default_steps, "space": self.default_space,
                "lambda_reg": self.lambda_reg, "loss": self.default_loss,
                "coverage": self.default_coverage, "optimise_masks": False,
                "pti_steps": self.default_pti_steps}

    # ----------------------------------------------------------------- files

    @staticmethod
    def path() -> Path:
        return semedit_home() / SETTINGS_FILE

    @classmethod
    def load(cls, path: Path | None = None) -> tuple[AppSettings, list[str]]:
        """The settings from `path` (default: the data folder) and what was wrong with it."""
        path = path or cls.path()
        settings, warnings = cls(), []
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return settings, []
        except (OSError, UnicodeDecodeError) as error:
            return settings, [f"The settings file {path} could not be read ({error}); "
                              "using the defaults."]
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            return settings, [f"The settings file {path} is damaged (line {error.lineno}); "
                              "using the defaults. It will be rewritten when you change a "
                              "preference."]
        if not isinstance(data, dict):
            return settings, [f"The settings file {path} does not hold settings; using the "
                              "defaults."]
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            problem = _problem(f.name, value)
            if problem:
                warnings.append(f"Setting {f.name!r}: {problem}; using the default.")
                continue
            setattr(settings, f.name, list(value) if isinstance(value, list) else value)
        return settings, warnings

    def save(self, path: Path | None = None) -> None:
        path = path or self.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": SETTINGS_VERSION, **asdict(self)}, indent=2) + "\n"
        write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))

    # ----------------------------------------------------------------- derived

    def model_choice(self) -> ModelChoice:
        return ModelChoice(generator=self.generator or None, sam=self.sam or None,
                           vgg=self.vgg or None, models_dir=self.models_dir or None,
                           device=self.device)

    def add_recent(self, path: str | os.PathLike[str]) -> None:
        text = str(Path(path).resolve())
        self.recent_files = [text, *[p for p in self.recent_files if p != text]][:MAX_RECENT]

    def remove_recent(self, path: str) -> None:
        self.recent_files = [p for p in self.recent_files if p != path]


def _problem(name: str, value: object) -> str | None:
    """Why `value` cannot be setting `name` (None when it can)."""
    choices = {"device": DEVICE_CHOICES, "precision": PRECISIONS, "theme": THEMES,
               "default_space": SPACES, "inversion_memory": GRADIENT_MODES,
               "mixed_precision": AUTOCASTS, "default_loss": LOSS_KINDS,
               "default_coverage": COVERAGES}
    if name in choices:
        return None if value in choices[name] else f"{value!r} is not one of {choices[name]}"
    if name in ("default_steps", "default_pti_steps", "autosave_seconds"):
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 100_000
        return None if ok else f"{value!r} is not a whole number from 0 to 100000"
    if name == "lambda_reg":
        ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e6
        return None if ok else f"{value!r} is not a number ≥ 0"
    if name == "recent_files":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        return None if ok else "not a list of paths"
    if name == "welcome_dismissed":
        return None if isinstance(value, bool) else "not true or false"
    return None if isinstance(value, str) else f"{value!r} is not text"
