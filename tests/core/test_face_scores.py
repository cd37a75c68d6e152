"""Face detection leaves out face-like patterns far weaker than the real faces: the
bundled astronaut photo has one face (its mission patch is not a second one), and a
photo of two people still lists both."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.face.landmarks import WEAK_SCORE_FLOOR, detect_faces, score_cutoff


def test_the_cutoff_drops_only_scores_far_below_the_best():
    # The astronaut's face and patch (dlib's scores for them).
    assert 0.117 < score_cutoff([1.164, 0.117]) <= 1.164 * 0.25
    # Several real faces: all above a quarter of the best, so all kept.
    scores = [1.9, 1.2, 0.6, 0.5]
    assert all(score >= score_cutoff(scores) for score in scores)
    # A weak best face still keeps itself and its peers: the floor applies only beside a
    # much stronger detection.
    assert score_cutoff([0.2, 0.1]) == pytest.approx(0.05)
    # Above the floor, a detection stays however strong the best one is.
    assert score_cutoff([4.0, WEAK_SCORE_FLOOR]) == WEAK_SCORE_FLOOR
    assert score_cutoff([]) == 0.0


def test_the_astronaut_has_one_face():
    faces = detect_faces(skimage.data.astronaut())
    assert len(faces) == 1
    left, top = faces[0].rect[:2]
    assert (left, top) == pytest.approx((175, 76), abs=8)  # her face, not the patch (y≈380)
    assert faces[0].score > 1.0


def test_a_group_photo_keeps_every_real_face():
    astronaut = skimage.data.astronaut()
    small = np.asarray(Image.fromarray(astronaut).resize((320, 320)))
    group = np.zeros((512, 512 + 320, 3), np.uint8)
    group[:, :512] = astronaut
    group[96:416, 512:] = small
    faces = detect_faces(group)
    assert len(faces) == 2
    centres_x = sorted((face.rect[0] + face.rect[2]) / 2 for face in faces)
    assert centres_x[0] < 512 < centres_x[1]  # one face in each copy
    assert all(face.rect[1] < 250 for face in faces)  # faces, no patch lower down
