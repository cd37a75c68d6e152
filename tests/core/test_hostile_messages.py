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
