"""Error messages say things once."""

from __future__ import annotations

import numpy as np
import pytest

from core.edit.directions import Direction
from core.edit.render import EditRenderer
from core.errors import InvalidInputError
from core.project import Document, Edit
from tests.checkpoint_writers import random_generator

R = 32


def test_an_edited_chunk_whose_code_does_not_fit_is_named_once(one_torch_thread):
    generator = random_generator(R, seed=3)
    doc = Document(aligned=np.zeros((R, R, 3), np.uint8))
    mask = np.zeros((R, R), np.float32)
    mask[8:24, 8:24] = 1
    # a W+ code with three layers too few: a project made with another generator
    doc.add_chunk(mask, name="all", space="wplus",
                  code=np.zeros((generator.num_ws - 3, generator.w_dim), np.float32))
    direction = Direction("pc0", "w", np.ones(generator.w_dim, np.float32), scale=1.0)
    doc.chunk("all").edits = [Edit("pc0", 1.0)]
    with pytest.raises(InvalidInputError) as caught:
        EditRenderer(generator, doc, {"pc0": direction}).render()
    message = str(caught.value)
    assert message.count("Chunk 'all'") == 1, message
    assert message.startswith("Chunk 'all': its wplus code does not fit")


def test_readme_troubleshooting_lists_the_formats_and_limits_the_readers_use():
    from pathlib import Path

    from core.checkpoint_files import MAX_TORCH_FILE_BYTES
    from core.edit.direction_io import MAX_DIRECTION_FILE_BYTES
    from core.imageio import MAX_IMAGE_FILE_BYTES, MAX_PHOTO_PIXELS, READ_FORMATS
    from core.project import DEFAULT_LIMITS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    shown = {"WEBP": "WebP"}
    assert ", ".join(shown.get(f, f) for f in READ_FORMATS[:-1]) in section.replace("\n  ", " ")
    flat = " ".join(section.split())
    assert f"{MAX_PHOTO_PIXELS // 1_000_000} million pixels" in flat
    assert f"{MAX_IMAGE_FILE_BYTES >> 30} GiB per image file" in flat
    assert f"{DEFAULT_LIMITS.chunks} chunks per project" in flat
    assert f"{MAX_TORCH_FILE_BYTES >> 30} GiB per model file" in flat
    assert f"{MAX_DIRECTION_FILE_BYTES >> 20} MiB per direction file" in flat
