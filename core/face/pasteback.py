"""Putting an edited aligned face back into the full-resolution photo.

The edited aligned image is warped back with the exact inverse of its alignment, and only the
changed region (feathered outwards, and faded out at the aligned image's own border) is blended
into the photo. Every photo pixel outside that footprint is returned bit for bit.

Colour matching: along the seam (the feather zone, which the edit did not change) the photo
and the edited image should agree; their difference there is reconstruction error. It is
spread smoothly over the changed region by normalised convolution (a cheap stand-in for a
Poisson blend) and added to the edited image before blending, so the seam disappears while the
edit itself is kept.

Resampling: when the face is smaller in the photo than in the aligned image, the edited image
is first reduced with Lanczos to twice the photo's scale (removing the detail that would
alias most) and then sampled bicubically; a bicubic warp alone handles enlargement.
All work happens inside the bounding box of the footprint, in float32.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PIL import Image

from core.errors import InvalidInputError
from core.face.align import AlignTransform
from core.imageio import require_rgb

FEATHER_FRACTION = 1 / 32  # feather width as a fraction of the aligned image side
COLOUR_MATCH_SIGMA_FRACTION = 1 / 16  # how far a seam correction reaches inwards
COLOUR_MATCH_LIMIT = 64.0  # grey levels; larger seam differences are content, not colour
ANTIALIAS_OVERSAMPLING = 2.0
BAND_ROWS = 512  # photo rows warped and blended at a time, to bound float32 memory


def paste_back(
    photo_rgb: np.ndarray,
    aligned_edited: np.ndarray,
    transform: AlignTransform,
    changed_mask: np.ndarray,
    *,
    feather_px: float | None = None,
    colour_match: bool = True,
) -> np.ndarray:
    """The photo with the changed region of the edited aligned face put back, same size.

    `changed_mask` is float [0, 1] in aligned coordinates (any square size; it is resized to
    the edited image). `feather_px` is the outward feather width in aligned pixels (default
    1/32 of the aligned side).
    """
    photo = _check_photo(photo_rgb, transform)
    edited = _check_aligned(aligned_edited)
    size = edited.shape[0]
    mask = _check_mask(changed_mask, size)
    feather = size * FEATHER_FRACTION if feather_px is None else float(feather_px)
    weights = feathered_weights(mask, feather)

    to_photo = transform.aligned_to_photo(size)
    box = _footprint_box(weights, to_photo, transform.photo_size)
    result = photo.copy()
    if box is None:
        return result

    edited_float = edited.astype(np.float32)
    if colour_match:
        edited_float += _colour_correction(photo, edited_float, mask, weights, to_photo)
    source, aligned_to_source = _resampling_source(edited_float, transform)
    x0, y0, x1, y1 = box
    for top in range(y0, y1, BAND_ROWS):
        band = (x0, top, x1, min(top + BAND_ROWS, y1))
        box_to_aligned = _photo_box_to_aligned(to_photo, band)
        patch = _warp(source, aligned_to_source @ box_to_aligned, band, cv2.INTER_CUBIC)
        alpha = _warp(weights, box_to_aligned, band, cv2.INTER_LINEAR)
        _blend_into(result[band[1] : band[3], x0:x1], patch, alpha)
    return result


def feathered_weights(mask: np.ndarray, feather_px: float) -> np.ndarray:
    """Blend weights in aligned coordinates: the mask, feathered outwards by feather_px, and
    faded to 0 over the same width at the image border."""
    size = mask.shape[0]
    weights = mask.astype(np.float32, copy=True)
    if feather_px > 0:
        inside = (mask >= 0.5).astype(np.uint8)
        if inside.any():
            distance = cv2.distanceTransform(1 - inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
            ramp = _smoothstep(1.0 - distance / np.float32(feather_px))
            np.maximum(weights, ramp, out=weights)
    edge = np.arange(size, dtype=np.float32)
    edge = np.minimum(edge, size - 1 - edge) / np.float32(max(feather_px, 1.0))
    taper = _smoothstep(edge)
    weights *= taper[:, None] * taper[None, :]
    return weights


def _smoothstep(values: np.ndarray) -> np.ndarray:
    t = np.clip(values, 0.0, 1.0).astype(np.float32, copy=False)
    return t * t * (3.0 - 2.0 * t)


def _check_photo(photo_rgb: np.ndarray, transform: AlignTransform) -> np.ndarray:
    if (
        not isinstance(photo_rgb, np.ndarray)
        or photo_rgb.dtype != np.uint8
        or photo_rgb.ndim != 3
        or photo_rgb.shape[2] != 3
    ):
        raise InvalidInputError("The photo must be a uint8 (height, width, 3) array.")
    if (photo_rgb.shape[1], photo_rgb.shape[0]) != transform.photo_size:
        raise InvalidInputError(
            f"The photo is {photo_rgb.shape[1]}×{photo_rgb.shape[0]} pixels but the alignment "
            f"was made for {transform.photo_size[0]}×{transform.photo_size[1]}."
        )
    return photo_rgb


def _check_aligned(aligned: np.ndarray) -> np.ndarray:
    require_rgb(aligned, "The edited face")
    if aligned.shape[0] != aligned.shape[1] or aligned.shape[0] < 2:
        raise InvalidInputError(
            f"The edited face must be a square uint8 (size, size, 3) array, not {aligned.shape}."
        )
    return aligned


def _check_mask(changed_mask: np.ndarray, size: int) -> np.ndarray:
    mask = np.asarray(changed_mask)
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.ndim != 2 or mask.shape[0] != mask.shape[1] or mask.shape[0] < 1:
        raise InvalidInputError(
            f"The changed-region mask must be square and 2-D, not {mask.shape}."
        )
    mask = mask.astype(np.float32)
    if not np.isfinite(mask).all():
        raise InvalidInputError("The changed-region mask contains NaN or infinite values.")
    np.clip(mask, 0.0, 1.0, out=mask)
    if mask.shape[0] != size:
        shrinking = mask.shape[0] > size
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        mask = cv2.resize(mask, (size, size), interpolation=interpolation)
    return mask


def _footprint_box(
    weights: np.ndarray, to_photo: np.ndarray, photo_size: tuple[int, int]
) -> tuple[int, int, int, int] | None:
    """Photo pixels (x0, y0, x1, y1) that the non-zero weights can reach, or None."""
    rows = np.flatnonzero(weights.any(axis=1))
    cols = np.flatnonzero(weights.any(axis=0))
    if rows.size == 0:
        return None
    # One aligned pixel of slack for the bilinear footprint of each weight.
    u0, u1 = cols[0] - 1.0, cols[-1] + 1.0
    v0, v1 = rows[0] - 1.0, rows[-1] + 1.0
    corners = np.array([[u0, v0, 1.0], [u1, v0, 1.0], [u0, v1, 1.0], [u1, v1, 1.0]])
    mapped = corners @ to_photo.T
    width, height = photo_size
    x0 = max(math.floor(mapped[:, 0].min()) - 1, 0)
    y0 = max(math.floor(mapped[:, 1].min()) - 1, 0)
    x1 = min(math.ceil(mapped[:, 0].max()) + 2, width)
    y1 = min(math.ceil(mapped[:, 1].max()) + 2, height)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _photo_box_to_aligned(to_photo: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """3×3 matrix from pixel (x, y) of the photo box to aligned coordinates."""
    offset = np.array([[1.0, 0.0, box[0]], [0.0, 1.0, box[1]], [0.0, 0.0, 1.0]])
    return np.linalg.inv(to_photo) @ offset


def _resampling_source(
    edited: np.ndarray, transform: AlignTransform
) -> tuple[np.ndarray, np.ndarray]:
    """The image to sample the patch from, and the 3×3 matrix from aligned pixels to it.

    When the photo holds fewer pixels than the aligned image, a Lanczos reduction to
    ANTIALIAS_OVERSAMPLING × the photo's scale first removes the detail that would alias.
    """
    size = edited.shape[0]
    photo_per_aligned = transform.photo_pixels_per_aligned_pixel * transform.output_size / size
    reduced_size = round(size * photo_per_aligned * ANTIALIAS_OVERSAMPLING)
    if reduced_size >= size:
        return edited, np.eye(3)
    factor = size / reduced_size
    shift = 0.5 / factor - 0.5  # aligned pixel u ↔ reduced pixel (u + 0.5) / factor − 0.5
    to_reduced = np.array([[1 / factor, 0.0, shift], [0.0, 1 / factor, shift], [0.0, 0.0, 1.0]])
    return _lanczos_reduce(edited, reduced_size), to_reduced


def _lanczos_reduce(image: np.ndarray, size: int) -> np.ndarray:
    pixels = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    reduced = Image.fromarray(pixels).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(reduced).astype(np.float32)


def _warp(
    source: np.ndarray, box_to_source: np.ndarray, box: tuple[int, int, int, int], flags: int
) -> np.ndarray:
    """Sample `source` at every pixel of the photo box (pixel centres at integers).

    Colour is sampled with edge replication (its weight is 0 outside the aligned square);
    weights with zeros outside.
    """
    x0, y0, x1, y1 = box
    is_weights = source.ndim == 2
    return cv2.warpAffine(
        source,
        box_to_source[:2],
        (x1 - x0, y1 - y0),
        flags=flags | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT if is_weights else cv2.BORDER_REPLICATE,
        borderValue=0.0,
    )


def _blend_into(region: np.ndarray, patch: np.ndarray, alpha: np.ndarray) -> None:
    """region ← region + alpha · (patch − region), written only where alpha > 0 (in place)."""
    np.clip(alpha, 0.0, 1.0, out=alpha)
    touched = alpha > 0
    if not touched.any():
        return
    blended = region.astype(np.float32)
    patch -= blended
    patch *= alpha[:, :, None]
    blended += patch
    np.rint(blended, out=blended)
    np.clip(blended, 0, 255, out=blended)
    np.copyto(region, blended.astype(np.uint8), where=touched[:, :, None])


def _colour_correction(
    photo: np.ndarray,
    edited: np.ndarray,
    mask: np.ndarray,
    weights: np.ndarray,
    to_photo: np.ndarray,
) -> np.ndarray:
    """A smooth per-pixel colour offset that makes the edited image meet the photo at the seam.

    Zero (a scalar) when there is no usable seam, e.g. when the changed region's border lies
    entirely outside the photo.
    """
    size = edited.shape[0]
    photo_height, photo_width = photo.shape[:2]
    band = (weights > 0) & (weights < 1) & (mask < 0.5)
    if not band.any():
        band = (weights > 0) & (weights < 1)
    band &= _inside_photo(to_photo, size, photo_width, photo_height)
    if not band.any():
        return np.zeros(3, dtype=np.float32)

    # With WARP_INVERSE_MAP the matrix maps destination (aligned) to source (photo) pixels.
    photo_aligned = cv2.warpAffine(
        photo,
        to_photo[:2],
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)
    difference = np.clip(photo_aligned - edited, -COLOUR_MATCH_LIMIT, COLOUR_MATCH_LIMIT)
    band_weight = band.astype(np.float32)
    return _spread_from_band(difference * band_weight[:, :, None], band_weight, size)


def _spread_from_band(weighted: np.ndarray, band: np.ndarray, size: int) -> np.ndarray:
    """Normalised convolution: the band's local mean difference, falling back to its global
    mean far from the band. Computed at a quarter of the resolution (it is smooth)."""
    small_size = max(size // 4, 8)
    small_weighted = cv2.resize(weighted, (small_size, small_size), interpolation=cv2.INTER_AREA)
    small_band = cv2.resize(band, (small_size, small_size), interpolation=cv2.INTER_AREA)
    sigma = small_size * COLOUR_MATCH_SIGMA_FRACTION
    spread_weighted = cv2.GaussianBlur(small_weighted, (0, 0), sigma)
    spread_band = cv2.GaussianBlur(small_band, (0, 0), sigma)
    global_mean = small_weighted.sum(axis=(0, 1)) / max(float(small_band.sum()), 1e-6)
    floor = np.float32(1e-3)
    correction = (spread_weighted + floor * global_mean) / (spread_band + floor)[:, :, None]
    return cv2.resize(correction.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)


def _inside_photo(to_photo: np.ndarray, size: int, width: int, height: int) -> np.ndarray:
    """Aligned pixels whose photo position lies inside the photo."""
    coords = np.arange(size, dtype=np.float64)
    xs = to_photo[0, 0] * coords[None, :] + to_photo[0, 1] * coords[:, None] + to_photo[0, 2]
    ys = to_photo[1, 0] * coords[None, :] + to_photo[1, 1] * coords[:, None] + to_photo[1, 2]
    return (xs >= 0) & (xs <= width - 1) & (ys >= 0) & (ys <= height - 1)
