"""The shipped package data with its FFHQ entry describing the tests' tiny generator.

Import and verify read a file as the model its entry declares, so the 32×32 test
generator is no longer accepted as the 1024×1024 FFHQ model. Tests that walk the
"I already have the file" path with it point `SEMEDIT_RESOURCES` at this copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from core.resources import resources_dir

TINY_GENERATOR = Path(__file__).resolve().parent / "data" / "ada_tiny.pkl"
# ada_tiny.pkl: 32×32, z and w 64, 4 mapping layers
TINY_ARCHITECTURE = {"z_dim": 64, "w_dim": 64, "mapping_layers": 4,
                     "channels": {"4": 64, "8": 64, "16": 32, "32": 16}}


def resources_with_tiny_ffhq(folder: Path, asset_id: str = "stylegan2-ffhq-1024") -> Path:
    """A copy of the package data in `folder` whose `asset_id` is the tiny generator."""
    target = folder / "resources"
    shutil.copytree(resources_dir(), target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    manifest = json.loads((target / "models.json").read_text(encoding="utf-8"))
    for asset in manifest["assets"]:
        if asset["id"] == asset_id:
            asset.update(resolution=32, architecture=TINY_ARCHITECTURE)
    (target / "models.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return target
