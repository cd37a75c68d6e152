"""The chunks of a photo taking part in a hair transfer: background, face parts and hair.

Automatic: the face chunks of `core.segment.face_chunks` (Segment Anything prompted by the
landmarks). Without SAM there is no hair chunk, so the hair must be painted and given.
A given hair mask replaces SAM's. Without a face (an already aligned, non-face crop) only
the hair and the background remain.

The chunks always partition the image: the background is everything the others leave,
so a composite of the chunks has no holes. Order, bottom to top: background, face, hair,
eyes, mouth (hair falls over the forehead; the eyes and mouth are face for certain).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.errors import ModelMissingError, NoFaceError, SemeditError
from core.face.prepare import PreparedPhoto
from core.segment import mask_ops
from core.segment.face_chunks import PromptSegmenter, face_chunks

ORDER: tuple[str, ...] = ("background", "face", "hair", "eyes", "mouth")
MIN_HAIR_AREA = 0.002  # of the image; less is no hair (SAM's own hair check uses the same)
FACE_PARTS: tuple[str, ...] = ("face", "eyes", "mouth")
# The Segment Anything model the automatic hair needs; named in the error so that a front
# end can offer its download in its own words.
SAM_ASSET = "sam-vit-b"


class NoHairError(SemeditError):
    """A photo in which no hair was found where the transfer needs some."""


@dataclass
class TransferChunks:
    """Masks (float32 [R, R], a partition of the image) bottom to top, and what to tell."""

    masks: dict[str, np.ndarray]
    landmarks: np.ndarray | None  # [68, 2] in aligned pixels, when a face was found
    notes: list[str] = field(default_factory=list)

    @property
    def hair(self) -> np.ndarray:
        size = next(iter(self.masks.values())).shape
        return self.masks.get("hair", np.zeros(size, np.float32))

    @property
    def has_hair(self) -> bool:
        return "hair" in self.masks

    def face_parts(self) -> np.ndarray:
        """Face, eyes and mouth together (where identity lives)."""
        size = next(iter(self.masks.values())).shape
        total = np.zeros(size, np.float32)
        for name in FACE_PARTS:
            if name in self.masks:
                total += self.masks[name]
        return np.clip(total, 0, 1)

    def skin(self) -> np.ndarray | None:
        """The face chunk alone (eyes and mouth are chunks of their own), or None."""
        return self.masks.get("face")


def transfer_chunks(prepared: PreparedPhoto, *, segmenter: PromptSegmenter | None = None,
                    hair_mask: np.ndarray | None = None, photo_name: str = "the photo",
                    hair_required: bool = True, mask_option: str = "--hair-mask") -> TransferChunks:
    """The chunks of one photo: SAM's (or the landmarks') face chunks with its hair.

    `hair_required`: the hair photo must show hair (NoHairError otherwise); the identity
    photo may be bald (then its hair chunk is left out and a note says so).
    """
    size = prepared.aligned.shape[0]
    landmarks = _landmarks(prepared)
    notes: list[str] = []
    masks: dict[str, np.ndarray] = {}
    if landmarks is None and hair_mask is None:
        raise NoFaceError(f"No face was found in {photo_name}, so its hair cannot be found "
                          f"automatically; paint the hair and pass it with {mask_option}.")
    if landmarks is not None:
        if hair_mask is None and segmenter is None:
            raise ModelMissingError(
                f"Finding the hair in {photo_name} needs Segment Anything, which is not "
                f"installed: run `semedit models download {SAM_ASSET}` (or pass --sam FILE), "
                f"or paint the hair and pass it with {mask_option}.", asset_id=SAM_ASSET)
        found = face_chunks(prepared.aligned, landmarks, segmenter)
        masks = dict(found.masks)
        # With a painted hair mask, what SAM said (or could not say) about hair is moot.
        notes += [f"{photo_name}: {note}" for note in found.notes
                  if hair_mask is None or ("hair" not in note and "Segment Anything is not "
                                           "installed" not in note)]
    if hair_mask is not None:
        hair = np.clip(np.asarray(hair_mask, np.float32), 0, 1)
        if hair.shape != (size, size):
            raise NoHairError(f"The hair mask of {photo_name} is {hair.shape[1]}x{hair.shape[0]}"
                              f", not {size}x{size}.")
        if float((hair >= 0.5).mean()) < MIN_HAIR_AREA:
            raise NoHairError(f"The hair mask given for {photo_name} ({mask_option}) is empty; "
                              "paint the hair white on black.")
        masks["hair"] = hair
    elif "hair" not in masks or float((masks["hair"] >= 0.5).mean()) < MIN_HAIR_AREA:
        masks.pop("hair", None)
        if hair_required:
            raise NoHairError(f"No hair was found in {photo_name}: Segment Anything found no "
                              "hair around the face. Paint the hair and pass it with "
                              f"{mask_option}.")
        notes.append(f"No hair was found in {photo_name}; the new hair is put on a bald head.")
    return TransferChunks(partition(masks), landmarks, notes)


def partition(masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Resolve overlaps in `ORDER` (top wins) and make the background everything left over,
    so the masks sum to one everywhere; chunks left with no pixel are dropped."""
    names = [n for n in ORDER if n in masks and n != "background"]
    names += [n for n in masks if n not in ORDER]
    if not names:
        size = next(iter(masks.values())).shape
        return {"background": np.ones(size, np.float32)}
    resolved = dict(zip(names, mask_ops.resolve_overlaps([masks[n] for n in names]),
                        strict=True))
    covered = np.clip(sum(resolved.values()), 0, 1)
    out = {"background": (1.0 - covered).astype(np.float32)}
    out.update(resolved)
    return {n: m for n, m in out.items() if float(m.max()) >= 1e-3}


def _landmarks(prepared: PreparedPhoto) -> np.ndarray | None:
    try:
        return prepared.aligned_landmarks()
    except NoFaceError:
        return None
