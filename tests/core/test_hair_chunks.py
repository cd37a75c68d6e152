"""The chunks of a transfer: SAM's or painted hair, and clear messages when there is none."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import ModelMissingError, NoFaceError
from core.face.align import centre_crop_transform
from core.face.prepare import PreparedPhoto
from core.hair.chunks import NoHairError, partition, transfer_chunks

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def astronaut() -> PreparedPhoto:
    """The aligned test photo; its landmarks are detected on the aligned image itself."""
    aligned = np.asarray(Image.open(DATA / "astronaut_ffhq256.png").convert("RGB"))
    return PreparedPhoto(aligned, centre_crop_transform((256, 256), 256), None)


@dataclass
class Answer:
    mask: np.ndarray


class FakeSam:
    """Answers every prompt with one fixed mask (the top rows: "hair"), or nothing."""

    def __init__(self, rows: int):
        self.rows = rows

    def set_image(self, rgb):
        self.size = rgb.shape[0]

    def predict(self, points=(), labels=(), box=None, **options):
        mask = np.zeros((self.size, self.size), bool)
        mask[: self.rows] = True
        return Answer(mask)


def test_partition_covers_the_image():
    hair = np.zeros((8, 8), np.float32)
    hair[:3] = 1
    face = np.zeros((8, 8), np.float32)
    face[2:6, 2:6] = 1
    masks = partition({"face": face, "hair": hair})
    assert list(masks) == ["background", "face", "hair"]
    np.testing.assert_allclose(sum(masks.values()), 1.0)
    assert masks["hair"][2, 3] == 1 and masks["face"][2, 3] == 0  # hair over the forehead


def test_painted_hair_with_landmark_chunks(astronaut):
    hair = np.zeros((256, 256), np.float32)
    hair[:60] = 1
    chunks = transfer_chunks(astronaut, hair_mask=hair, photo_name="a.png")
    assert set(chunks.masks) == {"background", "face", "hair", "eyes", "mouth"}
    np.testing.assert_allclose(sum(chunks.masks.values()), 1.0, atol=1e-5)
    assert chunks.landmarks.shape == (68, 2) and chunks.skin() is not None
    assert not any("hair" in note for note in chunks.notes)


def test_without_sam_or_a_painted_mask_the_message_says_what_to_do(astronaut):
    with pytest.raises(ModelMissingError, match=r"needs Segment Anything.*sam-vit-b.*"
                       r"--hair-mask-b"):
        transfer_chunks(astronaut, photo_name="b.png", mask_option="--hair-mask-b")


def test_no_hair_found_by_sam(astronaut):
    with pytest.raises(NoHairError, match=r"No hair was found in b\.png.*--hair-mask-b"):
        transfer_chunks(astronaut, segmenter=FakeSam(rows=0), photo_name="b.png",
                        mask_option="--hair-mask-b")
    # The identity photo may be bald: its hair chunk is left out, with a note.
    bald = transfer_chunks(astronaut, segmenter=FakeSam(rows=0), photo_name="a.png",
                           hair_required=False)
    assert not bald.has_hair and any("bald" in n for n in bald.notes)
    # SAM's hair is used when it passes the checks.
    found = transfer_chunks(astronaut, segmenter=FakeSam(rows=40), photo_name="b.png")
    assert found.has_hair and found.hair[:40].mean() > 0.9


def test_empty_painted_mask_and_no_face(astronaut):
    with pytest.raises(NoHairError, match=r"--hair-mask-a.*is empty"):
        transfer_chunks(astronaut, hair_mask=np.zeros((256, 256), np.float32),
                        photo_name="a.png", mask_option="--hair-mask-a")
    grey = PreparedPhoto(np.full((32, 32, 3), 128, np.uint8),
                         centre_crop_transform((32, 32), 32), None)
    with pytest.raises(NoFaceError, match=r"No face was found in grey\.png.*--hair-mask"):
        transfer_chunks(grey, photo_name="grey.png")
    hair = np.zeros((32, 32), np.float32)
    hair[:10] = 1
    only = transfer_chunks(grey, hair_mask=hair, photo_name="grey.png")
    assert list(only.masks) == ["background", "hair"] and only.skin() is None
