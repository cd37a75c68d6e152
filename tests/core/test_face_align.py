from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.errors import InvalidInputError
from core.face import (
    AlignTransform,
    align_face,
    apply_transform,
    centre_crop_transform,
    ffhq_quad,
    ffhq_transform,
)

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def fixture_record() -> dict:
    return json.loads((DATA / "astronaut_landmarks.json").read_text())


@pytest.fixture(scope="module")
def landmarks(fixture_record: dict) -> np.ndarray:
    return np.array(fixture_record["landmarks"], dtype=np.float64)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


def golden(name: str) -> np.ndarray:
    return np.asarray(Image.open(DATA / name).convert("RGB"))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def edge_case_photo(astronaut: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(astronaut, 6, axis=0), 6, axis=1)[240:, 720:]


def test_quad_matches_the_reference(fixture_record: dict, landmarks: np.ndarray):
    quad, qsize = ffhq_quad(landmarks)
    np.testing.assert_allclose(quad, fixture_record["quad"]["corners_xy"], atol=1e-9)
    assert qsize == pytest.approx(fixture_record["quad"]["qsize"], abs=1e-9)


@pytest.mark.parametrize(
    ("size", "name"), [(1024, "astronaut_ffhq1024.png"), (256, "astronaut_ffhq256.png")]
)
def test_golden_alignment(astronaut: np.ndarray, landmarks: np.ndarray, size: int, name: str):
    aligned, transform = align_face(astronaut, landmarks, output_size=size)
    assert aligned.shape == (size, size, 3) and aligned.dtype == np.uint8
    assert psnr(aligned, golden(name)) >= 40
    assert transform.shrink == 1 and transform.padding == (0, 0, 0, 0)


def test_golden_edge_case_with_shrink_and_padding(
    fixture_record: dict, astronaut: np.ndarray, landmarks: np.ndarray
):
    photo = edge_case_photo(astronaut)
    edge_landmarks = landmarks * 6 + 2.5 - np.array([720, 240])
    np.testing.assert_allclose(edge_landmarks, fixture_record["edge_case"]["landmarks"])

    aligned, transform = align_face(photo, edge_landmarks, output_size=256)

    assert transform.shrink == 2
    assert min(transform.padding) > 0
    assert psnr(aligned, golden("astronaut_edge_ffhq256.png")) >= 40


def test_large_padding_blur_is_close_to_exact(
    monkeypatch: pytest.MonkeyPatch, astronaut: np.ndarray, landmarks: np.ndarray
):
    import core.face.align as align_module

    photo = edge_case_photo(astronaut)
    edge_landmarks = landmarks * 6 + 2.5 - np.array([720, 240])
    monkeypatch.setattr(align_module, "EXACT_BLUR_MAX_SIGMA", 4.0)  # force the reduced blur
    approximate, _ = align_face(photo, edge_landmarks, output_size=256)
    assert psnr(approximate, golden("astronaut_edge_ffhq256.png")) >= 40


def test_eyes_land_on_the_ffhq_positions(astronaut: np.ndarray, landmarks: np.ndarray):
    _, transform = align_face(astronaut, landmarks, output_size=1024)
    to_aligned = transform.photo_to_aligned()
    eyes = np.array([landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)])
    mapped = np.c_[eyes, np.ones(2)] @ to_aligned.T
    # Eye distance dominates for this face, so the eyes are a quarter of the side apart
    # around the centre, nearly level (the square's rotation also weighs the mouth) and
    # 0.1 × eye-to-mouth above the centre.
    np.testing.assert_allclose(mapped[:, 0], [383.5, 639.5], atol=1.0)
    np.testing.assert_allclose(mapped[:, 1], [489.6, 489.6], atol=3.0)


def test_matrices_map_quad_corners_and_invert(astronaut: np.ndarray, landmarks: np.ndarray):
    transform = ffhq_transform(landmarks, (512, 512), output_size=1024)
    to_photo = transform.aligned_to_photo()
    # The outer edges of the aligned image are the quad (pixel edges sit at -0.5 and 1023.5).
    corners = np.array([[-0.5, -0.5, 1], [-0.5, 1023.5, 1], [1023.5, 1023.5, 1], [1023.5, -0.5, 1]])
    np.testing.assert_allclose((corners @ to_photo.T)[:, :2], transform.quad, atol=1e-9)
    np.testing.assert_allclose(to_photo @ transform.photo_to_aligned(), np.eye(3), atol=1e-12)
    # The same square at another size.
    np.testing.assert_allclose(
        transform.aligned_to_photo(256) @ [127.5, 127.5, 1], to_photo @ [511.5, 511.5, 1]
    )
    assert transform.photo_pixels_per_aligned_pixel == pytest.approx(173.66 / 1024, rel=1e-4)


def test_sampling_quad_accounts_for_the_shrink(astronaut: np.ndarray, landmarks: np.ndarray):
    photo = edge_case_photo(astronaut)
    edge_landmarks = landmarks * 6 + 2.5 - np.array([720, 240])
    transform = ffhq_transform(edge_landmarks, (photo.shape[1], photo.shape[0]), 256)
    # 2352 and 2832 are even, so the shrunk photo's pixel centres sit half a pixel further on.
    np.testing.assert_allclose(transform.sampling_quad(), np.array(transform.quad) + 0.5)


