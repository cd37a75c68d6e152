"""Automatic face chunks: "background", "hair", "face", "eyes", "mouth" in one action.

With Segment Anything, the 68 landmarks place the prompts: skin points on the cheeks,
nose, forehead and chin; hair points above the forehead and at the temples; a box and
points for each eye and for the lips; the image corners for the background. Each SAM
answer is checked against the landmarks (the mouth chunk must contain the mouth, the hair
chunk must not contain the nose...). An answer that fails is replaced by its geometric
version from the landmark polygons when there is one (face oval, eyes, mouth) and left
out otherwise (hair, background), and a note says which.

Without SAM weights every chunk is geometric and hair and background are left out.

Chunks are returned bottom to top and already resolved (the chunk on top wins), so no
two chunks share a pixel beyond the soft rims of the geometric masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from core.errors import InvalidInputError
from core.segment import mask_ops

CHUNK_ORDER: tuple[str, ...] = ("background", "hair", "face", "eyes", "mouth")

# How far above the eyebrows the geometric face oval reaches, as a fraction of the
# brow-to-chin distance. A forehead is about half of it; 0.35 keeps most hairlines out.
_FOREHEAD_FRACTION = 0.35
# Margins around the eye and lip outlines, as fractions of the eye / mouth width: the
# lids and the skin around the lips move with the edits that use these chunks.
_EYE_MARGIN = 0.3
_MOUTH_MARGIN = 0.15
# The soft rim of geometric chunks, as a fraction of the image size.
_FEATHER_FRACTION = 0.006


class PromptSegmenter(Protocol):
    """What the automatic chunks need from Segment Anything (see core.segment.sam)."""

    def set_image(self, rgb: np.ndarray) -> None: ...

    def predict(self, points: Sequence[tuple[float, float]] = (),
                labels: Sequence[int] = (), box: tuple[float, float, float, float] | None = None,
                **options: object) -> object: ...


@dataclass
class FaceChunks:
    """Named masks bottom to top (float32 [R, R]), how they were made, and what to tell."""

    masks: dict[str, np.ndarray]
    method: str  # "sam" or "landmarks"
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FaceLayout:
    """Landmark-derived places on the face, in image pixels (x, y)."""

    landmarks: np.ndarray
    size: int

    @property
    def brow_centre(self) -> np.ndarray:
        return self.landmarks[17:27].mean(0)

    @property
    def chin(self) -> np.ndarray:
        return self.landmarks[8]

    @property
    def face_height(self) -> float:
        return float(np.linalg.norm(self.brow_centre - self.chin))

    @property
    def up(self) -> np.ndarray:
        """Unit vector from the chin towards the top of the head (handles tilted heads)."""
        direction = self.brow_centre - self.chin
        return direction / max(float(np.linalg.norm(direction)), 1e-6)

    @property
    def nose_tip(self) -> np.ndarray:
        return self.landmarks[30]

    @property
    def cheeks(self) -> list[np.ndarray]:
        lm = self.landmarks
        return [0.5 * (lm[2] + lm[31]), 0.5 * (lm[14] + lm[35])]

    @property
    def forehead(self) -> np.ndarray:
        return self.brow_centre + self.up * 0.2 * self.face_height

    @property
    def chin_point(self) -> np.ndarray:
        return self.chin + (self.landmarks[57] - self.chin) * 0.4

    @property
    def eyes(self) -> list[np.ndarray]:
        return [self.landmarks[36:42], self.landmarks[42:48]]

    @property
    def mouth(self) -> np.ndarray:
        return self.landmarks[48:60]

    @property
    def lip_points(self) -> list[np.ndarray]:
        lm = self.landmarks
        return [0.5 * (lm[51] + lm[62]), 0.5 * (lm[57] + lm[66])]

    @property
    def hair_points(self) -> list[np.ndarray]:
        lm, up, h = self.landmarks, self.up, self.face_height
        across = lm[26] - lm[17]
        return [self.brow_centre + up * 0.75 * h,
                lm[17] + up * 0.5 * h - across * 0.1,
                lm[26] + up * 0.5 * h + across * 0.1]

    @property
    def corners(self) -> list[np.ndarray]:
        inset = 0.02 * self.size
        far = self.size - 1 - inset
        return [np.array(p, dtype=np.float64) for p in
                ((inset, inset), (far, inset), (inset, far), (far, far))]

    def inside(self, point: np.ndarray) -> bool:
        return bool(0 <= point[0] < self.size and 0 <= point[1] < self.size)


def face_chunks(rgb: np.ndarray, landmarks: np.ndarray,
                segmenter: PromptSegmenter | None = None) -> FaceChunks:
    """Automatic chunks for the face in a square image whose 68 landmarks are given."""
    layout = _layout(rgb, landmarks)
    geometric = geometric_face_masks(layout)
    if segmenter is None:
        masks = {name: geometric[name] for name in CHUNK_ORDER if name in geometric}
        return _finished(masks, "landmarks", [
            "Segment Anything is not installed, so the face, eyes and mouth chunks follow the "
            "landmarks and there are no hair or background chunks; download sam-vit-b for "
            "better chunks."])
    segmenter.set_image(rgb)
    notes: list[str] = []
    masks: dict[str, np.ndarray] = {}
    for name in CHUNK_ORDER:
        answer = _sam_chunk(segmenter, layout, name)
        problem = _problem(name, answer, layout, geometric)
        if problem is None:
            masks[name] = answer.astype(np.float32)
        elif name in geometric:
            masks[name] = geometric[name]
            notes.append(f"Segment Anything's {name} chunk {problem}; the {name} chunk follows "
                         "the landmarks instead.")
        else:
            notes.append(f"Segment Anything's {name} chunk {problem}; it was left out.")
    return _finished(masks, "sam", notes)


def geometric_face_masks(layout: FaceLayout) -> dict[str, np.ndarray]:
    """Soft "face", "eyes" and "mouth" masks from the landmark polygons alone."""
    size, lm = layout.size, layout.landmarks
    raised_brows = lm[26:16:-1] + layout.up * _FOREHEAD_FRACTION * layout.face_height
    face = _hull_mask(np.concatenate([lm[0:17], raised_brows]), size)
    eyes = np.zeros((size, size), np.float32)
    for eye in layout.eyes:
        width = float(np.linalg.norm(eye[3] - eye[0]))
        eyes = np.maximum(eyes, _hull_mask(eye, size, margin=_EYE_MARGIN * width))
    mouth_width = float(np.linalg.norm(lm[54] - lm[48]))
    mouth = _hull_mask(layout.mouth, size, margin=_MOUTH_MARGIN * mouth_width)
    radius = max(1.0, _FEATHER_FRACTION * size)
    return {name: mask_ops.feather(mask, radius)
            for name, mask in (("face", face), ("eyes", eyes), ("mouth", mouth))}


# --------------------------------------------------------------------- SAM prompts


def _sam_chunk(segmenter: PromptSegmenter, layout: FaceLayout, name: str) -> np.ndarray:
    """SAM's boolean mask for one named chunk."""
    if name in ("eyes", "mouth"):
        parts = layout.eyes if name == "eyes" else [layout.mouth]
        union = np.zeros((layout.size, layout.size), bool)
        for outline, inner in zip(parts, _inner_points(layout, name), strict=True):
            box = _box_around(outline, layout.size, margin=0.25 if name == "eyes" else 0.15)
            union |= _predict(segmenter, layout, inner, [], box)
        return union
    positives, negatives = _point_prompts(layout, name)
    return _predict(segmenter, layout, positives, negatives, None)


