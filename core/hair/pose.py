"""Head pose from landmarks, and matching the hair's pose to the identity photo's.

The pose is measured the way the supervised directions were labelled
(`core.edit.labels.face_measurements`): yaw is the nose tip's offset from the jaw's middle
over half the jaw width, pitch the nose tip's height above the chin over the eye-line-to-chin
height. Both are dimensionless, so they compare across photos and renders.

Pose matching moves the hair photo's hair code along the learned `yaw` direction (then
`pitch`) and measures the pose *on the render* after every move, until it equals the
identity photo's pose within a tolerance. The search on the measured value is a safeguarded
secant method: a first probe step, secant steps while the root is not bracketed, regula
falsi inside a bracket (bisection when the secant would land near an end), every step
bounded to ±`max_strength` slider units. A render without a detectable face is not a
measurement: the search steps back towards its best point, and when even the starting
render has no face it stops and says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from core.edit.directions import AppliedEdit, Direction, edited_styles
from core.edit.labels import face_measurements
from core.errors import InvalidInputError
from core.latents.codes import ChunkCode, CodeSpace
from core.stylegan import images_to_uint8

POSE_DETECTION_SIDE = 512  # renders are detected on a copy this size (dlib is slow at 1024)


@dataclass(frozen=True)
class Pose:
    """Head yaw and pitch (see the module docstring); `landmarks` [68, 2] when known."""

    yaw: float
    pitch: float
    landmarks: np.ndarray | None = field(default=None, compare=False, repr=False)

    def get(self, attribute: str) -> float:
        if attribute not in ("yaw", "pitch"):
            raise InvalidInputError(f"There is no pose attribute {attribute!r}.")
        return float(getattr(self, attribute))


PoseEstimator = Callable[[np.ndarray], Pose | None]
"""uint8 [H, W, 3] image -> its head pose, or None when no face can be measured."""


def landmark_pose(rgb: np.ndarray) -> Pose | None:
    """The pose of the largest face dlib finds in the image, or None without one."""
    from core.face.landmarks import detect_faces  # dlib loads only when a pose is needed

    faces = detect_faces(rgb, max_side=POSE_DETECTION_SIDE)
    if not faces:
        return None
    try:
        measured = face_measurements(faces[0].landmarks)
    except InvalidInputError:  # degenerate landmarks: no usable face
        return None
    return Pose(measured["yaw"], measured["pitch"], faces[0].landmarks.astype(np.float32))


# --- moving a code ---------------------------------------------------------------------


def moved_code(code_space: CodeSpace, code: ChunkCode, direction: Direction | None,
               strength: float) -> ChunkCode:
    """`code` moved `strength` slider units along `direction`, in the code's own space.

    A W code stays a W code only for a whole-network W direction; a layered direction
    makes it W+. Strength 0 (or no direction) returns an exact copy.
    """
    if direction is None or strength == 0:
        return code.detached()
    g = code_space.generator
    direction.check_fits(code_space)
    amount = float(strength) * direction.scale
    value = code.value.detach()
    if direction.space == "w" and code.space in ("w", "wplus"):
        if code.space == "w" and direction.layers is None and direction.vector.ndim == 1:
            step = torch.from_numpy(direction.vector * np.float32(amount)).to(value.device)
            return ChunkCode("w", value + step)
        ws = value.reshape(-1, g.w_dim).expand(g.num_ws, -1)
        delta = torch.from_numpy(direction.ws_delta(g.num_ws, amount)).to(value.device)
        return ChunkCode("wplus", (ws + delta).contiguous())
    # An S code, or a StyleSpace direction on a W/W+ code: the result lives in S.
    styles = edited_styles(code_space, code, [AppliedEdit(direction, float(strength))])
    return ChunkCode("s", code_space.flatten_styles(styles)[0].detach())


@torch.no_grad()
def render_code(code_space: CodeSpace, code: ChunkCode, *, force_fp32: bool = False
                ) -> np.ndarray:
    """One code's whole generator image as uint8 [R, R, 3]."""
    return images_to_uint8(code_space.render([code], force_fp32=force_fp32))[0]


# --- the 1-D search ---------------------------------------------------------------------


@dataclass
class PoseSearch:
    """One search along one direction for a measured value equal to `target`."""

    attribute: str
    target: float
    strength: float = 0.0  # the best strength found (slider units)
    start: float | None = None  # measured at strength 0
    measured: float | None = None  # measured at `strength`
    evaluations: int = 0
    converged: bool = False
    history: list[tuple[float, float | None]] = field(default_factory=list)
    note: str | None = None

    def to_json(self) -> dict:
        return {"attribute": self.attribute, "target": _rounded(self.target),
                "strength": _rounded(self.strength), "start": _rounded(self.start),
                "measured": _rounded(self.measured), "evaluations": self.evaluations,
                "converged": self.converged}


