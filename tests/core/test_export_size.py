"""Exports at a chosen size: shrunk after the paste-back (full size, a scale, or a longest
side), never enlarged, the same through `export_image`, the export workflow and the CLI;
the user's photo is never overwritten."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from core import workflows
from core.errors import InvalidInputError
from core.face.align import centre_crop_transform
from core.project import Document
from core.project.export import export_image, export_size, photo_with_edit
from tests.core.test_cli_edit import project, run  # noqa: F401 (fixture)
from tests.core.test_full_photo_preview import PHOTO_H, PHOTO_W, inverted_document, models  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_sizes_shrink_keep_the_aspect_and_never_grow():
    assert export_size(6000, 4000) == (6000, 4000)
    assert export_size(6000, 4000, scale=0.5) == (3000, 2000)
    assert export_size(6000, 4000, max_side=1000) == (1000, 667)
    assert export_size(4000, 6000, max_side=1000) == (667, 1000)
    assert export_size(6000, 4000, max_side=8000) == (6000, 4000)  # never enlarged
    assert export_size(6000, 4000, scale=0.5, max_side=1000) == (1000, 667)  # the smaller
    assert export_size(3, 1, max_side=1) == (1, 1)  # at least a pixel
    for bad in ({"scale": 0.0}, {"scale": 1.5}, {"scale": -1}, {"max_side": 0}):
        with pytest.raises(InvalidInputError, match="export"):
            export_size(100, 100, **bad)


def test_a_full_photo_export_is_shrunk_after_the_paste_back(tmp_path):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (80, 60, 3), dtype=np.uint8)
    source = tmp_path / "photo.png"
    Image.fromarray(photo).save(source)
    original_bytes = source.read_bytes()
    doc = Document(aligned=np.full((32, 32, 3), 90, np.uint8), photo_bytes=original_bytes,
                   photo_name="photo.png",
                   transform=centre_crop_transform((60, 80), 32).to_json())
    edited = doc.aligned.copy()
    edited[8:24, 8:24] = 250
    changed = np.zeros((32, 32), np.float32)
    changed[8:24, 8:24] = 1
    full = photo_with_edit(doc, edited, changed)

    written = export_image(doc, edited, changed, tmp_path / "half.png", full_photo=True,
                           scale=0.5, source_path=source)
    on_disk = np.asarray(Image.open(tmp_path / "half.png"))
    assert on_disk.shape == written.shape == (40, 30, 3)
    np.testing.assert_array_equal(on_disk, cv2.resize(full, (30, 40),
                                                      interpolation=cv2.INTER_AREA))
    longest = export_image(doc, edited, changed, tmp_path / "small.png", full_photo=True,
                           max_side=20)
    assert longest.shape == (20, 15, 3)
    crop = export_image(doc, edited, changed, tmp_path / "crop.png", full_photo=False,
                        max_side=16)
    assert crop.shape == (16, 16, 3)
    same = export_image(doc, edited, changed, tmp_path / "full.png", full_photo=True,
                        max_side=500)  # larger than the photo: full size, not enlarged
    np.testing.assert_array_equal(same, full)
    with pytest.raises(InvalidInputError, match="scale"):
        export_image(doc, edited, changed, tmp_path / "bad.png", full_photo=True, scale=2)
    assert not (tmp_path / "bad.png").exists()
    with pytest.raises(Exception, match="never overwrites"):
        export_image(doc, edited, changed, source, full_photo=True, scale=0.5,
                     source_path=source)
    assert source.read_bytes() == original_bytes


def test_the_export_workflow_writes_the_chosen_size(models, tmp_path):  # noqa: F811
    doc = inverted_document()
    workflows.apply_edit_plan(models, doc, [("face", [("pc0", 3.0)])])
    full = workflows.run(workflows.render_full_photo(models, doc))
    out = tmp_path / "small.png"
    exported = workflows.run(workflows.export(models, doc, out, full_photo=True,
                                              max_side=PHOTO_W // 2))
    assert exported.size == (PHOTO_W // 2, PHOTO_H // 2)
    np.testing.assert_array_equal(
        np.asarray(Image.open(out).convert("RGB")),
        cv2.resize(full.image, exported.size, interpolation=cv2.INTER_AREA))
    with pytest.raises(InvalidInputError, match="longest side"):
        workflows.run(workflows.export(models, doc, tmp_path / "x.png", full_photo=True,
                                       max_side=0))


def test_render_takes_scale_and_max_size(project, tmp_path, capsys):  # noqa: F811
    code, out, err = run(capsys, "render", project, "--full-photo", "--scale", "0.5",
                         "-o", tmp_path / "half.png")
    assert code == 0, err
    assert json.loads(out)["size"] == [256, 256]  # the 512² astronaut, halved
    assert Image.open(tmp_path / "half.png").size == (256, 256)
    code, out, err = run(capsys, "render", project, "--max-size", "20",
                         "-o", tmp_path / "crop.png")
    assert code == 0, err
    assert json.loads(out)["size"] == [20, 20]  # the 32² crop
    code, _, err = run(capsys, "render", project, "--scale", "3", "-o", tmp_path / "big.png")
    assert code != 0 and "at most 1" in err
    assert not (tmp_path / "big.png").exists()
