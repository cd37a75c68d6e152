"""`render_full_photo`: the pixels a full-photo export writes, without writing them (the
app's Whole Photo view shows them), on the tiny generator."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from core import workflows
from core.errors import InvalidInputError, JobCancelled
from core.face.align import centre_crop_transform
from core.jobs import JobControl
from core.models.loaded import LoadedModels, ModelChoice
from core.project import Document
from core.stylegan import load_generator
from tests.gui.controller_fixtures import GEN

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PHOTO_W, PHOTO_H = 96, 64  # the centre square is x 16…80, scaled to the generator's 32²


def png_bytes(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()


def inverted_document(with_photo: bool = True) -> Document:
    generator = load_generator(GEN)
    size = generator.img_resolution
    rng = np.random.default_rng(3)
    photo = rng.integers(0, 256, (PHOTO_H, PHOTO_W, 3), dtype=np.uint8)
    transform = centre_crop_transform((PHOTO_W, PHOTO_H), size)
    aligned = np.asarray(Image.fromarray(photo[:, 16:80]).resize((size, size)))
    doc = Document(aligned=aligned, generator_sha256=generator.source_sha256,
                   photo_bytes=png_bytes(photo) if with_photo else None,
                   photo_name="photo.png" if with_photo else "",
                   transform=transform.to_json() if with_photo else None)
    mask = np.zeros((size, size), np.float32)
    mask[6:26, 8:24] = 1
    with torch.no_grad():
        ws = generator.mapping(torch.randn(1, generator.z_dim,
                                           generator=torch.Generator().manual_seed(3)))
    doc.add_chunk(mask, name="face", space="wplus", code=ws[0].numpy())
    return doc


@pytest.fixture
def models(tmp_path) -> LoadedModels:
    return LoadedModels(ModelChoice(generator=GEN, models_dir=str(tmp_path / "models"),
                                    device="cpu"))


def test_the_full_photo_render_is_what_the_full_photo_export_writes(models, tmp_path):
    doc = inverted_document()
    workflows.apply_edit_plan(models, doc, [("face", [("pc0", 3.0)])])
    stages = []
    full = workflows.run(workflows.render_full_photo(models, doc),
                         lambda p: stages.append(p.stage))
    assert stages == ["render", "paste_back"]
    out = tmp_path / "exported.png"
    exported = workflows.run(workflows.export(models, doc, out, full_photo=True))
    written = np.asarray(Image.open(out).convert("RGB"))
    assert exported.size == (PHOTO_W, PHOTO_H)
    assert full.image.dtype == np.uint8 and full.image.shape == (PHOTO_H, PHOTO_W, 3)
    np.testing.assert_array_equal(full.image, written)
    assert full.edited
    photo = np.asarray(Image.open(io.BytesIO(doc.photo_bytes)))
    assert (full.image[:, 16:80] != photo[:, 16:80]).any()  # the edit is in the face square
    np.testing.assert_array_equal(full.image[:, :16], photo[:, :16])  # outside: untouched
    np.testing.assert_array_equal(full.image[:, 80:], photo[:, 80:])


def test_nothing_edited_or_nothing_inverted_gives_the_original(models):
    unedited = inverted_document()
    uninverted = Document(aligned=unedited.aligned, photo_bytes=unedited.photo_bytes,
                          photo_name="photo.png", transform=unedited.transform)
    uninverted.add_chunk(unedited.chunks[0].mask, name="face")  # no code yet
    photo = np.asarray(Image.open(io.BytesIO(unedited.photo_bytes)))
    for doc in (unedited, uninverted):
        full = workflows.run(workflows.render_full_photo(models, doc))
        assert not full.edited
        np.testing.assert_array_equal(full.image, photo)


def test_no_photo_and_a_stop_are_refused_before_anything_is_rendered(models):
    with pytest.raises(InvalidInputError, match="no original photo"):
        workflows.run(workflows.render_full_photo(models, inverted_document(with_photo=False)))
    control = JobControl()
    control.stop()
    with pytest.raises(JobCancelled):
        workflows.run(workflows.render_full_photo(models, inverted_document(), control=control))
