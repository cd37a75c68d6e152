"""FFHQ face alignment, recorded exactly so that edits can be pasted back.

`align_face` follows the recipe NVIDIA used to build FFHQ (`recreate_aligned_images` in
NVlabs/ffhq-dataset, with `transform_size=4096, enable_padding=True, rotate_level=True` and no
random shift): an oriented square from the eyes and mouth; a Lanczos pre-shrink of very large
faces; a crop with a border; reflect padding blended to blur and median where the square
leaves the photo; a bilinear warp to 4096² by Pillow; a Lanczos reduction to the output size.
It reproduces NVIDIA's images (PSNR ≥ 40 dB, in practice pixel for pixel), but only works on
the neighbourhood of the face, so a 12-megapixel photo aligns in a fraction of a second:

* the pre-shrink computes only the crop it needs (Pillow resize with a box gives the same
  pixels as shrinking the whole photo and cropping);
* the 4096² warp and its reduction run in horizontal strips on several threads;
* the padding is blended only where the warp reads it; its blur is exact up to σ = 12 px
  and computed at reduced resolution above that, and its median colour comes from a strided
  sample above 4 megapixels (both differ from the exact values by far less than a grey
  level, only in the padded margins).

Coordinates: x right, y down, pixel centres at integers, in the photo as loaded (EXIF
orientation applied). Corner order everywhere is top-left, bottom-left, bottom-right,
top-right, as in NVIDIA's quad.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

from core.errors import InvalidInputError
from core.imageio import require_rgb

FFHQ = "ffhq"
CENTRE_CROP = "centre-crop"
METHODS = (FFHQ, CENTRE_CROP)
DEFAULT_OUTPUT_SIZE = 1024
DEFAULT_TRANSFORM_SIZE = 4096
EXACT_BLUR_MAX_SIGMA = 12.0
EXACT_MEDIAN_PIXELS = 4_000_000
LANCZOS_SUPPORT = 3.0  # Pillow's Lanczos has radius 3 (in output pixels when reducing)
_JSON_VERSION = 1

Quad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class AlignTransform:
    """Everything needed to redo an alignment or to map between aligned and photo pixels.

    `quad` is NVIDIA's crop square in original photo coordinates. With a pre-shrink the
    recipe divides it by `shrink` but resizes the photo to `shrunk_size` (rounded), so the
    square actually sampled is `sampling_quad()`, shifted by about (shrink − 1) / 2 pixels.
    `crop_box` (x0, y0, x1, y1) is in shrunk-photo pixels; `padding` (left, top, right,
    bottom) is the reflect padding added around the crop, zeros when none was needed.
    """

    method: str
    photo_size: tuple[int, int]  # (width, height)
    output_size: int
    transform_size: int
    quad: Quad
    qsize: float
    shrink: int  # 1 means no pre-shrink
    shrunk_size: tuple[int, int]
    crop_box: tuple[int, int, int, int]
    padding: tuple[int, int, int, int]

    def __post_init__(self) -> None:
        _validate(self)

    def sampling_quad(self) -> np.ndarray:
        """[4, 2] corners, in photo pixel-centre coordinates, of the square that is sampled."""
        quad = np.array(self.quad, dtype=np.float64)
        if self.shrink <= 1:
            return quad
        scale = np.array(self.photo_size, np.float64) / np.array(self.shrunk_size, np.float64)
        return (quad / self.shrink + 0.5) * scale - 0.5

    def aligned_to_photo(self, size: int | None = None) -> np.ndarray:
        """3×3 affine matrix taking aligned pixel (u, v, 1) of a size² image to photo (x, y, 1).

        Exact: the sampled quad is a parallelogram (a square, up to the rounding of the
        shrunk size) and Pillow's QUAD warp is then affine.
        """
        n = float(size or self.output_size)
        top_left, bottom_left, _, top_right = self.sampling_quad()
        step_u = (top_right - top_left) / n
        step_v = (bottom_left - top_left) / n
        origin = top_left + 0.5 * (step_u + step_v)  # output pixel centres sit at +0.5
        return np.array(
            [
                [step_u[0], step_v[0], origin[0]],
                [step_u[1], step_v[1], origin[1]],
                [0.0, 0.0, 1.0],
            ]
        )

    def photo_to_aligned(self, size: int | None = None) -> np.ndarray:
        """Inverse of `aligned_to_photo`."""
        return np.linalg.inv(self.aligned_to_photo(size))

    @property
    def photo_pixels_per_aligned_pixel(self) -> float:
        top_left, bottom_left, _, top_right = self.sampling_quad()
        side = 0.5 * (np.hypot(*(top_right - top_left)) + np.hypot(*(bottom_left - top_left)))
        return float(side / self.output_size)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only; `from_json(t.to_json()) == t`."""
        data = asdict(self)
        data["quad"] = [list(corner) for corner in self.quad]
        for key in ("photo_size", "shrunk_size", "crop_box", "padding"):
            data[key] = list(data[key])
        data["version"] = _JSON_VERSION
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> AlignTransform:
        """Read what `to_json` wrote (a dict or its JSON text); bad data → InvalidInputError."""
        try:
            if isinstance(data, str):
                data = json.loads(data)
            if not isinstance(data, Mapping):
                raise TypeError("not a JSON object")
            if data.get("version", _JSON_VERSION) != _JSON_VERSION:
                raise ValueError(f"unknown version {data.get('version')!r}")
            quad = tuple((float(x), float(y)) for x, y in data["quad"])
            return cls(
                method=str(data["method"]),
                photo_size=_int_tuple(data["photo_size"], 2),
                output_size=_strict_int(data["output_size"]),
                transform_size=_strict_int(data["transform_size"]),
                quad=quad,  # type: ignore[arg-type]
                qsize=float(data["qsize"]),
                shrink=_strict_int(data["shrink"]),
                shrunk_size=_int_tuple(data["shrunk_size"], 2),
                crop_box=_int_tuple(data["crop_box"], 4),
                padding=_int_tuple(data["padding"], 4),
            )
        except InvalidInputError:
            raise
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidInputError(f"The alignment record is not valid: {error}.") from error


