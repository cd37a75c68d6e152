from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from core.errors import InvalidInputError
from core.face import (
    AlignTransform,
    align_face,
    apply_transform,
    centre_crop_transform,
    choose_face,
    detect_faces,
    feathered_weights,
    paste_back,
)
from core.imageio import load_photo, save_image

DATA = Path(__file__).resolve().parents[1] / "data"
FACE_RECT = (slice(76, 167), slice(175, 266))  # the fixture's dlib rectangle (rows, columns)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


@pytest.fixture(scope="module")
def landmarks() -> np.ndarray:
    record = json.loads((DATA / "astronaut_landmarks.json").read_text())
    return np.array(record["landmarks"], dtype=np.float64)


@pytest.fixture(scope="module")
def aligned_1024(astronaut: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, AlignTransform]:
    return align_face(astronaut, landmarks, output_size=1024)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def disc(size: int, centre: tuple[float, float], radius: float) -> np.ndarray:
    ys, xs = np.mgrid[:size, :size]
    return ((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2 <= radius**2).astype(np.float32)


def photo_distance_from(
    transform: AlignTransform, size: int, centre: tuple[float, float], shape: tuple[int, int]
) -> np.ndarray:
    """Distance of every photo pixel from an aligned-space point, in aligned pixels."""
    ys, xs = np.mgrid[: shape[0], : shape[1]]
    to_aligned = transform.photo_to_aligned(size)
    us = to_aligned[0, 0] * xs + to_aligned[0, 1] * ys + to_aligned[0, 2]
    vs = to_aligned[1, 0] * xs + to_aligned[1, 1] * ys + to_aligned[1, 2]
    return np.hypot(us - centre[0], vs - centre[1])


def test_unedited_face_pasted_back_reproduces_the_photo(
    astronaut: np.ndarray, aligned_1024: tuple[np.ndarray, AlignTransform]
):
    aligned, transform = aligned_1024
    before = astronaut.copy()

    result = paste_back(astronaut, aligned, transform, np.ones((1024, 1024), np.float32))

    assert result.shape == astronaut.shape and result.dtype == np.uint8
    assert psnr(result[FACE_RECT], astronaut[FACE_RECT]) >= 40
    np.testing.assert_array_equal(astronaut, before)  # the input is never modified


def test_pixels_outside_the_footprint_are_bit_identical(
    astronaut: np.ndarray, aligned_1024: tuple[np.ndarray, AlignTransform]
):
    aligned, transform = aligned_1024
    centre, radius, feather = (512.0, 600.0), 150.0, 32.0
    mask = disc(1024, centre, radius)
    edited = aligned.copy()
    edited[mask > 0] = np.clip(edited[mask > 0].astype(int) + 40, 0, 255).astype(np.uint8)

    result = paste_back(astronaut, edited, transform, mask, feather_px=feather)

    distance = photo_distance_from(transform, 1024, centre, astronaut.shape[:2])
    # The footprint ends at radius + feather; bilinear sampling adds at most one aligned pixel
    # diagonal and the photo grid another photo pixel (≈ 6 aligned pixels here).
    outside = distance > radius + feather + 8
    np.testing.assert_array_equal(result[outside], astronaut[outside])
    inner = distance < radius * 0.8
    change = result[inner].astype(int) - astronaut[inner].astype(int)
    assert change.mean() > 30  # the edit arrived (+40, less where it clipped at 255)
    assert (result != astronaut).any(axis=2).sum() < (distance < radius + feather + 8).sum()


def test_seam_colour_is_matched_but_the_edit_is_kept(
    astronaut: np.ndarray, aligned_1024: tuple[np.ndarray, AlignTransform]
):
    aligned, transform = aligned_1024
    centre, radius = (512.0, 600.0), 150.0
    mask = disc(1024, centre, radius)
    # A reconstruction 20 levels too dark everywhere, plus a +30 edit inside the mask.
    reconstruction = np.clip(aligned.astype(int) - 20, 0, 255)
    edited = reconstruction.copy()
    edited[mask > 0] += 30
    edited = np.clip(edited, 0, 255).astype(np.uint8)

    matched = paste_back(astronaut, edited, transform, mask)
    unmatched = paste_back(astronaut, edited, transform, mask, colour_match=False)

    distance = photo_distance_from(transform, 1024, centre, astronaut.shape[:2])
    inner = distance < radius * 0.8
    seam = (distance > radius + 2) & (distance < radius + 20)
    change_inside = matched[inner].astype(float).mean() - astronaut[inner].astype(float).mean()
    assert 20 < change_inside < 32
    photo_seam_colour = astronaut[seam].astype(float).mean(axis=0)
    assert np.abs(matched[seam].astype(float).mean(axis=0) - photo_seam_colour).max() < 3
    assert np.abs(unmatched[seam].astype(float).mean(axis=0) - photo_seam_colour).max() > 6


def test_empty_mask_changes_nothing(
    astronaut: np.ndarray, aligned_1024: tuple[np.ndarray, AlignTransform]
):
    aligned, transform = aligned_1024
    result = paste_back(astronaut, 255 - aligned, transform, np.zeros((1024, 1024)))
    np.testing.assert_array_equal(result, astronaut)


def test_mask_of_another_size_is_resized(
    astronaut: np.ndarray, aligned_1024: tuple[np.ndarray, AlignTransform]
):
    aligned, transform = aligned_1024
    small_mask = disc(256, (128.0, 150.0), 37.5)
    big_mask = disc(1024, (512.0, 600.0), 150.0)
    a = paste_back(astronaut, 255 - aligned, transform, small_mask)
    b = paste_back(astronaut, 255 - aligned, transform, big_mask)
    assert psnr(a, b) > 30


def test_paste_back_at_another_aligned_size(
    astronaut: np.ndarray, aligned_1024: tuple[np.ndarray, AlignTransform]
):
    _, transform = aligned_1024
    aligned_256 = apply_transform(
        astronaut, AlignTransform(**{**transform.__dict__, "output_size": 256})
    )
    result = paste_back(astronaut, aligned_256, transform, np.ones((256, 256)))
    assert psnr(result[FACE_RECT], astronaut[FACE_RECT]) >= 35


def test_face_at_the_photo_edge_with_padding(astronaut: np.ndarray, landmarks: np.ndarray):
    photo = np.repeat(np.repeat(astronaut, 6, axis=0), 6, axis=1)[240:, 720:]
    aligned, transform = align_face(photo, landmarks * 6 + 2.5 - np.array([720, 240]), 256)
    assert min(transform.padding) > 0  # part of the aligned square is outside the photo

    result = paste_back(photo, aligned, transform, np.ones((256, 256)))

    assert result.shape == photo.shape
    face = (slice(76 * 6 - 240, 167 * 6 - 240), slice(175 * 6 - 720, 266 * 6 - 720))
    assert psnr(result[face], photo[face]) >= 30  # 4 photo pixels per aligned pixel
    np.testing.assert_array_equal(result[1500:], photo[1500:])


def test_centre_crop_paste_back(astronaut: np.ndarray):
    photo = np.ascontiguousarray(astronaut[:, 56:456])
    transform = centre_crop_transform((400, 512), 400)
    cropped = apply_transform(photo, transform)

    result = paste_back(photo, 255 - cropped, transform, np.ones((400, 400)), colour_match=False)

    np.testing.assert_array_equal(result[:56], photo[:56])
    np.testing.assert_array_equal(result[456:], photo[456:])
    middle = (slice(56 + 40, 456 - 40), slice(40, 360))  # beyond the border fade
    np.testing.assert_array_equal(result[middle], 255 - photo[middle])


def test_feathered_weights(aligned_1024: tuple[np.ndarray, AlignTransform]):
    mask = disc(256, (128.0, 128.0), 50.0)
    weights = feathered_weights(mask, 10.0)
    assert weights.dtype == np.float32
    assert weights[128, 128] == 1.0 and weights[128, 128 + 49] == 1.0  # inside kept whole
    assert 0.0 < weights[128, 128 + 55] < 1.0  # outward feather
    assert weights[128, 128 + 62] == 0.0
    full = feathered_weights(np.ones((256, 256), np.float32), 10.0)
    assert full[0].max() == 0.0 and full[:, -1].max() == 0.0 and full[128, 128] == 1.0


def test_bad_inputs(astronaut: np.ndarray, aligned_1024: tuple[np.ndarray, AlignTransform]):
    aligned, transform = aligned_1024
    mask = np.ones((1024, 1024))
    with pytest.raises(InvalidInputError, match="512×512"):
        paste_back(astronaut[:400], aligned, transform, mask)
    with pytest.raises(InvalidInputError, match="square"):
        paste_back(astronaut, aligned[:500], transform, mask)
    with pytest.raises(InvalidInputError, match="mask"):
        paste_back(astronaut, aligned, transform, np.ones((10, 20)))
    with pytest.raises(InvalidInputError, match="NaN"):
        paste_back(astronaut, aligned, transform, np.full((1024, 1024), np.nan))


def test_photo_file_to_edited_file(tmp_path: Path, astronaut: np.ndarray):
    source = tmp_path / "portrait.png"
    save_image(source, astronaut)
    photo = load_photo(source)  # read-only pixels all the way through
    face = choose_face(detect_faces(photo.rgb), photo_name=str(source))
    aligned, transform = align_face(photo.rgb, face.landmarks, output_size=512)
    mask = disc(512, (256.0, 300.0), 60.0)
    edited = aligned.copy()
    edited[mask > 0] //= 2

    result = paste_back(photo.rgb, edited, transform, mask)
    out = save_image(tmp_path / "portrait_edited.png", result, source_path=source)

    assert load_photo(out).size == photo.size
    assert (result != astronaut).any()
    np.testing.assert_array_equal(load_photo(source).rgb, astronaut)