def _inner_points(layout: FaceLayout, name: str) -> list[list[np.ndarray]]:
    if name == "eyes":
        return [[eye.mean(0)] for eye in layout.eyes]
    return [layout.lip_points]


def _point_prompts(layout: FaceLayout, name: str
                   ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    skin = [layout.nose_tip, *layout.cheeks, layout.forehead, layout.chin_point]
    if name == "face":
        return skin, [*layout.hair_points[:1], *layout.corners]
    if name == "hair":
        return layout.hair_points, [layout.nose_tip, *layout.cheeks, *layout.corners[2:]]
    if name == "background":
        return layout.corners, [*skin, layout.hair_points[0]]
    raise InvalidInputError(f"There is no automatic chunk called {name!r}.")


def _predict(segmenter: PromptSegmenter, layout: FaceLayout, positives: list[np.ndarray],
             negatives: list[np.ndarray], box: tuple[float, float, float, float] | None
             ) -> np.ndarray:
    """SAM's best mask for these prompts; prompts outside the image (a head cut by the
    frame) are left out, and no positive prompt left means an empty mask."""
    points: list[tuple[float, float]] = []
    labels: list[int] = []
    for label, group in ((1, positives), (0, negatives)):
        for p in group:
            if layout.inside(p):
                points.append((float(p[0]), float(p[1])))
                labels.append(label)
    if 1 not in labels and box is None:
        return np.zeros((layout.size, layout.size), bool)
    prediction = segmenter.predict(points=points, labels=labels, box=box, multimask=True)
    mask = np.asarray(prediction.mask, dtype=bool)
    if mask.shape != (layout.size, layout.size):
        raise InvalidInputError(f"Segment Anything returned a mask of shape {mask.shape} for "
                                f"a {layout.size}×{layout.size} image.")
    return mask


# --------------------------------------------------------------------- checks


def _problem(name: str, answer: np.ndarray, layout: FaceLayout,
             geometric: dict[str, np.ndarray]) -> str | None:
    """Why SAM's answer for `name` does not fit the landmarks, or None when it does."""
    area = float(answer.mean())
    if area == 0:
        return "is empty"

    def has(point: np.ndarray) -> bool:
        x, y = np.clip(np.rint(point), 0, layout.size - 1).astype(int)
        return layout.inside(point) and bool(answer[y, x])

    if name == "face":
        if not (has(layout.nose_tip) and all(has(p) for p in layout.cheeks)):
            return "misses the nose or a cheek"
        if area > 0.7:
            return "covers most of the image"
        if area < 0.5 * float((geometric["face"] > 0.5).mean()):
            return "is much smaller than the face"
        return None
    if name in ("eyes", "mouth"):
        centres = [e.mean(0) for e in layout.eyes] if name == "eyes" else layout.lip_points
        if not all(has(p) for p in centres):
            return f"misses the {name}"
        if area > 4.0 * float((geometric[name] > 0.5).mean()):
            return "is much larger than the landmarks allow"
        return None
    skin = [layout.nose_tip, *layout.cheeks]
    if any(has(p) for p in skin):
        return "covers the face"
    minimum = 0.002 if name == "hair" else 0.01
    if area < minimum:
        return "is too small"
    return None


# --------------------------------------------------------------------- geometry


def _layout(rgb: np.ndarray, landmarks: np.ndarray) -> FaceLayout:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[0] != rgb.shape[1]:
        raise InvalidInputError("Automatic face chunks need a square RGB image.")
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (68, 2) or not np.isfinite(points).all():
        raise InvalidInputError(f"Expected 68 landmarks as [68, 2], got {points.shape}.")
    return FaceLayout(points, int(rgb.shape[0]))


def _hull_mask(points: np.ndarray, size: int, margin: float = 0.0) -> np.ndarray:
    """Filled convex hull of `points`, grown by `margin` pixels; float32 0/1."""
    # Sub-pixel precision: cv2 draws with 4 fractional bits.
    hull = cv2.convexHull(np.round(np.asarray(points) * 16).astype(np.int32))
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    result = mask.astype(np.float32)
    return mask_ops.grow(result, margin) if margin > 0 else result


def _box_around(points: np.ndarray, size: int, margin: float
                ) -> tuple[float, float, float, float]:
    low, high = points.min(0), points.max(0)
    pad = margin * (high - low)
    x0, y0 = np.clip(low - pad, 0, size - 1)
    x1, y1 = np.clip(high + pad, 0, size - 1)
    return float(x0), float(y0), float(x1), float(y1)


def _finished(masks: dict[str, np.ndarray], method: str, notes: list[str]) -> FaceChunks:
    """Resolve overlaps (top wins) and drop chunks that lost every pixel."""
    names = list(masks)
    resolved = dict(zip(names, mask_ops.resolve_overlaps([masks[n] for n in names]),
                        strict=True))
    for name in names:
        if not (resolved[name] >= 0.5).any():
            del resolved[name]
            notes.append(f"The {name} chunk is empty at this resolution and was left out.")
    return FaceChunks(resolved, method, notes)