def _strict_int(value: Any) -> int:
    if isinstance(value, bool) or int(value) != value:
        raise ValueError(f"{value!r} is not an integer")
    return int(value)


def _int_tuple(values: Any, length: int) -> Any:
    items = tuple(_strict_int(v) for v in values)
    if len(items) != length:
        raise ValueError(f"expected {length} integers, got {len(items)}")
    return items


def _validate(t: AlignTransform) -> None:
    problems = []
    if t.method not in METHODS:
        problems.append(f"method {t.method!r} is not one of {', '.join(METHODS)}")
    if min(t.photo_size) < 1 or min(t.shrunk_size) < 1:
        problems.append("the photo size must be positive")
    if not 1 <= t.output_size <= t.transform_size:
        problems.append("the output size must be positive and at most the transform size")
    quad = np.asarray(t.quad, dtype=np.float64)
    if quad.shape != (4, 2) or not np.isfinite(quad).all():
        problems.append("the quad must be 4 finite (x, y) corners")
    elif not math.isfinite(t.qsize) or t.qsize <= 0:
        problems.append("the quad size must be positive")
    if t.shrink < 1:
        problems.append("the shrink factor must be at least 1")
    x0, y0, x1, y1 = t.crop_box
    if not (0 <= x0 < x1 <= t.shrunk_size[0] and 0 <= y0 < y1 <= t.shrunk_size[1]):
        problems.append(f"the crop box {t.crop_box} does not lie inside the photo")
    if min(t.padding) < 0:
        problems.append("the padding cannot be negative")
    if problems:
        raise InvalidInputError("The alignment record is not valid: " + "; ".join(problems) + ".")


# --- building transforms ------------------------------------------------------------------


def ffhq_quad(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """NVIDIA's oriented crop square for 68 iBUG landmarks: ([4, 2] corners, side length)."""
    points = _check_landmarks(landmarks)
    eye_left = points[36:42].mean(axis=0)
    eye_right = points[42:48].mean(axis=0)
    eye_mid = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    mouth_mid = (points[48] + points[54]) * 0.5
    eye_to_mouth = mouth_mid - eye_mid

    x_axis = np.array([eye_to_eye[0] + eye_to_mouth[1], eye_to_eye[1] - eye_to_mouth[0]])
    length = float(np.hypot(*x_axis))
    if not length > 1e-6:
        raise InvalidInputError("The face landmarks are degenerate (the eyes and mouth coincide).")
    x_axis *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8) / length
    y_axis = np.array([-x_axis[1], x_axis[0]])
    centre = eye_mid + eye_to_mouth * 0.1
    quad = np.stack(
        [
            centre - x_axis - y_axis,
            centre - x_axis + y_axis,
            centre + x_axis + y_axis,
            centre + x_axis - y_axis,
        ]
    )
    return quad, float(np.hypot(*x_axis) * 2.0)


