"""Face measurements from the 68 iBUG landmarks, used to label samples for supervised directions.

Everything is a ratio of distances measured in the face's own frame (x along the line
through the eye centres, y perpendicular to it, pointing to the chin), so the values do not
depend on the image size, on where the face is, or on a head roll. Landmark numbers are
dlib's: jaw 0–16 (0 on the image's left), brows 17–26, nose 27–35 (30 = tip), eyes 36–41
(image left) and 42–47, outer lips 48–59 (48 and 54 = corners), inner lips 60–67.
"""

from __future__ import annotations

import numpy as np

from core.errors import InvalidInputError

LABELS: dict[str, str] = {
    "yaw": "head turn: the nose tip's offset from the jaw's middle over half the jaw width; "
           "positive when the face turns towards the image's right (the person's left)",
    "pitch": "head tilt: the nose tip's height above the chin as a fraction of the eye-line-to-"
             "chin height; grows as the face tilts up",
    "mouth_open": "the mean gap between the inner lips over the mouth width (0 when closed)",
    "eyes_open": "eye aspect ratio (lid gap over eye width), averaged over both eyes",
    "face_width": "jaw width (landmarks 0 to 16) over face height (brows' middle to chin)",
}

_JAW_LEFT, _JAW_RIGHT, _CHIN, _NOSE_TIP = 0, 16, 8, 30
_BROWS = slice(17, 27)
_EYES = (slice(36, 42), slice(42, 48))
_MOUTH_CORNERS = (48, 54)
_INNER_LIP_PAIRS = ((61, 67), (62, 66), (63, 65))  # upper inner point, the lower one below it


def face_measurements(landmarks: np.ndarray) -> dict[str, float]:
    """The `LABELS` measurements of one face from its landmarks [68, 2] (x, y pixels)."""
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (68, 2) or not np.isfinite(points).all():
        raise InvalidInputError("Face measurements need 68 finite (x, y) landmarks, not an "
                                f"array of shape {list(points.shape)}.")
    eye_centres = [points[eye].mean(axis=0) for eye in _EYES]
    across = eye_centres[1] - eye_centres[0]
    if np.linalg.norm(across) < 1e-6:
        raise InvalidInputError("The landmarks are degenerate: both eyes are at one point.")
    x_axis = across / np.linalg.norm(across)
    y_axis = np.array([-x_axis[1], x_axis[0]])  # image y points down, so this points chin-wards
    local = points @ np.stack([x_axis, y_axis], axis=1)  # [68, 2] in the face's frame

    jaw_left, jaw_right = local[_JAW_LEFT], local[_JAW_RIGHT]
    nose, chin = local[_NOSE_TIP], local[_CHIN]
    half_width = (jaw_right[0] - jaw_left[0]) / 2
    eye_line = (eye_centres[0] + eye_centres[1]) / 2 @ y_axis
    eye_to_chin = chin[1] - eye_line
    brow_to_chin = chin[1] - local[_BROWS, 1].mean()
    mouth_width = np.linalg.norm(points[_MOUTH_CORNERS[1]] - points[_MOUTH_CORNERS[0]])
    if min(half_width, eye_to_chin, brow_to_chin, mouth_width) <= 1e-6:
        raise InvalidInputError("The landmarks are degenerate: the face has no width or height.")

    lip_gap = np.mean([local[lower, 1] - local[upper, 1] for upper, lower in _INNER_LIP_PAIRS])
    return {
        "yaw": float((nose[0] - (jaw_left[0] + jaw_right[0]) / 2) / half_width),
        "pitch": float((chin[1] - nose[1]) / eye_to_chin),
        "mouth_open": float(max(lip_gap, 0.0) / mouth_width),
        "eyes_open": float(np.mean([_eye_aspect_ratio(points[eye]) for eye in _EYES])),
        "face_width": float(2 * half_width / brow_to_chin),
    }


def _eye_aspect_ratio(eye: np.ndarray) -> float:
    """Soukupová and Čech's EAR: (|p1−p5| + |p2−p4|) / (2·|p0−p3|)."""
    width = np.linalg.norm(eye[3] - eye[0])
    if width <= 1e-6:
        raise InvalidInputError("The landmarks are degenerate: an eye has no width.")
    lids = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
    return float(lids / (2 * width))
