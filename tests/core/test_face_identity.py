from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import skimage.data

from core.face import align_face, face_descriptor, identity_distance
from core.face.identity import RECOGNITION_MODEL, SAME_PERSON_DISTANCE

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


def test_descriptor_is_128_d(astronaut: np.ndarray):
    descriptor = face_descriptor(astronaut)
    assert descriptor is not None
    assert descriptor.shape == (128,) and np.isfinite(descriptor).all()


def test_same_face_is_close(astronaut: np.ndarray):
    landmarks = np.array(json.loads((DATA / "astronaut_landmarks.json").read_text())["landmarks"])
    aligned, _ = align_face(astronaut, landmarks, output_size=512)

    assert identity_distance(astronaut, astronaut) == pytest.approx(0.0, abs=1e-9)
    distance = identity_distance(astronaut, aligned)
    assert distance is not None and distance < SAME_PERSON_DISTANCE / 2


def test_no_face_gives_none(astronaut: np.ndarray):
    flat = np.full((200, 200, 3), 128, dtype=np.uint8)
    assert face_descriptor(flat) is None
    assert identity_distance(astronaut, flat) is None
    assert identity_distance(flat, astronaut) is None


def test_model_loads_once_across_threads(astronaut: np.ndarray):
    models = []
    threads = [
        threading.Thread(target=lambda: models.append(RECOGNITION_MODEL.call(lambda m: m)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(models) == 4 and all(model is models[0] for model in models)