def _check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape != (68, 2) or not np.isfinite(points).all():
        raise InvalidInputError(
            f"Face landmarks must be 68 finite (x, y) points, not an array of shape {points.shape}."
        )
    return points


def ffhq_transform(
    landmarks: np.ndarray,
    photo_size: tuple[int, int],
    output_size: int = DEFAULT_OUTPUT_SIZE,
    transform_size: int = DEFAULT_TRANSFORM_SIZE,
) -> AlignTransform:
    """The FFHQ alignment of the face with these landmarks, as a transform (no pixels)."""
    quad, qsize = ffhq_quad(landmarks)
    width, height = _check_size(photo_size)
    _check_output_size(output_size, transform_size)

    shrink = int(np.floor(qsize / output_size * 0.5))
    if shrink > 1:
        shrunk_size = (int(np.rint(width / shrink)), int(np.rint(height / shrink)))
        shrunk_quad, shrunk_qsize = quad / shrink, qsize / shrink
    else:
        shrink, shrunk_size, shrunk_quad, shrunk_qsize = 1, (width, height), quad, qsize

    border = max(int(np.rint(shrunk_qsize * 0.1)), 3)
    crop_box = _crop_box(shrunk_quad, border, shrunk_size)
    local_quad = shrunk_quad - crop_box[:2]
    crop_size = (crop_box[2] - crop_box[0], crop_box[3] - crop_box[1])
    padding = _padding(local_quad, border, crop_size, shrunk_qsize)
    return AlignTransform(
        method=FFHQ,
        photo_size=(width, height),
        output_size=output_size,
        transform_size=transform_size,
        quad=tuple((float(x), float(y)) for x, y in quad),  # type: ignore[arg-type]
        qsize=qsize,
        shrink=shrink,
        shrunk_size=shrunk_size,
        crop_box=crop_box,
        padding=padding,
    )


def _check_size(photo_size: tuple[int, int]) -> tuple[int, int]:
    width, height = (int(v) for v in photo_size)
    if width < 1 or height < 1:
        raise InvalidInputError(f"The photo size must be positive, not {photo_size}.")
    return width, height


def _check_output_size(output_size: int, transform_size: int) -> None:
    if not 1 <= output_size <= transform_size:
        raise InvalidInputError(
            f"The output size ({output_size}) must be positive and at most the transform "
            f"size ({transform_size})."
        )


def _quad_bounds(quad: np.ndarray) -> tuple[int, int, int, int]:
    return (
        int(np.floor(quad[:, 0].min())),
        int(np.floor(quad[:, 1].min())),
        int(np.ceil(quad[:, 0].max())),
        int(np.ceil(quad[:, 1].max())),
    )


