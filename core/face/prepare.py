"""A photo made ready for a generator: FFHQ-aligned around a face, or centre-cropped."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import NoFaceError
from core.face.align import (
    AlignTransform,
    align_face,
    apply_transform,
    centre_crop_transform,
    square_crop_transform,
)
from core.face.landmarks import Face, choose_face, detect_faces
from core.imageio import Photo


@dataclass
class PreparedPhoto:
    aligned: np.ndarray  # uint8 [R, R, 3]
    transform: AlignTransform
    face: Face | None  # None for a centre crop or a square placed by hand
    face_boxes: tuple[tuple[int, int, int, int], ...] = ()  # every face found, largest first

    def aligned_landmarks(self) -> np.ndarray:
        """The 68 landmarks [68, 2] (x, y) in aligned-image pixels.

        Mapped from the photo through the alignment when a face was aligned; otherwise
        (a centre crop) detected on the crop itself, the largest face.
        """
        if self.face is None:
            return _detected_in_aligned(self.aligned)
        return _mapped(self.face.landmarks, self.transform, self.aligned.shape[0])


def landmarks_in_aligned(aligned: np.ndarray, transform: AlignTransform | None = None,
                         photo_rgb: np.ndarray | None = None) -> np.ndarray:
    """The 68 landmarks [68, 2] of a saved project's face, in aligned-image pixels.

    Detected on the original photo when there is one (small aligned images such as 256²
    are too coarse for the detector) and mapped through the alignment: of the faces found,
    the one nearest the aligned frame's centre. Otherwise detected on the aligned image.
    """
    size = aligned.shape[0]
    if transform is not None and photo_rgb is not None:
        candidates = [_mapped(face.landmarks, transform, size)
                      for face in detect_faces(photo_rgb)]
        distances = [float(np.linalg.norm(p.mean(axis=0) - size / 2)) for p in candidates]
        if candidates and min(distances) < size / 2:
            return candidates[int(np.argmin(distances))]
    return _detected_in_aligned(aligned)


def _mapped(photo_landmarks: np.ndarray, transform: AlignTransform, size: int) -> np.ndarray:
    """Photo-pixel landmarks in the size² aligned frame, float32 [68, 2]."""
    to_aligned = transform.photo_to_aligned(size)
    points = np.c_[photo_landmarks, np.ones(len(photo_landmarks))] @ to_aligned.T
    return points[:, :2].astype(np.float32)


def _detected_in_aligned(aligned: np.ndarray) -> np.ndarray:
    faces = detect_faces(aligned)
    if not faces:
        raise NoFaceError("No face was found in the image, so face landmarks are not "
                          "available; paint the chunks instead.")
    return faces[0].landmarks.astype(np.float32)


def prepare_photo(photo: Photo, resolution: int, *, align: bool = True,
                  face_index: int | None = None,
                  square: tuple[int, int, int] | None = None) -> PreparedPhoto:
    """Align the chosen face (largest unless `face_index`), or centre-crop with align=False,
    or crop `square` (x0, y0, side in photo pixels: a face placed by hand).

    Non-face domains (animals, paintings) use align=False: the crop is recorded as a
    transform too, so paste-back works the same way.
    """
    if square is not None or not align:
        transform = (centre_crop_transform(photo.size, resolution) if square is None
                     else square_crop_transform(photo.size, square, resolution))
        return PreparedPhoto(apply_transform(photo.rgb, transform), transform, None)
    faces = detect_faces(photo.rgb)
    face = choose_face(faces, face_index, photo_name=photo.path.name)
    aligned, transform = align_face(photo.rgb, face.landmarks, output_size=resolution)
    return PreparedPhoto(aligned, transform, face,
                         tuple(tuple(int(v) for v in f.rect) for f in faces))
