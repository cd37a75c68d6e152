"""Hair sliders: `hair_volume` and `hair_length` directions, fitted the supervised way.

Random faces are generated, their hair segmented (Segment Anything, prompted by the
landmarks as for the automatic chunks) and measured against the face's own frame:

- hair_volume: hair area above the forehead line (the line across the face through the
  forehead point, perpendicular to the chin-to-brows axis), over the face height squared;
- hair_length: hair area below the eye line, over the face height squared (hair that
  falls past the ears and onto the shoulders).

Then `core.edit.supervised` fits a ridge regression in W per measurement, exactly as for
yaw or smile; the directions are stored with the library's supervised directions, so
`semedit edit --chunk hair --direction hair_volume=1` works on any hair chunk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from core.edit.directions import Direction
from core.edit.library import DirectionLibrary
from core.edit.supervised import Labeller, SupervisedDirectionJob
from core.errors import InvalidInputError, JobCancelled
from core.jobs import JobControl
from core.segment.face_chunks import FaceLayout, PromptSegmenter, face_chunks

POSE_LABELS = ("yaw", "pitch")  # the supervised directions pose matching uses

HAIR_LABELS: dict[str, str] = {
    "hair_volume": "hair area above the forehead line over the face height squared: grows "
                   "with fuller, higher hair",
    "hair_length": "hair area below the eye line over the face height squared: grows as the "
                   "hair gets longer",
}
HAIR_DIRECTIONS: tuple[str, ...] = tuple(HAIR_LABELS)
HAIR_SAMPLES = 400
_FOREHEAD_FRACTION = 0.2  # FaceLayout.forehead: 0.2 face heights above the brows

HairSegmenter = Callable[[np.ndarray, np.ndarray], np.ndarray | None]
"""(uint8 image, landmarks [68, 2]) -> soft hair mask [H, W], or None without hair."""
LandmarkFinder = Callable[[np.ndarray], np.ndarray | None]


def hair_measurements(hair_mask: np.ndarray, landmarks: np.ndarray) -> dict[str, float]:
    """`HAIR_LABELS` of one face from its hair mask [H, W] and 68 landmarks."""
    mask = np.asarray(hair_mask, np.float64)
    points = np.asarray(landmarks, np.float64)
    if mask.ndim != 2 or points.shape != (68, 2) or not np.isfinite(points).all():
        raise InvalidInputError("Hair measurements need a 2-D hair mask and 68 landmarks.")
    layout = FaceLayout(points, int(max(mask.shape)))
    height = layout.face_height
    if height <= 1e-6:
        raise InvalidInputError("The landmarks are degenerate: the face has no height.")
    up = layout.up
    rows, cols = np.mgrid[:mask.shape[0], :mask.shape[1]]
    xy = np.stack([cols, rows], axis=-1).astype(np.float64)
    forehead = layout.brow_centre + up * _FOREHEAD_FRACTION * height
    eye_line = 0.5 * (points[36:42].mean(0) + points[42:48].mean(0))
    above_forehead = (xy - forehead) @ up > 0
    below_eyes = (xy - eye_line) @ up < 0
    area = height * height
    return {"hair_volume": float((mask * above_forehead).sum() / area),
            "hair_length": float((mask * below_eyes).sum() / area)}


def sam_hair_segmenter(segmenter: PromptSegmenter) -> HairSegmenter:
    """The hair chunk of the automatic face chunks (None when SAM's answer fails its checks)."""

    def segment(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
        return face_chunks(rgb, landmarks, segmenter).masks.get("hair")

    return segment


def dlib_landmarks(rgb: np.ndarray) -> np.ndarray | None:
    from core.edit.supervised import DETECTION_SIDE
    from core.face.landmarks import detect_faces  # dlib loads only when labelling

    faces = detect_faces(rgb, max_side=DETECTION_SIDE)
    return faces[0].landmarks if faces else None


def hair_labeller(segment_hair: HairSegmenter,
                  find_landmarks: LandmarkFinder = dlib_landmarks) -> Labeller:
    """A labeller for `SupervisedDirectionJob`: the hair measurements of a generated face,
    or None when it has no face. No hair found is a real label: volume and length 0."""

    def label(rgb: np.ndarray) -> dict[str, float] | None:
        landmarks = find_landmarks(rgb)
        if landmarks is None:
            return None
        mask = segment_hair(rgb, landmarks)
        if mask is None:
            mask = np.zeros(rgb.shape[:2], np.float32)
        try:
            return hair_measurements(mask, landmarks)
        except InvalidInputError:
            return None

    return label


def hair_direction_job(library: DirectionLibrary, segment_hair: HairSegmenter, *,
                       samples: int = HAIR_SAMPLES, seed: int = 0,
                       find_landmarks: LandmarkFinder = dlib_landmarks,
                       **settings) -> SupervisedDirectionJob:
    """A job fitting `hair_volume` and `hair_length` on the library's generator; give its
    result to `store_hair_directions`."""
    return SupervisedDirectionJob(library.generator, labels=HAIR_DIRECTIONS, samples=samples,
                                  seed=seed, labeller=hair_labeller(segment_hair,
                                                                   find_landmarks), **settings)


def described(directions: Sequence[Direction]) -> list[Direction]:
    """The fitted directions with their measurement spelled out in the description."""
    out = []
    for d in directions:
        meaning = HAIR_LABELS.get(d.name)
        if meaning and d.description.endswith(f": {d.name}"):
            d = dataclasses.replace(d, description=d.description[: -len(d.name)] + meaning)
        out.append(d)
    return out


def store_hair_directions(library: DirectionLibrary, directions: Sequence[Direction]
                          ) -> list[Direction]:
    """Keep the hair directions with the library's supervised ones (replacing older hair
    directions, keeping yaw, pitch and the others)."""
    directions = described(directions)
    names = {d.name for d in directions}
    kept = [d for d in library.supervised() if d.name not in names]
    library.store_supervised(kept + directions)
    return directions


def hair_directions(library: DirectionLibrary) -> dict[str, Direction]:
    """The fitted hair directions of the library's generator ({} before fitting)."""
    return {d.name: d for d in library.supervised() if d.name in HAIR_LABELS}


def pose_directions_for(library: DirectionLibrary, a, b, *, notes: list[str] | None = None,
                        control: JobControl | None = None) -> Iterator[object]:
    """The learned yaw and pitch directions when the heads of `a` and `b` (PreparedPhotos)
    are turned differently; {} when they are not (or a pose cannot be measured).

    A generator: fitting the directions the first time (once per generator, minutes,
    cached with the other supervised ones) yields the fitting job's progress; the mapping
    is its return value. Sentences for the user are appended to `notes`. A stop through
    `control` raises `JobCancelled` and keeps no partial fit.
    """
    from core.hair.pose import PoseMatchSettings, landmark_pose

    notes = notes if notes is not None else []
    pose_a, pose_b = landmark_pose(a.aligned), landmark_pose(b.aligned)
    if pose_a is None or pose_b is None:
        return {}  # the transfer job says why the pose is not matched
    tolerance = PoseMatchSettings()
    if (abs(pose_a.yaw - pose_b.yaw) <= tolerance.yaw_tolerance
            and abs(pose_a.pitch - pose_b.pitch) <= tolerance.pitch_tolerance):
        return {}
    found = {d.name: d for d in library.supervised() if d.name in POSE_LABELS}
    if "yaw" in found:
        return found
    notes.append("The learned head-pose directions were fitted for this generator (once; "
                 "they are kept for next time).")
    job = library.supervised_job(control=control)
    try:
        yield from job.run()
        if job.done < job.total:
            raise JobCancelled("Fitting the head-pose directions was cancelled.")
        fitted = job.result()
    except InvalidInputError as error:
        notes.append(f"The hair keeps its own pose: {error}")
        return {}
    names = {d.name for d in fitted}
    library.store_supervised([d for d in library.supervised() if d.name not in names] + fitted)
    return {d.name: d for d in fitted if d.name in POSE_LABELS}
