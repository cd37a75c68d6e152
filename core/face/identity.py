"""Face identity: dlib's 128-d face descriptor and the distance between two faces.

dlib's ResNet model (`dlib_face_recognition_resnet_model_v1.dat`) maps a face to a 128-d
vector; faces of the same person are usually closer than 0.6 (Euclidean). Editing uses it to
warn when an edit changes who someone looks like.
"""

from __future__ import annotations

import numpy as np

from core.face.landmarks import LazyModel, detect_faces, dlib_model_path

RECOGNITION_MODEL_FILE = "dlib_face_recognition_resnet_model_v1.dat"
SAME_PERSON_DISTANCE = 0.6


def _load_recognition_model() -> object:
    import dlib

    return dlib.face_recognition_model_v1(str(dlib_model_path(RECOGNITION_MODEL_FILE)))


RECOGNITION_MODEL = LazyModel(_load_recognition_model)


def face_descriptor(rgb: np.ndarray) -> np.ndarray | None:
    """The 128-d descriptor (float64) of the largest face in the photo, or None without one."""
    faces = detect_faces(rgb)
    if not faces:
        return None
    return descriptor_for(rgb, faces[0].rect, faces[0].landmarks)


def descriptor_for(
    rgb: np.ndarray, rect: tuple[int, int, int, int], landmarks: np.ndarray
) -> np.ndarray:
    """The descriptor of a face already located by `detect_faces` (rect and 68 landmarks)."""
    import dlib

    image = np.ascontiguousarray(rgb)
    points = dlib.points([dlib.point(round(x), round(y)) for x, y in landmarks])
    shape = dlib.full_object_detection(dlib.rectangle(*(int(v) for v in rect)), points)
    vector = RECOGNITION_MODEL.call(lambda model: model.compute_face_descriptor(image, shape))
    return np.array(vector, dtype=np.float64)


def identity_distance(rgb_a: np.ndarray, rgb_b: np.ndarray) -> float | None:
    """Euclidean distance between the largest faces' descriptors; None if either has no face."""
    descriptor_a = face_descriptor(rgb_a)
    if descriptor_a is None:
        return None
    descriptor_b = face_descriptor(rgb_b)
    if descriptor_b is None:
        return None
    return float(np.linalg.norm(descriptor_a - descriptor_b))