def test_aligned_pixels_follow_the_matrix(astronaut: np.ndarray, landmarks: np.ndarray):
    aligned, transform = align_face(astronaut, landmarks, output_size=1024)
    # A smooth region (the cheek) must match the photo sampled where the matrix points.
    for u, v in [(420, 600), (600, 620), (512, 300)]:
        x, y, _ = transform.aligned_to_photo() @ [u, v, 1]
        nearest = astronaut[round(y), round(x)].astype(int)
        assert np.abs(aligned[v, u].astype(int) - nearest).max() < 25


def test_json_round_trip(astronaut: np.ndarray, landmarks: np.ndarray):
    photo = edge_case_photo(astronaut)
    edge_landmarks = landmarks * 6 + 2.5 - np.array([720, 240])
    for transform in (
        ffhq_transform(landmarks, (512, 512)),
        ffhq_transform(edge_landmarks, (photo.shape[1], photo.shape[0]), 256),
        centre_crop_transform((640, 480), 256),
    ):
        data = transform.to_json()
        text = json.dumps(data)
        assert AlignTransform.from_json(json.loads(text)) == transform
        assert AlignTransform.from_json(text) == transform
        np.testing.assert_array_equal(
            AlignTransform.from_json(text).aligned_to_photo(), transform.aligned_to_photo()
        )


def test_json_errors_are_invalid_input(landmarks: np.ndarray):
    good = ffhq_transform(landmarks, (512, 512)).to_json()
    for broken in (
        "not json",
        "[]",
        {**good, "method": "magic"},
        {**good, "crop_box": [0, 0, 9999, 10]},
        {**good, "output_size": 1.5},
        {k: v for k, v in good.items() if k != "quad"},
        {**good, "version": 99},
    ):
        with pytest.raises(InvalidInputError):
            AlignTransform.from_json(broken)


def test_apply_transform_reproduces_align_face(astronaut: np.ndarray, landmarks: np.ndarray):
    aligned, transform = align_face(astronaut, landmarks, output_size=256)
    restored = AlignTransform.from_json(json.dumps(transform.to_json()))
    np.testing.assert_array_equal(apply_transform(astronaut, restored), aligned)


def test_centre_crop_transform(astronaut: np.ndarray):
    photo = np.ascontiguousarray(astronaut[:, 56:456])  # 400 wide, 512 high
    transform = centre_crop_transform((400, 512), 200)
    assert transform.crop_box == (0, 56, 400, 456)
    cropped = apply_transform(photo, transform)
    expected = np.asarray(
        Image.fromarray(photo[56:456]).resize((200, 200), Image.Resampling.LANCZOS)
    )
    np.testing.assert_array_equal(cropped, expected)
    # Aligned pixel (u, v) is the centre of photo block (2u..2u+1, 2v..2v+1) + crop offset.
    np.testing.assert_allclose(transform.aligned_to_photo() @ [0, 0, 1], [0.5, 56.5, 1])
    np.testing.assert_allclose(transform.aligned_to_photo() @ [199, 199, 1], [398.5, 454.5, 1])


def test_centre_crop_at_the_same_size_is_a_plain_crop(astronaut: np.ndarray):
    transform = centre_crop_transform((512, 512), 512)
    np.testing.assert_array_equal(apply_transform(astronaut, transform), astronaut)
    np.testing.assert_allclose(transform.aligned_to_photo(), np.eye(3), atol=1e-12)


def test_bad_inputs(astronaut: np.ndarray, landmarks: np.ndarray):
    with pytest.raises(InvalidInputError, match="68"):
        align_face(astronaut, landmarks[:5])
    with pytest.raises(InvalidInputError, match="degenerate"):
        align_face(astronaut, np.zeros((68, 2)))
    with pytest.raises(InvalidInputError):
        align_face(astronaut.astype(np.float32), landmarks)
    transform = ffhq_transform(landmarks, (512, 512))
    with pytest.raises(InvalidInputError, match="512×512"):
        apply_transform(astronaut[:300], transform)


def test_a_square_placed_by_hand_is_the_crop():
    from core.face.align import square_crop_transform

    rgb = np.random.default_rng(3).integers(0, 256, (120, 200, 3), dtype=np.uint8)
    transform = square_crop_transform((200, 120), (30, 10, 64), 64)
    assert transform.crop_box == (30, 10, 94, 74)
    assert np.array_equal(apply_transform(rgb, transform), rgb[10:74, 30:94])
    assert AlignTransform.from_json(transform.to_json()) == transform
    # Aligned pixel centres map back onto the square's pixels.
    corner = transform.aligned_to_photo(64) @ np.array([0.0, 0.0, 1.0])
    assert np.allclose(corner[:2], (30, 10), atol=1e-6)
    with pytest.raises(InvalidInputError, match="inside the 200×120 photo"):
        square_crop_transform((200, 120), (150, 10, 64), 64)
