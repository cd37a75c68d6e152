"""Face measurements from 68 landmarks, checked on a real photo's landmarks."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from core.edit.labels import LABELS, face_measurements
from core.errors import InvalidInputError
from core.face import detect_faces

DATA = Path(__file__).resolve().parents[1] / "data"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.asarray(Image.open(DATA / "astronaut_ffhq1024.png").convert("RGB"))


def landmarks_of(rgb: np.ndarray) -> np.ndarray:
    faces = detect_faces(np.ascontiguousarray(rgb))
    assert len(faces) == 1
    return faces[0].landmarks


@pytest.fixture(scope="module")
def landmarks(photo) -> np.ndarray:
    return landmarks_of(photo)


@pytest.fixture(scope="module")
def measured(landmarks) -> dict[str, float]:
    return face_measurements(landmarks)


def horizontal_warp(rgb: np.ndarray, gamma: float) -> np.ndarray:
    """Output column u shows source column u**gamma: gamma > 1 squeezes the image's right
    side and stretches its left, the way a face turned towards the image's right looks."""
    h, w = rgb.shape[:2]
    u = np.linspace(0.0, 1.0, w)
    map_x = np.tile((u**gamma * (w - 1)).astype(np.float32), (h, 1))
    map_y = np.tile(np.arange(h, dtype=np.float32)[:, None], (1, w))
    return cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR)


def test_every_label_is_measured_and_described(measured):
    assert set(measured) == set(LABELS)
    assert all(isinstance(v, float) and np.isfinite(v) for v in measured.values())
    assert all(isinstance(text, str) and text for text in LABELS.values())


def test_values_of_the_frontal_smiling_astronaut(measured):
    assert abs(measured["yaw"]) < 0.1  # she faces the camera
    assert 0.08 < measured["mouth_open"] < 0.3  # a smile showing teeth
    assert 0.2 < measured["eyes_open"] < 0.45
    assert 0.5 < measured["pitch"] < 0.85
    assert 0.8 < measured["face_width"] < 1.3


def test_mirror_flips_yaw_and_keeps_the_rest(photo, landmarks, measured):
    mirrored = face_measurements(landmarks_of(photo[:, ::-1]))
    assert mirrored["yaw"] == pytest.approx(-measured["yaw"], abs=0.02)
    assert np.sign(mirrored["yaw"]) == -np.sign(measured["yaw"])
    for name in ("pitch", "mouth_open", "eyes_open", "face_width"):
        assert mirrored[name] == pytest.approx(measured[name], rel=0.03), name
    # mirroring the landmarks themselves (and their left/right numbering) flips yaw exactly
    flipped = landmarks.copy()
    flipped[:, 0] = -flipped[:, 0]
    order = np.r_[16:-1:-1, 26:16:-1, 27:31, 35:30:-1, 45:41:-1, 47:45:-1, 39:35:-1, 41:39:-1,
                  54:47:-1, 59:54:-1, 64:59:-1, 67:64:-1]
    exact = face_measurements(flipped[order])
    assert exact["yaw"] == pytest.approx(-measured["yaw"], abs=1e-9)
    assert exact["mouth_open"] == pytest.approx(measured["mouth_open"], abs=1e-9)


def test_yaw_sign_follows_a_turn(photo, measured):
    towards_right = face_measurements(landmarks_of(horizontal_warp(photo, 1.4)))
    towards_left = face_measurements(landmarks_of(horizontal_warp(photo, 0.7)))
    assert towards_right["yaw"] > measured["yaw"] + 0.05
    assert towards_left["yaw"] < measured["yaw"] - 0.05


def test_a_head_roll_changes_nothing(photo, measured):
    rotation = cv2.getRotationMatrix2D((512, 512), 15, 1.0)
    rolled = face_measurements(landmarks_of(cv2.warpAffine(photo, rotation, (1024, 1024))))
    assert rolled["yaw"] == pytest.approx(measured["yaw"], abs=0.03)
    for name in ("pitch", "mouth_open", "eyes_open", "face_width"):
        assert rolled[name] == pytest.approx(measured[name], rel=0.05), name


def test_position_and_size_do_not_matter(landmarks, measured):
    moved = face_measurements(landmarks * 0.37 + np.array([123.0, -45.0]))
    for name, value in measured.items():
        assert moved[name] == pytest.approx(value, abs=1e-9), name


def test_opening_the_mouth_grows_mouth_open(landmarks, measured):
    values = []
    for drop in (0.0, 10.0, 25.0, 50.0):
        edited = landmarks.copy()
        edited[[56, 57, 58, 65, 66, 67], 1] += drop  # lower lip down
        edited[7:10, 1] += drop  # the chin comes along
        values.append(face_measurements(edited)["mouth_open"])
    assert values[0] == pytest.approx(measured["mouth_open"])
    assert all(b > a + 0.02 for a, b in itertools.pairwise(values))
    closed = landmarks.copy()
    closed[[67, 66, 65]] = closed[[61, 62, 63]]
    assert face_measurements(closed)["mouth_open"] == pytest.approx(0.0, abs=1e-9)


def test_closing_the_eyes_lowers_eyes_open(landmarks, measured):
    half_closed = landmarks.copy()
    for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
        half_closed[upper] = (half_closed[upper] + half_closed[lower]) / 2
    value = face_measurements(half_closed)["eyes_open"]
    assert value < 0.8 * measured["eyes_open"]


def test_nose_and_jaw_edits_move_pitch_yaw_and_width(landmarks, measured):
    nose_up = landmarks.copy()
    nose_up[30, 1] -= 20
    assert face_measurements(nose_up)["pitch"] > measured["pitch"] + 0.03
    nose_right = landmarks.copy()
    nose_right[30, 0] += 30
    assert face_measurements(nose_right)["yaw"] > measured["yaw"] + 0.05
    wide = landmarks.copy()
    wide[:17, 0] = (wide[:17, 0] - wide[8, 0]) * 1.2 + wide[8, 0]
    assert face_measurements(wide)["face_width"] == pytest.approx(
        measured["face_width"] * 1.2, rel=0.02)


def test_bad_landmarks_are_refused(landmarks):
    with pytest.raises(InvalidInputError, match="68 finite"):
        face_measurements(landmarks[:5])
    broken = landmarks.copy()
    broken[3, 0] = np.nan
    with pytest.raises(InvalidInputError, match="68 finite"):
        face_measurements(broken)
    with pytest.raises(InvalidInputError, match="degenerate"):
        face_measurements(np.zeros((68, 2)))
