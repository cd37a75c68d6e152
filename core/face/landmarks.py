"""Face detection and 68-point landmarks with dlib.

Detection uses dlib's HOG frontal face detector with one upsampling (`detector.run(img, 1)`),
the call FFHQ's fixtures were made with. Photos whose long side exceeds
`DETECTION_MAX_SIDE` are detected on an area-downscaled copy (a 12-MP photo would otherwise
take seconds); the rectangles are scaled back and the 68-point predictor then runs on the
full-resolution photo, so the landmarks keep full precision.

The model files come from the `face-recognition-models` package, located without importing
it (its `__init__` imports `pkg_resources`, which recent setuptools no longer ships).
Models load once, on first use, and calls into them are serialised with a lock.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.errors import InvalidInputError, ModelMissingError, NoFaceError
from core.imageio import require_rgb

DETECTION_MAX_SIDE = 1600
DETECTION_UPSAMPLE = 1
# A detection scoring below both of these is dropped as a face-like pattern: the mission
# patch on the bundled astronaut scores 0.117 beside 1.164 for her face. Real faces in
# group photos score within a few tenths of each other, far above a quarter of the best.
WEAK_SCORE_SHARE = 0.25  # of the best detection's score
WEAK_SCORE_FLOOR = 0.3  # dlib HOG score (margin of its SVM) kept whatever the best one is
SHAPE_PREDICTOR_FILE = "shape_predictor_68_face_landmarks.dat"


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face, in photo pixel coordinates.

    `rect` is dlib's (left, top, right, bottom), right/bottom inclusive; `landmarks` are
    the 68 iBUG points as float [68, 2] (x, y).
    """

    rect: tuple[int, int, int, int]
    score: float
    landmarks: np.ndarray

    @property
    def area(self) -> int:
        left, top, right, bottom = self.rect
        return (right - left + 1) * (bottom - top + 1)


def dlib_model_path(filename: str) -> Path:
    """Path of a model file shipped by the face-recognition-models package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissingError(
            "The face models are not installed: install the face-recognition-models package."
        )
    path = Path(spec.submodule_search_locations[0]) / "models" / filename
    if not path.is_file():
        raise ModelMissingError(
            f"The face model {path} is missing: reinstall the face-recognition-models package."
        )
    return path


class LazyModel:
    """A model loaded on first use, shared by all threads; `call` runs under its lock."""

    def __init__(self, load: Callable[[], Any]):
        self._load = load
        self._model: Any = None
        self._lock = threading.Lock()

    def call(self, use: Callable[[Any], Any]) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return use(self._model)


def _load_detector() -> Any:
    import dlib

    return dlib.get_frontal_face_detector()


def _load_shape_predictor() -> Any:
    import dlib

    return dlib.shape_predictor(str(dlib_model_path(SHAPE_PREDICTOR_FILE)))


DETECTOR = LazyModel(_load_detector)
SHAPE_PREDICTOR = LazyModel(_load_shape_predictor)


def detect_faces(rgb: np.ndarray, *, max_side: int = DETECTION_MAX_SIDE) -> list[Face]:
    """All faces in a uint8 RGB photo with their 68 landmarks, largest first; detections
    far weaker than the best one are left out (`score_cutoff`)."""
    image = _contiguous_rgb(rgb)
    small, scale = _downscaled(image, max_side)
    rects, scores, _ = DETECTOR.call(lambda detector: detector.run(small, DETECTION_UPSAMPLE))
    cutoff = score_cutoff([float(score) for score in scores])
    faces = []
    for rect, score in zip(rects, scores, strict=True):
        if score < cutoff:
            continue
        full_rect = _scale_rect(rect, scale)
        faces.append(Face(full_rect, float(score), landmarks_for(image, full_rect)))
    faces.sort(key=lambda face: (-face.area, -face.score))
    return faces


def score_cutoff(scores: Sequence[float]) -> float:
    """The lowest detection score offered as a face among these: `WEAK_SCORE_FLOOR`, or
    `WEAK_SCORE_SHARE` of the best score when that is lower (a photo of faces that are
    all hard to see still shows them)."""
    return min(WEAK_SCORE_FLOOR, WEAK_SCORE_SHARE * max(scores, default=0.0))


def landmarks_for(rgb: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """The 68 landmarks of the face in `rect` (left, top, right, bottom), float [68, 2]."""
    import dlib

    image = _contiguous_rgb(rgb)
    box = dlib.rectangle(*(int(v) for v in rect))
    shape = SHAPE_PREDICTOR.call(lambda predictor: predictor(image, box))
    return np.array([(point.x, point.y) for point in shape.parts()], dtype=np.float64)


def choose_face(
    faces: Sequence[Face], index: int | None = None, *, photo_name: str = "the photo"
) -> Face:
    """The face to edit: the largest, or faces[index] when an index is given."""
    if not faces:
        raise NoFaceError(
            f"No face was found in {photo_name}. Use the --no-align option to edit a centred "
            "square crop of the photo instead."
        )
    if index is None:
        return faces[0]
    if not 0 <= index < len(faces):
        count = "1 face" if len(faces) == 1 else f"{len(faces)} faces"
        raise InvalidInputError(
            f"Face number {index} does not exist: {photo_name} has {count}, numbered 0 to "
            f"{len(faces) - 1} from the largest."
        )
    return faces[index]


def _contiguous_rgb(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(require_rgb(rgb))


def _downscaled(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """A copy with the long side at most max_side, and the factor back to full size."""
    long_side = max(rgb.shape[:2])
    if long_side <= max_side:
        return rgb, 1.0
    scale = long_side / max_side
    size = (max(round(rgb.shape[1] / scale), 1), max(round(rgb.shape[0] / scale), 1))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return small, rgb.shape[1] / size[0]


def _scale_rect(rect: Any, scale: float) -> tuple[int, int, int, int]:
    if scale == 1.0:
        return (rect.left(), rect.top(), rect.right(), rect.bottom())
    # Edges, not pixel indices, scale: right/bottom are inclusive, hence the ±1.
    left = round(rect.left() * scale)
    top = round(rect.top() * scale)
    right = round((rect.right() + 1) * scale) - 1
    bottom = round((rect.bottom() + 1) * scale) - 1
    return (left, top, right, bottom)
