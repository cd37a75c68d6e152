"""What the desktop app relies on in core: document snapshots, undoable inversion results,
exporting, and the worker's model cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import workflows
from core.errors import InvalidInputError, ModelMissingError
from core.invert import InversionSettings
from core.models.loaded import LoadedModels, ModelChoice
from core.project import Document
from core.project.export import export_image
from core.workflows import apply_inversion

DATA = Path(__file__).resolve().parents[1] / "data"
GEN = DATA / "ada_tiny.pkl"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _doc(resolution: int = 32) -> Document:
    rng = np.random.default_rng(0)
    doc = Document(aligned=rng.integers(0, 255, (resolution, resolution, 3), dtype=np.uint8))
    top = np.zeros((resolution, resolution), np.float32)
    top[: resolution // 2] = 1
    doc.add_chunk(top, name="top")
    doc.add_chunk(1 - top, name="bottom")
    return doc


def test_snapshot_is_independent_of_later_changes():
    doc = _doc()
    doc.chunks[0].code = np.zeros(8, np.float32)
    snap = doc.snapshot()
    doc.chunks[0].mask[:] = 0
    doc.chunks[0].code[:] = 5
    doc.chunks[0].name = "renamed"
    assert snap.chunks[0].mask.max() == 1 and snap.chunks[0].code.max() == 0
    assert snap.chunks[0].name == "top"
    assert snap.history is not doc.history and len(snap.history) == 0
    assert snap.aligned is doc.aligned  # never changed in place, so shared


@pytest.fixture(scope="module")
def inverted():
    models = LoadedModels(ModelChoice(generator=str(GEN), device="cpu"))
    generator = models.generator()
    doc = _doc(generator.img_resolution)
    settings = InversionSettings(steps=3)
    outcome = workflows.run(workflows.invert(models, doc, settings, loss_kind="l2"))
    return generator, doc, outcome.result, settings


def test_apply_inversion_is_one_undo_step(inverted):
    _generator, template, result, settings = inverted
    doc = template.snapshot()
    chunks = list(doc.chunks)
    apply_inversion(doc, chunks, result, settings, metrics={"l2": 0.1, "lpips": float("nan")},
                    generator_id=None, generator_sha256="a" * 64)
    assert all(c.code is not None for c in doc.chunks)
    assert np.array_equal(doc.chunks[0].code, result.codes[0].value)
    assert all(np.array_equal(c.mask, m) for c, m in zip(doc.chunks, result.masks, strict=True))
    assert doc.inversion["metrics"] == {"l2": 0.1, "lpips": None}
    assert doc.generator_sha256 == "a" * 64 and doc.history.labels == ["Inversion"]
    doc.history.undo()
    assert all(c.code is None for c in doc.chunks) and doc.inversion == {}
    doc.history.redo()
    assert doc.chunks[1].code is not None


def test_apply_inversion_keeps_masks_painted_while_it_ran(inverted):
    _generator, template, result, settings = inverted
    doc = template.snapshot()
    chunks = list(doc.chunks)
    doc.chunks[1].mask[:4] = 1.0  # a stroke on "bottom" while the inversion ran
    painted = doc.chunks[1].mask.copy()
    changed = apply_inversion(doc, chunks, result, settings, metrics={}, generator_id=None,
                              generator_sha256=None)
    assert changed == ["bottom"]
    assert np.array_equal(doc.chunks[1].mask, painted)  # the newer mask stays
    assert np.array_equal(doc.chunks[1].code, result.codes[1].value)  # the codes are applied
    assert np.array_equal(doc.chunks[0].mask, result.masks[0])
    doc.history.undo()
    assert doc.chunks[1].code is None and np.array_equal(doc.chunks[1].mask, painted)


def test_apply_inversion_refuses_when_chunks_changed(inverted):
    _generator, template, result, settings = inverted
    doc = template.snapshot()
    chunks = list(doc.chunks)
    doc.add_chunk(np.zeros((doc.resolution,) * 2, np.float32), name="new")
    with pytest.raises(InvalidInputError, match="changed while the inversion ran"):
        apply_inversion(doc, chunks, result, settings, metrics={}, generator_id=None,
                        generator_sha256=None)
    assert all(c.code is None for c in doc.chunks) and len(doc.history) == 0


def test_export_aligned_and_full_photo(tmp_path):
    photo = np.full((80, 60, 3), 90, np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    from core.face.align import centre_crop_transform

    transform = centre_crop_transform((60, 80), 32)
    doc = Document(aligned=np.full((32, 32, 3), 90, np.uint8),
                   photo_bytes=(tmp_path / "photo.png").read_bytes(), photo_name="photo.png",
                   transform=transform.to_json())
    edited = doc.aligned.copy()
    edited[8:24, 8:24] = 250
    changed = np.zeros((32, 32), np.float32)
    changed[8:24, 8:24] = 1
    crop = export_image(doc, edited, changed, tmp_path / "crop.png", full_photo=False)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "crop.png")), crop)
    full = export_image(doc, edited, changed, tmp_path / "full.jpg", full_photo=True,
                        quality=90)
    assert full.shape == (80, 60, 3)
    assert full[40, 30].min() > 200 and full[2, 2].max() < 100  # centre edited, corner kept
    with pytest.raises(Exception, match="never overwrites"):
        export_image(doc, edited, changed, tmp_path / "photo.png", full_photo=True,
                     source_path=tmp_path / "photo.png")
    bare = Document(aligned=doc.aligned)
    with pytest.raises(InvalidInputError, match="no original photo"):
        export_image(bare, edited, changed, tmp_path / "x.png", full_photo=True)


def test_loaded_models_reuses_and_replaces(tmp_path):
    models = LoadedModels(ModelChoice(generator=str(GEN), models_dir=str(tmp_path),
                                      device="cpu"))
    first = models.generator()
    assert models.generator() is first and models.generator_id is None
    copy = tmp_path / "other.pkl"
    copy.write_bytes(GEN.read_bytes())
    models.use(ModelChoice(generator=str(copy), models_dir=str(tmp_path), device="cpu"))
    assert models.generator() is not first
    assert models.sam_if_installed() is None and models.lpips_if_installed() is None
    with pytest.raises(ModelMissingError) as missing:
        models.lpips()
    assert missing.value.asset_id == "vgg16-imagenet"
    models.use(ModelChoice(models_dir=str(tmp_path), device="cpu"))
    with pytest.raises(ModelMissingError) as missing:
        models.generator()
    assert missing.value.asset_id == "stylegan2-ffhq-1024"


def test_loaded_models_reload_a_file_whose_content_changed(tmp_path):
    """A re-imported model (same path, new content) is loaded again, and what was made
    from the old generator (its direction library) goes with it."""
    import os

    path = tmp_path / "g.pkl"
    path.write_bytes(GEN.read_bytes())
    models = LoadedModels(ModelChoice(generator=str(path), models_dir=str(tmp_path),
                                      device="cpu"))
    first, library = models.generator(), models.directions(tmp_path / "dirs")
    assert models.generator() is first and models.directions(tmp_path / "dirs") is library
    path.write_bytes((DATA / "ada_tiny64_w512.pkl").read_bytes())  # re-imported
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    second = models.generator()
    assert second is not first
    assert (first.img_resolution, second.img_resolution) == (32, 64)
    assert models.directions(tmp_path / "dirs") is not library
    assert models.directions(tmp_path / "dirs").generator is second


def test_switching_the_generator_frees_it_and_what_was_made_from_it(tmp_path):
    import gc
    import weakref

    models = LoadedModels(ModelChoice(generator=str(GEN), models_dir=str(tmp_path),
                                      device="cpu"))
    old = weakref.ref(models.generator())
    library = weakref.ref(models.directions(tmp_path / "dirs"))
    models.use(ModelChoice(generator=str(DATA / "ada_tiny64_w512.pkl"),
                           models_dir=str(tmp_path), device="cpu"))
    gc.collect()
    assert old() is None and library() is None  # freed at the switch, before any load
    assert models.generator().img_resolution == 64


def test_loaded_models_lpips_for_a_loss_and_the_generator_id(tmp_path):
    models = LoadedModels(ModelChoice(models_dir=str(tmp_path), device="cpu"))
    assert models.lpips_for("l2") is None  # only the metric wants it: optional
    with pytest.raises(ModelMissingError, match="LPIPS"):
        models.lpips_for("lpips+l2")
    assert models.generator_id == "stylegan2-ffhq-1024"  # the default, by id
    installed = models.store.path("stylegan2-ffhq-1024")
    installed.parent.mkdir(parents=True, exist_ok=True)
    installed.write_bytes(GEN.read_bytes())
    by_path = LoadedModels(ModelChoice(generator=str(installed), models_dir=str(tmp_path),
                                       device="cpu"))
    assert by_path.generator_id == "stylegan2-ffhq-1024"  # a path to a manifest model
    assert LoadedModels(ModelChoice(generator=str(GEN), device="cpu")).generator_id is None