def _crop_box(quad: np.ndarray, border: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    left, top, right, bottom = _quad_bounds(quad)
    box = (
        max(left - border, 0),
        max(top - border, 0),
        min(right + border, size[0]),
        min(bottom + border, size[1]),
    )
    if box[2] <= box[0] or box[3] <= box[1]:
        raise InvalidInputError("The face lies entirely outside the photo.")
    return box


def _padding(
    quad: np.ndarray, border: int, size: tuple[int, int], qsize: float
) -> tuple[int, int, int, int]:
    left, top, right, bottom = _quad_bounds(quad)
    pad = (
        max(-left + border, 0),
        max(-top + border, 0),
        max(right - size[0] + border, 0),
        max(bottom - size[1] + border, 0),
    )
    if max(pad) <= border - 4:
        return (0, 0, 0, 0)
    least = int(np.rint(qsize * 0.3))
    return tuple(max(p, least) for p in pad)  # type: ignore[return-value]


def centre_crop_transform(
    photo_size: tuple[int, int], output_size: int = DEFAULT_OUTPUT_SIZE
) -> AlignTransform:
    """The largest centred square of the photo, resized to output_size (no face needed)."""
    width, height = _check_size(photo_size)
    side = min(width, height)
    return square_crop_transform(photo_size, ((width - side) // 2, (height - side) // 2, side),
                                 output_size)


def square_crop_transform(
    photo_size: tuple[int, int], square: tuple[int, int, int],
    output_size: int = DEFAULT_OUTPUT_SIZE,
) -> AlignTransform:
    """A square the user placed, (x0, y0, side) in photo pixels, resized to output_size
    (the face placed by hand when none is detected); it must lie inside the photo."""
    width, height = _check_size(photo_size)
    transform_size = max(DEFAULT_TRANSFORM_SIZE, output_size)  # unused by a plain resize
    _check_output_size(output_size, transform_size)
    x0, y0, side = (int(v) for v in square)
    if side < 1 or x0 < 0 or y0 < 0 or x0 + side > width or y0 + side > height:
        raise InvalidInputError(
            f"The face square {side}×{side} at ({x0}, {y0}) must be non-empty and lie "
            f"inside the {width}×{height} photo."
        )
    left, top = x0 - 0.5, y0 - 0.5  # pixel edges, in pixel-centre coordinates
    right, bottom = left + side, top + side
    return AlignTransform(
        method=CENTRE_CROP,
        photo_size=(width, height),
        output_size=output_size,
        transform_size=transform_size,
        quad=((left, top), (left, bottom), (right, bottom), (right, top)),
        qsize=float(side),
        shrink=1,
        shrunk_size=(width, height),
        crop_box=(x0, y0, x0 + side, y0 + side),
        padding=(0, 0, 0, 0),
    )


# --- producing aligned pixels ---------------------------------------------------------------


def align_face(
    rgb: np.ndarray,
    landmarks: np.ndarray,
    output_size: int = DEFAULT_OUTPUT_SIZE,
    transform_size: int = DEFAULT_TRANSFORM_SIZE,
) -> tuple[np.ndarray, AlignTransform]:
    """FFHQ-align the face with these 68 landmarks: (uint8 [S, S, 3] image, its transform)."""
    require_rgb(rgb)
    transform = ffhq_transform(landmarks, (rgb.shape[1], rgb.shape[0]), output_size, transform_size)
    return apply_transform(rgb, transform), transform


def apply_transform(rgb: np.ndarray, transform: AlignTransform) -> np.ndarray:
    """The aligned image that `transform` describes, from the photo it was made for."""
    require_rgb(rgb)
    if (rgb.shape[1], rgb.shape[0]) != transform.photo_size:
        raise InvalidInputError(
            f"The photo is {rgb.shape[1]}×{rgb.shape[0]} pixels but the alignment was made "
            f"for {transform.photo_size[0]}×{transform.photo_size[1]}."
        )
    if transform.method == CENTRE_CROP:
        return _resize_crop(rgb, transform)
    region = _shrunk_crop(rgb, transform)
    local_quad = np.array(transform.quad, dtype=np.float64) / transform.shrink
    local_quad += np.array(transform.padding[:2]) - np.array(transform.crop_box[:2])
    if any(transform.padding):
        window = _sampled_window(local_quad, region.shape, transform.padding)
        region = _pad_and_blend(
            region, transform.padding, transform.qsize / transform.shrink, window
        )
        local_quad -= window[:2]
    return _warp_and_reduce(region, local_quad, transform.transform_size, transform.output_size)


def _resize_crop(rgb: np.ndarray, transform: AlignTransform) -> np.ndarray:
    x0, y0, x1, y1 = transform.crop_box
    crop = rgb[y0:y1, x0:x1]
    size = transform.output_size
    if crop.shape[0] == size and crop.shape[1] == size:
        return np.array(crop)
    resized = Image.fromarray(np.ascontiguousarray(crop)).resize(
        (size, size), Image.Resampling.LANCZOS
    )
    return np.asarray(resized).copy()


def _shrunk_crop(rgb: np.ndarray, transform: AlignTransform) -> np.ndarray:
    """crop_box of the photo Lanczos-shrunk to shrunk_size, computing only that crop."""
    x0, y0, x1, y1 = transform.crop_box
    if transform.shrink <= 1:
        return rgb[y0:y1, x0:x1]
    width, height = transform.photo_size
    scale_x = width / transform.shrunk_size[0]
    scale_y = height / transform.shrunk_size[1]
    # Source rows/columns the Lanczos windows of the crop touch, plus a safety pixel.
    margin_x = math.ceil(LANCZOS_SUPPORT * scale_x) + 2
    margin_y = math.ceil(LANCZOS_SUPPORT * scale_y) + 2
    sx0 = max(math.floor(x0 * scale_x) - margin_x, 0)
    sy0 = max(math.floor(y0 * scale_y) - margin_y, 0)
    sx1 = min(math.ceil(x1 * scale_x) + margin_x, width)
    sy1 = min(math.ceil(y1 * scale_y) + margin_y, height)
    source = Image.fromarray(np.ascontiguousarray(rgb[sy0:sy1, sx0:sx1]))
    box = (x0 * scale_x - sx0, y0 * scale_y - sy0, x1 * scale_x - sx0, y1 * scale_y - sy0)
    shrunk = source.resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS, box=box)
    return np.asarray(shrunk)


def _sampled_window(
    quad: np.ndarray, region_shape: tuple[int, ...], padding: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the padded image that the bilinear warp of `quad` can read."""
    left, top, right, bottom = _quad_bounds(quad)
    width = region_shape[1] + padding[0] + padding[2]
    height = region_shape[0] + padding[1] + padding[3]
    return (max(left - 2, 0), max(top - 2, 0), min(right + 3, width), min(bottom + 3, height))


def _pad_and_blend(
    region: np.ndarray,
    padding: tuple[int, int, int, int],
    qsize: float,
    window: tuple[int, int, int, int],
) -> np.ndarray:
    """Reflect-pad, then fade the padding to a blur and to the median colour (NVIDIA's step).

    Returns only `window` of the padded image: the blur and the median need the whole
    canvas, the blending only the pixels the warp reads. One channel at a time in float32.
    """
    left, top, right, bottom = padding
    padded = np.pad(region, ((top, bottom), (left, right), (0, 0)), "reflect")
    height, width = padded.shape[:2]
    mask_x, mask_y = _padding_masks(width, height, padding)
    x0, y0, x1, y1 = window
    blur_weight, median_weight = _blend_weights(mask_x[x0:x1], mask_y[y0:y1])
    stride = max(1, math.ceil(math.sqrt(width * height / EXACT_MEDIAN_PIXELS)))
    sample_blur_weight, _ = _blend_weights(mask_x[::stride], mask_y[::stride])
    sigma = qsize * 0.02
    result = np.empty((y1 - y0, x1 - x0, 3), dtype=np.uint8)
    scratch = np.empty((y1 - y0, x1 - x0), dtype=np.float32)
    for channel in range(3):
        values = padded[:, :, channel].astype(np.float32)
        blurred = _gaussian_blur(values, sigma)
        sample = values[::stride, ::stride]
        sample = sample + (blurred[::stride, ::stride] - sample) * sample_blur_weight
        median = np.float32(np.median(sample))
        blended = blurred[y0:y1, x0:x1]  # reuses the blur's memory
        blended -= values[y0:y1, x0:x1]
        blended *= blur_weight
        blended += values[y0:y1, x0:x1]  # values + (blur − values) · blur_weight
        np.multiply(blended, median_weight, out=scratch)
        blended -= scratch
        np.multiply(median_weight, median, out=scratch)
        blended += scratch  # blended + (median − blended) · median_weight
        np.rint(blended, out=blended)
        np.clip(blended, 0, 255, out=blended)
        result[:, :, channel] = blended
    return result


def _padding_masks(
    width: int, height: int, padding: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """NVIDIA's padding mask is max(mask_x[x], mask_y[y]): below 0 inside the photo, rising
    to 1 at the outer edge of the padding."""
    left, top, right, bottom = (max(p, 1) for p in padding)  # NVIDIA's pads are never 0 here
    xs = np.arange(width, dtype=np.float32)
    ys = np.arange(height, dtype=np.float32)
    mask_x = 1.0 - np.minimum(xs / left, (width - 1 - xs) / right)
    mask_y = 1.0 - np.minimum(ys / top, (height - 1 - ys) / bottom)
    return mask_x, mask_y


def _blend_weights(mask_x: np.ndarray, mask_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights towards the blur (clip(3·mask + 1)) and the median (clip(mask)) on a grid."""
    mask = np.maximum(mask_x[None, :], mask_y[:, None])
    blur_weight = mask * np.float32(3.0)
    blur_weight += np.float32(1.0)
    np.clip(blur_weight, 0.0, 1.0, out=blur_weight)
    np.clip(mask, 0.0, 1.0, out=mask)
    return blur_weight, mask


def _gaussian_blur(values: np.ndarray, sigma: float) -> np.ndarray:
    """scipy.ndimage.gaussian_filter(values, sigma) (mode 'reflect', truncate 4), fast.

    Above EXACT_BLUR_MAX_SIGMA the blur runs on an area-reduced copy and is interpolated
    back; the reduction and interpolation are subtracted from the variance.
    """
    if sigma <= EXACT_BLUR_MAX_SIGMA:
        return _exact_gaussian_blur(values, sigma)
    factor = int(sigma // (EXACT_BLUR_MAX_SIGMA / 2))
    height, width = values.shape
    small_size = (max(math.ceil(width / factor), 1), max(math.ceil(height / factor), 1))
    small = cv2.resize(values, small_size, interpolation=cv2.INTER_AREA)
    # Box of `factor` pixels: variance (f² − 1) / 12; linear interpolation back: about f² / 6.
    residual_variance = sigma**2 - (factor**2 - 1) / 12.0 - factor**2 / 6.0
    small = _exact_gaussian_blur(small, math.sqrt(residual_variance) / factor)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _exact_gaussian_blur(values: np.ndarray, sigma: float) -> np.ndarray:
    radius = int(4.0 * sigma + 0.5)
    size = 2 * radius + 1
    return cv2.GaussianBlur(
        values, (size, size), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT
    )


def _warp_and_reduce(
    image: np.ndarray, quad: np.ndarray, transform_size: int, output_size: int
) -> np.ndarray:
    """Pillow's bilinear QUAD warp to transform_size², then Lanczos to output_size².

    The quad is a parallelogram, for which QUAD is the AFFINE transform used here (same
    pixels). The work is split into horizontal strips on worker threads (Pillow releases the
    GIL): each strip warps the rows its Lanczos windows need, and Pillow's resize with a box
    then gives exactly the rows a full-size reduction would.
    """
    source = Image.fromarray(np.ascontiguousarray(image))
    # +0.5: Pillow's transform takes pixel-edge coordinates.
    top_left, bottom_left, _, top_right = quad + 0.5
    step_x = (top_right - top_left) / transform_size
    step_y = (bottom_left - top_left) / transform_size
    reducing = output_size < transform_size
    ratio = transform_size / output_size
    margin = math.ceil(LANCZOS_SUPPORT * ratio) + 1 if reducing else 0

    def strip(rows: tuple[int, int]) -> tuple[int, np.ndarray]:
        out0, out1 = rows
        first = max(math.floor(out0 * ratio) - margin, 0)
        last = min(math.ceil(out1 * ratio) + margin, transform_size)
        origin = top_left + step_y * first
        coefficients = (step_x[0], step_y[0], origin[0], step_x[1], step_y[1], origin[1])
        warped = source.transform(
            (transform_size, last - first),
            Image.Transform.AFFINE,
            coefficients,
            Image.Resampling.BILINEAR,
        )
        if reducing:
            box = (0.0, out0 * ratio - first, float(transform_size), out1 * ratio - first)
            warped = warped.resize((output_size, out1 - out0), Image.Resampling.LANCZOS, box=box)
        return out0, np.asarray(warped)

    aligned = np.empty((output_size, output_size, 3), dtype=np.uint8)
    workers = max(1, min(os.cpu_count() or 1, 8))
    strips = _split_rows(output_size, 2 * workers if workers > 1 else 1)
    if workers == 1:
        results = map(strip, strips)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(strip, strips))
    for out0, pixels in results:
        aligned[out0 : out0 + pixels.shape[0]] = pixels
    return aligned


def _split_rows(size: int, parts: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, size, min(parts, size) + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b > a]
