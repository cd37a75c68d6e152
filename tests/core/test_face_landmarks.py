from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.errors import InvalidInputError, NoFaceError
from core.face import Face, align_face, choose_face, detect_faces
from core.face.landmarks import dlib_model_path
from core.imageio import load_photo

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def fixture_record() -> dict:
    return json.loads((DATA / "astronaut_landmarks.json").read_text())


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def astronaut_faces(astronaut: np.ndarray) -> list[Face]:
    return detect_faces(astronaut)


def rect_of(record: dict) -> tuple[int, int, int, int]:
    return (record["left"], record["top"], record["right"], record["bottom"])


def test_model_files_are_found_without_importing_the_package():
    path = dlib_model_path("shape_predictor_68_face_landmarks.dat")
    assert path.is_file() and path.parent.name == "models"
    code = (
        "import sys; from core.face.landmarks import dlib_model_path; "
        "dlib_model_path('dlib_face_recognition_resnet_model_v1.dat'); "
        "print('face_recognition_models' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_detection_reproduces_the_fixture(fixture_record: dict, astronaut_faces: list[Face]):
    face = astronaut_faces[0]
    assert face.rect == rect_of(fixture_record["detector"]["rect"])
    assert face.score == pytest.approx(
        fixture_record["detector"]["detections_sorted_by_score"][0]["score"], abs=1e-6
    )
    assert face.landmarks.shape == (68, 2) and face.landmarks.dtype == np.float64
    np.testing.assert_allclose(face.landmarks, fixture_record["landmarks"], atol=1.0)


def test_faces_are_sorted_largest_first(astronaut_faces: list[Face]):
    areas = [face.area for face in astronaut_faces]
    assert areas == sorted(areas, reverse=True)


def test_aligned_face_has_its_eyes_at_ffhq_positions(
    astronaut: np.ndarray, astronaut_faces: list[Face]
):
    aligned, _ = align_face(astronaut, astronaut_faces[0].landmarks, output_size=1024)
    found = detect_faces(aligned)
    assert found, "dlib must find the face again in the aligned image"
    points = found[0].landmarks
    eyes = np.array([points[36:42].mean(axis=0), points[42:48].mean(axis=0)])
    np.testing.assert_allclose(eyes, [[383.5, 489.6], [639.5, 489.6]], atol=4.0)


def test_two_faces_sorted_by_size_and_picked_by_index(astronaut: np.ndarray):
    head = astronaut[20:260, 100:340]
    small = cv2.resize(head, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
    canvas = np.full((260, 280 + small.shape[1], 3), 200, dtype=np.uint8)
    canvas[40 : 40 + small.shape[0], 0 : small.shape[1]] = small  # the small face on the left
    canvas[10:250, small.shape[1] + 30 : small.shape[1] + 270] = head

    faces = detect_faces(canvas)

    assert len(faces) == 2
    assert faces[0].area > faces[1].area
    assert faces[0].rect[0] > small.shape[1]  # the big one is on the right
    assert choose_face(faces) is faces[0]
    assert choose_face(faces, 1) is faces[1]
    with pytest.raises(InvalidInputError, match="numbered 0 to 1"):
        choose_face(faces, 2)
    with pytest.raises(InvalidInputError):
        choose_face(faces, -1)


@pytest.mark.parametrize("photo", ["coffee", "flat"])
def test_no_face(photo: str):
    pixels = skimage.data.coffee() if photo == "coffee" else np.full((300, 400, 3), 90, np.uint8)
    faces = detect_faces(pixels)
    assert faces == []
    with pytest.raises(NoFaceError, match="--no-align") as raised:
        choose_face(faces, photo_name="holiday.jpg")
    assert "holiday.jpg" in str(raised.value)
    assert "centred" in str(raised.value)


def test_exif_rotated_photo_is_found_upright(
    tmp_path: Path, astronaut: np.ndarray, fixture_record: dict
):
    exif = Image.Exif()
    exif[0x0112] = 6  # the viewer turns it 90° clockwise
    path = tmp_path / "sideways.jpg"
    Image.fromarray(np.ascontiguousarray(np.rot90(astronaut, 1))).save(
        path, quality=95, exif=exif.tobytes()
    )

    photo = load_photo(path)
    faces = detect_faces(photo.rgb)

    assert faces, "the face must be found once the photo is upright"
    expected = np.array(fixture_record["landmarks"], dtype=np.float64)
    assert np.abs(faces[0].landmarks - expected).mean() < 2.0


def test_large_photo_is_detected_on_a_reduced_copy(astronaut: np.ndarray, fixture_record: dict):
    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_CUBIC)  # ×4

    faces = detect_faces(big, max_side=1024)  # detection at half size, landmarks at full

    expected = np.array(fixture_record["landmarks"]) * 4 + 1.5
    left, top, right, bottom = faces[0].rect
    assert 4 * 150 < left < 4 * 200 and 4 * 60 < top < 4 * 100
    assert 4 * 240 < right < 4 * 290 and 4 * 150 < bottom < 4 * 190
    assert np.abs(faces[0].landmarks - expected).mean() < 6.0  # ≈ 1.5 source pixels


def test_bad_photo_array():
    with pytest.raises(InvalidInputError):
        detect_faces(np.zeros((10, 10), dtype=np.uint8))