def search_strength(measure: Callable[[float], float | None], target: float, *,
                    attribute: str = "yaw", tolerance: float = 0.03,
                    max_strength: float = 3.0, max_evaluations: int = 8,
                    first_step: float = 1.0) -> PoseSearch:
    """The strength t in [−max_strength, max_strength] with measure(t) ≈ target.

    `measure` must grow with t (supervised directions point the way their label grows);
    it may return None where nothing can be measured. Stops within `tolerance`, after
    `max_evaluations` measurements, or at the bound; returns the best point seen.
    """
    if not (tolerance > 0 and max_strength > 0 and max_evaluations >= 1 and first_step > 0):
        raise InvalidInputError("The pose search needs a positive tolerance, bound, step "
                                "and number of evaluations.")
    search = PoseSearch(attribute, float(target))
    points: list[tuple[float, float]] = []  # (t, measured − target) of valid measurements

    def evaluate(t: float) -> float | None:
        value = measure(t)
        search.evaluations += 1
        ok = value is not None and math.isfinite(value)
        search.history.append((t, float(value) if ok else None))
        if not ok:
            return None
        points.append((t, float(value) - search.target))
        return float(value)

    start = evaluate(0.0)
    search.start = start
    if start is None:
        search.note = "no face could be measured on the render"
        return _finished(search, points, tolerance)
    t_next = float(np.clip(math.copysign(first_step, search.target - start),
                           -max_strength, max_strength))
    while search.evaluations < max_evaluations and not _within(points, tolerance):
        if any(abs(t - t_next) < 1e-6 for t, _ in search.history):
            break  # the next point was measured already: at a bound, or no progress
        value = evaluate(t_next)
        best_t = min(points, key=lambda p: abs(p[1]))[0]
        if value is None:
            t_next = 0.5 * (t_next + best_t)  # no face there: step back towards the best
            continue
        t_next = _next_strength(points, first_step, max_strength)
    return _finished(search, points, tolerance)


def _within(points: list[tuple[float, float]], tolerance: float) -> bool:
    return bool(points) and min(abs(g) for _, g in points) <= tolerance


def _next_strength(points: list[tuple[float, float]], first_step: float,
                   max_strength: float) -> float:
    """Secant / regula falsi on the valid points (t, g), bounded."""
    below = [p for p in points if p[1] < 0]
    above = [p for p in points if p[1] > 0]
    if below and above:  # bracketed: the tightest pair of points on either side
        (t0, g0), (t1, g1) = min(((b, a) for b in below for a in above),
                                 key=lambda pair: abs(pair[1][0] - pair[0][0]))
        t = t0 - g0 * (t1 - t0) / (g1 - g0)
        width = abs(t1 - t0)
        if not math.isfinite(t) or min(abs(t - t0), abs(t - t1)) < 0.1 * width:
            t = 0.5 * (t0 + t1)
        return float(np.clip(t, -max_strength, max_strength))
    (t0, g0), (t1, g1) = points[-2], points[-1]
    slope = (g1 - g0) / (t1 - t0) if t1 != t0 else 0.0
    if slope > 1e-6 and math.isfinite(slope):
        t = t1 - g1 / slope
        # A secant from two noisy points can overshoot wildly: at most 2 first steps at once.
        t = float(np.clip(t, t1 - 2 * first_step, t1 + 2 * first_step))
    else:  # the measurement did not grow: keep walking the way the target lies
        t = t1 + math.copysign(first_step, -g1)
    return float(np.clip(t, -max_strength, max_strength))


def _finished(search: PoseSearch, points: list[tuple[float, float]],
              tolerance: float) -> PoseSearch:
    if points:
        t, g = min(points, key=lambda p: (abs(p[1]), abs(p[0])))
        search.strength, search.measured = float(t), float(g) + search.target
        search.converged = abs(g) <= tolerance
    return search


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


# --- pose matching on a code ------------------------------------------------------------


@dataclass
class PoseMatch:
    """The outcome of matching a hair code's pose to a target pose."""

    code: ChunkCode  # the pose-corrected code
    target: Pose | None
    searches: list[PoseSearch]
    landmarks_before: np.ndarray | None  # on the render of the code as it was
    landmarks_after: np.ndarray | None  # on the render of the corrected code
    notes: list[str]

    @property
    def moved(self) -> bool:
        return any(s.strength != 0 for s in self.searches)

    def to_json(self) -> dict:
        return {"target": None if self.target is None else
                {"yaw": _rounded(self.target.yaw), "pitch": _rounded(self.target.pitch)},
                "searches": [s.to_json() for s in self.searches], "moved": self.moved}


