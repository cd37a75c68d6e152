"""Fill takes the clicked region of similar photo colour (a GIMP / Photoshop bucket), or
the area enclosed by the chunk's own outline; never a locked chunk's pixels; one undo
step."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.errors import InvalidInputError
from core.project import Document
from core.segment.bucket import DEFAULT_TOLERANCE, bucket_fill, colour_region
from core.segment.chunk_set import ChunkSet

R = 64
RED, BLUE = (200, 40, 40), (40, 40, 200)


def two_colours() -> np.ndarray:
    """Red left of column 30, blue from there on."""
    image = np.empty((R, R, 3), np.uint8)
    image[:, :30] = RED
    image[:, 30:] = BLUE
    return image


def chunk_set(image: np.ndarray, chunks: int = 1) -> ChunkSet:
    cs = ChunkSet(Document(aligned=image))
    for _ in range(chunks):
        cs.add()
    cs.doc.history.clear()
    return cs


def lab_distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    lab = cv2.cvtColor(np.array([[a, b]], np.uint8), cv2.COLOR_RGB2LAB).astype(float)[0]
    return float(np.linalg.norm(lab[0] - lab[1]))


def test_only_the_clicked_colour_region_is_filled():
    cs = chunk_set(two_colours())
    result = cs.fill(0, 10, 20)
    mask = cs.chunks[0].mask
    assert result.kind == "colour" and result.pixels == R * 30
    assert (mask[:, :30] == 1.0).all() and (mask[:, 30:] == 0.0).all()
    assert cs.doc.history.labels == ["Fill"]
    cs.doc.history.undo()
    assert not mask.any()
    cs.doc.history.redo()
    assert (mask[:, :30] == 1.0).all() and (mask[:, 30:] == 0.0).all()


def test_a_separate_patch_of_the_same_colour_is_not_filled():
    image = two_colours()
    image[40:50, 45:55] = RED  # red again, but inside the blue: not connected
    region = colour_region(image, 5, 5)
    assert region[:, :30].all() and not region[:, 30:].any()


def test_tolerance_widens_the_region():
    image = np.empty((R, R, 3), np.uint8)
    near, far = (100, 100, 100), (130, 100, 100)
    image[:, :20], image[:, 20:40], image[:, 40:] = near, far, BLUE
    step = lab_distance(near, far)
    assert 5 < step < 40  # the test means something only if the step is moderate
    tight = colour_region(image, 5, 5, tolerance=step - 3)
    wide = colour_region(image, 5, 5, tolerance=step + 3)
    assert tight[:, :20].all() and not tight[:, 20:].any()
    assert wide[:, :40].all() and not wide[:, 40:].any()
    assert colour_region(image, 5, 5, tolerance=0).sum() == R * 20  # exact colour only


def test_noise_within_the_tolerance_is_filled_across():
    rng = np.random.default_rng(3)
    image = two_colours().astype(np.int16)
    image += rng.integers(-6, 7, image.shape, dtype=np.int16)
    image = np.clip(image, 0, 255).astype(np.uint8)
    region = colour_region(image, 10, 10, tolerance=DEFAULT_TOLERANCE)
    assert region[:, :30].mean() > 0.99 and not region[:, 30:].any()


def test_a_locked_chunk_is_untouched_and_stops_the_fill():
    cs = chunk_set(two_colours(), chunks=2)
    band = np.zeros((R, R), np.float32)
    band[:, 10:14] = 1.0  # a locked stripe across the red region
    cs.chunks[1].mask[:] = band
    cs.set_locked(1, True)
    cs.doc.history.clear()
    cs.fill(0, 3, 20)
    mask = cs.chunks[0].mask
    assert (mask[:, :10] == 1.0).all()
    assert (mask[:, 10:] == 0.0).all()  # not the stripe, and not the red beyond it
    np.testing.assert_array_equal(cs.chunks[1].mask, band)
    with pytest.raises(InvalidInputError, match="locked chunk 'Chunk 2'"):
        cs.fill(0, 11, 20)  # on the locked stripe itself


def test_an_unlocked_chunk_does_not_stop_the_fill():
    cs = chunk_set(two_colours(), chunks=2)
    cs.chunks[1].mask[:, 10:14] = 1.0
    cs.fill(0, 3, 20)
    assert (cs.chunks[0].mask[:, :30] == 1.0).all()


def test_inside_the_chunks_own_outline_the_enclosed_area_is_filled():
    image = two_colours()  # the ring spans both colours: the outline decides, not colour
    cs = chunk_set(image)
    ring = np.zeros((R, R), np.float32)
    ring[10:50, 10:50] = 1.0
    ring[12:48, 12:48] = 0.0
    cs.chunks[0].mask[:] = ring
    result = cs.fill(0, 20, 20)
    mask = cs.chunks[0].mask
    assert result.kind == "enclosed" and result.pixels == 36 * 36
    assert (mask[10:50, 10:50] == 1.0).all() and mask[5, 5] == 0 and mask[55, 55] == 0
    # Outside the ring the photo decides again: the red left of it, not the blue.
    cs.fill(0, 5, 5)
    assert (mask[:, :10] == 1.0).all() and mask[55, 55] == 0


def test_an_outline_open_to_the_border_fills_by_colour():
    image = two_colours()
    mask = np.zeros((R, R), np.float32)
    mask[10, :] = 1.0  # a line, not a closed outline
    result = bucket_fill(mask, image, 5, 30)
    assert result.kind == "colour"
    assert (result.mask[:, :30] == 1.0).all()
    assert (result.mask[:, 30:] == mask[:, 30:]).all()  # the blue keeps only the line


def test_fill_only_adds_and_keeps_soft_values_elsewhere():
    cs = chunk_set(two_colours())
    cs.chunks[0].mask[:, 40:] = 0.3
    cs.fill(0, 5, 5)
    assert (cs.chunks[0].mask[:, 40:] == np.float32(0.3)).all()


def test_fill_into_a_new_chunk_is_one_step():
    cs = chunk_set(two_colours(), chunks=0)
    chunk, result = cs.fill_new_chunk(40, 10)
    assert [c.name for c in cs.chunks] == ["Chunk 1"] and cs.chunks[0] is chunk
    assert (chunk.mask[:, 30:] == 1.0).all() and not chunk.mask[:, :30].any()
    assert result.pixels == R * (R - 30)
    assert cs.doc.history.labels == ["Fill new Chunk 1"]
    cs.doc.history.undo()
    assert cs.chunks == []
    cs.doc.history.redo()
    assert cs.chunks == [chunk] and (chunk.mask[:, 30:] == 1.0).all()
    with pytest.raises(InvalidInputError, match="outside"):
        chunk_set(two_colours(), chunks=0).fill_new_chunk(100, 5)


@pytest.mark.parametrize(("call", "match"), [
    (lambda image: colour_region(image, 5, 5, tolerance=-1), "between 0 and 255"),
    (lambda image: colour_region(image, 5, 5, tolerance=float("nan")), "between 0 and 255"),
    (lambda image: colour_region(image, 5, 5, tolerance="a lot"), "must be a number"),
    (lambda image: colour_region(image, -2, 5), "outside"),
    (lambda image: colour_region(image[..., 0], 5, 5), "RGB uint8"),
    (lambda image: bucket_fill(np.zeros((8, 8)), image, 5, 5), "chunk is 8x8"),
])
def test_bad_input_is_a_sentence(call, match):
    with pytest.raises(InvalidInputError, match=match):
        call(two_colours())
