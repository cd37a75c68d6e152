"""Automatic face chunks on a real FFHQ-aligned photo with real dlib landmarks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import InvalidInputError
from core.face import detect_faces
from core.segment.face_chunks import CHUNK_ORDER, face_chunks

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def photo() -> tuple[np.ndarray, np.ndarray]:
    rgb = np.asarray(Image.open(DATA / "astronaut_ffhq1024.png").convert("RGB"))
    faces = detect_faces(rgb)
    assert len(faces) == 1
    return rgb, faces[0].landmarks


@dataclass
class _Answer:
    mask: np.ndarray


class DiscSegmenter:
    """A stand-in for SAM that answers with discs around the positive points, or the box."""

    def __init__(self, size: int, radius: int = 150, everything: bool = False):
        self.size, self.radius, self.everything = size, radius, everything
        self.calls: list[dict] = []
        self.images = 0

    def set_image(self, rgb: np.ndarray) -> None:
        self.images += 1

    def predict(self, points=(), labels=(), box=None, **options) -> _Answer:
        self.calls.append({"points": list(points), "labels": list(labels), "box": box})
        if self.everything:
            return _Answer(np.ones((self.size, self.size), bool))
        mask = np.zeros((self.size, self.size), bool)
        if box is not None:
            x0, y0, x1, y1 = (round(v) for v in box)
            mask[y0:y1 + 1, x0:x1 + 1] = True
            return _Answer(mask)
        yy, xx = np.mgrid[:self.size, :self.size]
        for (x, y), label in zip(points, labels, strict=True):
            if label == 1:
                mask |= (xx - x) ** 2 + (yy - y) ** 2 <= self.radius ** 2
        return _Answer(mask)


def _contains(mask: np.ndarray, points: np.ndarray, threshold: float = 0.5) -> float:
    xy = np.rint(points).astype(int)
    return float((mask[xy[:, 1], xy[:, 0]] >= threshold).mean())


def _assert_disjoint(masks: dict[str, np.ndarray]) -> None:
    stack = np.stack(list(masks.values()))
    assert stack.sum(0).max() <= 1.0 + 1e-5
    hard = stack >= 0.5
    assert hard.sum(0).max() <= 1


def test_landmark_chunks_without_sam(photo):
    rgb, landmarks = photo
    result = face_chunks(rgb, landmarks)
    assert result.method == "landmarks"
    assert list(result.masks) == ["face", "eyes", "mouth"]
    assert "Segment Anything is not installed" in result.notes[0]
    for name, mask in result.masks.items():
        assert mask.dtype == np.float32 and mask.shape == (1024, 1024), name
        assert (mask >= 0.5).sum() > 500, name
    assert _contains(result.masks["mouth"], landmarks[48:60]) == 1.0
    assert _contains(result.masks["eyes"], landmarks[36:48]) == 1.0
    assert _contains(result.masks["face"], landmarks[27:32]) == 1.0  # bridge and tip of the nose
    # The eyes and mouth win over the face; the face keeps the cheeks.
    assert _contains(result.masks["face"], landmarks[48:60]) == 0.0
    assert _contains(result.masks["face"], landmarks[[2, 14]] * 0.5 + landmarks[[31, 35]] * 0.5)
    # The face oval stays below the top of the image and above the chin only.
    rows = np.flatnonzero(result.masks["face"].max(1) >= 0.5)
    assert rows[-1] <= landmarks[8, 1] + 15
    assert rows[0] > 0.05 * 1024
    _assert_disjoint(result.masks)


def test_sam_chunks_are_checked_against_the_landmarks(photo):
    rgb, landmarks = photo
    segmenter = DiscSegmenter(1024)
    result = face_chunks(rgb, landmarks, segmenter)
    assert segmenter.images == 1
    assert result.method == "sam" and result.notes == []
    assert list(result.masks) == list(CHUNK_ORDER)
    assert _contains(result.masks["mouth"], landmarks[[51, 57]] * 0.5 + landmarks[[62, 66]] * 0.5)
    assert _contains(result.masks["eyes"], landmarks[36:48].reshape(2, 6, 2).mean(1)) == 1.0
    assert _contains(result.masks["face"], landmarks[30:31]) == 1.0
    _assert_disjoint(result.masks)
    # Hair prompts sit above the eyebrows, background prompts in the corners.
    brow_y = landmarks[17:27, 1].min()
    hair_call = segmenter.calls[1]
    positives = [p for p, label in zip(hair_call["points"], hair_call["labels"], strict=True)
                 if label == 1]
    assert len(positives) == 3 and all(y < brow_y for _, y in positives)
    corner_call = segmenter.calls[0]
    assert all(min(x, 1023 - x) < 30 and min(y, 1023 - y) < 30
               for (x, y), label in zip(corner_call["points"], corner_call["labels"],
                                        strict=True) if label == 1)
    # Eyes and mouth are asked with a box around the landmarks.
    for call, outline in ((segmenter.calls[3], landmarks[36:42]),
                          (segmenter.calls[5], landmarks[48:60])):
        x0, y0, x1, y1 = call["box"]
        assert x0 < outline[:, 0].min() and x1 > outline[:, 0].max()
        assert y0 < outline[:, 1].min() and y1 > outline[:, 1].max()


def test_wrong_sam_answers_fall_back_to_the_landmarks(photo):
    rgb, landmarks = photo
    result = face_chunks(rgb, landmarks, DiscSegmenter(1024, everything=True))
    assert result.method == "sam"
    assert list(result.masks) == ["face", "eyes", "mouth"]
    text = " ".join(result.notes)
    assert "background chunk covers the face; it was left out" in text
    assert "hair chunk covers the face" in text
    assert "face chunk covers most of the image; the face chunk follows the landmarks" in text
    assert "mouth chunk is much larger than the landmarks allow" in text
    _assert_disjoint(result.masks)


def test_specks_are_left_out(photo):
    rgb, landmarks = photo
    segmenter = DiscSegmenter(1024, radius=3)  # boxes answer fine, discs are specks
    result = face_chunks(rgb, landmarks, segmenter)
    assert list(result.masks) == ["face", "eyes", "mouth"]
    assert "hair chunk is too small; it was left out" in " ".join(result.notes)
    assert "background chunk is too small; it was left out" in " ".join(result.notes)
    assert "face chunk is much smaller than the face; the face chunk follows" in " ".join(
        result.notes)


def test_bad_inputs(photo):
    rgb, landmarks = photo
    with pytest.raises(InvalidInputError, match="68 landmarks"):
        face_chunks(rgb, landmarks[:5])
    with pytest.raises(InvalidInputError, match="square"):
        face_chunks(rgb[:500], landmarks)


def test_a_head_cut_by_the_frame_gives_no_prompt_outside(photo):
    rgb, landmarks = photo
    shifted = landmarks + np.array([0.0, -380.0])  # forehead and hair points above the frame
    segmenter = DiscSegmenter(1024)
    face_chunks(rgb, shifted, segmenter)
    for call in segmenter.calls:
        for x, y in call["points"]:
            assert 0 <= x < 1024 and 0 <= y < 1024