@dataclass(frozen=True)
class PoseMatchSettings:
    yaw_tolerance: float = 0.03
    pitch_tolerance: float = 0.03
    max_strength: float = 3.0  # slider units; ±1 is a visible, natural change
    max_evaluations: int = 8  # per direction
    first_step: float = 1.0


def match_pose(code_space: CodeSpace, code: ChunkCode, target: Pose | None,
               directions: dict[str, Direction], estimator: PoseEstimator,
               settings: PoseMatchSettings = PoseMatchSettings(), *,
               force_fp32: bool = False) -> PoseMatch:
    """Move `code` along `directions["yaw"]` (then `["pitch"]`, when given) until the pose
    measured on its render equals `target`; the searches and notes say how it went."""
    notes: list[str] = []
    if target is None:
        return PoseMatch(code.detached(), None, [], None, None,
                         ["The identity photo's head pose could not be measured, so the hair "
                          "keeps its own pose."])
    renders: dict[tuple[float, float], Pose | None] = {}

    def pose_at(yaw: float, pitch: float) -> Pose | None:
        key = (round(yaw, 6), round(pitch, 6))
        if key not in renders:
            moved = moved_code(code_space, code, directions.get("yaw"), yaw)
            moved = moved_code(code_space, moved, directions.get("pitch"), pitch)
            renders[key] = estimator(render_code(code_space, moved, force_fp32=force_fp32))
        return renders[key]

    before = pose_at(0.0, 0.0)
    searches: list[PoseSearch] = []
    yaw = pitch = 0.0
    if before is None:
        notes.append("No face could be found on the generator's render of the hair photo's "
                     "hair chunk, so its pose could not be measured; the hair keeps its own "
                     "pose.")
        return PoseMatch(code.detached(), target, searches, None, None, notes)
    for attribute, tolerance in (("yaw", settings.yaw_tolerance),
                                 ("pitch", settings.pitch_tolerance)):
        direction = directions.get(attribute)
        if direction is None:
            if abs(before.get(attribute) - target.get(attribute)) > tolerance:
                notes.append(f"There is no learned {attribute} direction for this generator, "
                             f"so the hair's {attribute} was not matched; run `semedit "
                             "directions compute --supervised` once.")
            continue

        def measure(t: float, attribute=attribute, yaw=yaw, pitch=pitch) -> float | None:
            pose = pose_at(t, pitch) if attribute == "yaw" else pose_at(yaw, t)
            return None if pose is None else pose.get(attribute)

        search = search_strength(measure, target.get(attribute), attribute=attribute,
                                 tolerance=tolerance, max_strength=settings.max_strength,
                                 max_evaluations=settings.max_evaluations,
                                 first_step=settings.first_step)
        searches.append(search)
        if attribute == "yaw":
            yaw = search.strength
        else:
            pitch = search.strength
        if not search.converged:
            notes.append(f"The hair's {attribute} came to {search.measured:.3f} against the "
                         f"identity photo's {search.target:.3f} after {search.evaluations} "
                         "renders; it was left at the closest match.")
    moved = moved_code(code_space, code, directions.get("yaw"), yaw)
    moved = moved_code(code_space, moved, directions.get("pitch"), pitch)
    after = pose_at(yaw, pitch)
    return PoseMatch(moved, target, searches, before.landmarks,
                     None if after is None else after.landmarks, notes)


# --- the hair mask follows the head -------------------------------------------------------


def landmark_affine(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The 2×3 affine map (least squares) taking landmarks `before` to `after`."""
    src = np.asarray(before, np.float64).reshape(-1, 2)
    dst = np.asarray(after, np.float64).reshape(-1, 2)
    if src.shape != dst.shape or len(src) < 3:
        raise InvalidInputError("An affine map needs at least 3 matching landmarks.")
    design = np.c_[src, np.ones(len(src))]
    solution, *_ = np.linalg.lstsq(design, dst, rcond=None)
    return solution.T.astype(np.float64)  # [2, 3]


def follow_head(mask: np.ndarray, before: np.ndarray | None, after: np.ndarray | None
                ) -> np.ndarray:
    """The hair mask moved with the head: warped by the landmarks' affine map.

    Without landmarks on both renders the mask is returned as it was. The image border is
    replicated, so hair that leaves the top of the image keeps touching it.
    """
    mask = np.asarray(mask, np.float32)
    if before is None or after is None:
        return mask.copy()
    matrix = landmark_affine(before, after)
    size = mask.shape[::-1]
    warped = cv2.warpAffine(mask, matrix, size, flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
    return np.clip(warped, 0.0, 1.0).astype(np.float32)
