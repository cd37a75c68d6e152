"""Faces: detection and landmarks, FFHQ alignment, paste-back and identity (dlib, no Qt)."""

from __future__ import annotations

from core.face.align import (
    AlignTransform,
    align_face,
    apply_transform,
    centre_crop_transform,
    ffhq_quad,
    ffhq_transform,
    square_crop_transform,
)
from core.face.identity import face_descriptor, identity_distance
from core.face.landmarks import Face, choose_face, detect_faces, landmarks_for
from core.face.pasteback import feathered_weights, paste_back
from core.face.prepare import PreparedPhoto, prepare_photo

__all__ = [
    "AlignTransform",
    "Face",
    "PreparedPhoto",
    "align_face",
    "apply_transform",
    "centre_crop_transform",
    "choose_face",
    "detect_faces",
    "face_descriptor",
    "feathered_weights",
    "ffhq_quad",
    "ffhq_transform",
    "identity_distance",
    "landmarks_for",
    "paste_back",
    "prepare_photo",
    "square_crop_transform",
]
