"""Names that become file names: any length, any characters, never an OSError."""

from __future__ import annotations

import numpy as np
import pytest

from core.edit.library import DirectionLibrary, import_file_stem
from tests.checkpoint_writers import random_generator

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SETTINGS = {"ganspace_samples": 1000, "ganspace_components": 6, "scale_samples": 400}


def test_file_stems_are_bounded_and_safe():
    assert import_file_stem("smile") == "smile"
    for name in ("x" * 300, "../../etc/passwd", "a/b", "é" * 200, ".hidden", ""):
        stem = import_file_stem(name)
        assert 0 < len(stem.encode()) <= 80 and "/" not in stem and not stem.startswith(".")
    assert import_file_stem("x" * 300) != import_file_stem("x" * 299)


def test_a_300_character_name_is_imported_and_read_back(tmp_path):
    generator = random_generator(32, seed=1)
    vector = np.random.default_rng(0).normal(size=(1, generator.w_dim)).astype(np.float32)
    np.save(tmp_path / "smile.npy", vector / np.linalg.norm(vector))
    name = "s" * 300
    library = DirectionLibrary(tmp_path / "lib", generator, **SETTINGS)
    (direction,) = library.import_file(tmp_path / "smile.npy", name=name)
    assert direction.name == name
    files = sorted(p.name for p in library.imported_folder.iterdir())
    assert all(len(f) < 100 for f in files) and len(files) == 2
    again = DirectionLibrary(tmp_path / "lib", generator, **SETTINGS)
    assert name in [d.name for d in again.list()]
