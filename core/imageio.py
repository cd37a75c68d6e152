"""Reading the user's photos and writing results.

`load_photo` turns any JPEG, PNG, WebP, TIFF or BMP into an upright 8-bit RGB array and keeps
what a later save needs (ICC profile, EXIF with the orientation reset to 1). Conversions:

* EXIF orientation is applied to the pixels.
* Transparency is composited onto white (a cut-out portrait on white is what a user expects
  to see; dropping alpha would reveal whatever colour the transparent pixels happen to hold).
* 16-bit samples are scaled to 8 bits (65535 → 255), never clipped: grayscale by rounding
  v / 257, RGB by Pillow's decoder (the high byte, at most 1 level below rounding).
* CMYK is converted through its ICC profile when it has one, otherwise with Pillow's formula.
  Then, and for grayscale photos, the source profile does not describe RGB pixels and is
  dropped (`Photo.icc_profile` is None: the pixels are sRGB).
* Only the first frame of a multi-frame file is read.

`save_image` writes atomically (a temporary file in the same folder, then `os.replace`) and
refuses to write over the photo it was made from.

`open_image` is the one place SemEdit decodes an image (photos, masks, project members):
only the formats named are tried, chosen by content (Pillow's EPS plugin would start
Ghostscript), the pixel count is checked before decoding, and every failure is an
`ImageError`. `read_image_file` reads the bytes of a regular file of bounded size.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

from core.errors import ImageError, InvalidInputError
from core.fileio import FileReadError, read_regular_file, same_file, write_atomically

# Our own guard against decompression bombs. It is below Pillow's hard limit
# (2 × Image.MAX_IMAGE_PIXELS ≈ 179 MP by default), so this is the limit users meet; Pillow's
# DecompressionBombWarning for photos between its soft limit and ours is silenced.
MAX_PHOTO_PIXELS = 150_000_000

READ_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP")
MAX_IMAGE_FILE_BYTES = 1 << 30  # a 150-megapixel photo as a BMP is 450 MB

SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
}

# The file names a folder of photos is searched for (batch runs, `semedit eval`).
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")


def photos_in_folder(folder: Path) -> list[Path]:
    """The photos directly in `folder`, by name (hidden files and sub-folders left out)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in PHOTO_SUFFIXES)


_FORMATS_WITH_ICC = {"PNG", "JPEG", "WEBP", "TIFF"}
_FORMATS_WITH_EXIF = {"PNG", "JPEG", "WEBP", "TIFF"}
_EXIF_ORIENTATION = 0x0112
_WHITE = (255, 255, 255, 255)
_BAND_PIXELS = 4_000_000


@dataclass(frozen=True, eq=False)
class Photo:
    """A decoded photo: upright 8-bit RGB pixels plus what is needed to save it faithfully."""

    path: Path
    rgb: np.ndarray  # uint8 [H, W, 3], read-only, EXIF orientation applied
    file_bytes: bytes  # the file exactly as read
    format: str  # Pillow's format name: JPEG, PNG, WEBP, TIFF or BMP
    icc_profile: bytes | None  # an RGB profile for `rgb`, or None for sRGB
    exif: bytes | None  # EXIF block with Orientation = 1, or None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of `rgb`."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


def require_rgb(pixels: np.ndarray, what: str = "The photo") -> np.ndarray:
    """`pixels` if it is a uint8 (height, width, 3) array, else a clear InvalidInputError."""
    if (not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 3
            or pixels.shape[2] != 3):
        shape = getattr(pixels, "shape", None)
        raise InvalidInputError(f"{what} must be a uint8 (height, width, 3) array, not {shape}.")
    return pixels


def load_photo(path: str | Path, *, max_pixels: int = MAX_PHOTO_PIXELS) -> Photo:
    """Read a photo; every problem with the file is an `ImageError` naming it."""
    path = Path(path)
    return _decode_photo(read_image_file(path), path, str(path), max_pixels)


def decode_photo(file_bytes: bytes, path: str | Path, *,
                 max_pixels: int = MAX_PHOTO_PIXELS) -> Photo:
    """Decode the original photo kept inside a project; `path` is its original name.

    Errors speak of "the copy of NAME kept in the project": the user's own file may be fine.
    """
    path = Path(path)
    return _decode_photo(file_bytes, path, f"The copy of {path.name} kept in the project",
                         max_pixels)


def _decode_photo(file_bytes: bytes, path: Path, label: str, max_pixels: int) -> Photo:
    image = open_image(file_bytes, label, max_pixels=max_pixels)
    try:
        icc_profile = image.info.get("icc_profile") or None
        orientation, exif = _read_exif(image)
        rgb, icc_profile = _to_rgb(image, icc_profile)
    except ImageError:
        raise
    except MemoryError as error:
        raise ImageError(f"{label} is too large to load into memory.") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"{label} is damaged and cannot be read ({error}).") from error
    finally:
        image.close()
    rgb = _apply_orientation(rgb, orientation)
    rgb.flags.writeable = False  # a Photo is immutable; copy the pixels to change them
    return Photo(
        path=path,
        rgb=rgb,
        file_bytes=file_bytes,
        format=str(image.format),
        icc_profile=icc_profile,
        exif=exif,
    )


def read_image_file(path: str | Path, *, limit: int = MAX_IMAGE_FILE_BYTES) -> bytes:
    """The bytes of an image file: a regular file, not empty, at most `limit` bytes."""
    path = Path(path)
    try:
        data = read_regular_file(path, limit, what="image")
    except FileReadError as error:
        raise ImageError(f"{path} {error.reason}.") from error
    if not data:
        raise ImageError(f"{path} is empty (0 bytes), so it is not an image.")
    return data


def open_image(data: bytes, path: str | Path, *, formats: tuple[str, ...] = READ_FORMATS,
               max_pixels: int = MAX_PHOTO_PIXELS,
               size: tuple[int, int] | None = None) -> Image.Image:
    """Decode the first frame of an image; every failure is an `ImageError` naming `path`.

    Only `formats` are tried, by content, whatever the file is called. The declared size
    is checked before any pixel is decoded: at most `max_pixels`, and exactly `size`
    (width, height) when given.
    """
    with warnings.catch_warnings():
        # Our own max_pixels check replaces Pillow's soft-limit warning.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = _open_image(path, data, formats)
        try:
            _check_pixel_count(path, image.size, max_pixels)
            if size is not None and image.size != tuple(size):
                raise ImageError(f"{path} is {image.size[0]}×{image.size[1]} pixels, "
                                 f"not {size[0]}×{size[1]}.")
            image.load()
        except ImageError:
            image.close()
            raise
        except MemoryError as error:
            image.close()
            raise ImageError(f"{path} is too large to load into memory.") from error
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as error:
            image.close()
            raise ImageError(
                f"{path} is damaged or truncated and cannot be read ({error})."
            ) from error
    return image


def _open_image(path: str | Path, data: bytes, formats: tuple[str, ...]) -> Image.Image:
    # formats= keeps Pillow away from plugins we do not support (and from EPS, which runs
    # Ghostscript).
    try:
        return Image.open(io.BytesIO(data), formats=list(formats))
    except UnidentifiedImageError as error:
        raise ImageError(
            f"{path} is not a {_format_names(formats)} image, or it is too damaged to read."
        ) from error
    except Image.DecompressionBombError as error:  # above Pillow's hard limit
        raise ImageError(
            f"{path} declares more pixels than SemEdit will open ({error})."
        ) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"{path} is damaged and cannot be read ({error}).") from error


def _format_names(formats: tuple[str, ...]) -> str:
    names = [{"WEBP": "WebP"}.get(f, f) for f in formats]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _check_pixel_count(path: str | Path, size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageError(f"{path} declares an empty image ({width}×{height} pixels).")
    if width * height > max_pixels:
        raise ImageError(
            f"{path} is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels), "
            f"more than the limit of {max_pixels / 1e6:.0f} megapixels."
        )


def _read_exif(image: Image.Image) -> tuple[int, bytes | None]:
    """The EXIF orientation (1 to 8) and the EXIF block to keep, with orientation reset."""
    try:
        exif = image.getexif()
        orientation = int(exif.get(_EXIF_ORIENTATION, 1))
    except Exception:  # a broken EXIF block must not stop the photo from loading
        return 1, None
    if orientation not in range(1, 9):
        orientation = 1
    # TIFF "EXIF" is the file's own directory (strip offsets and all): not worth keeping.
    if "exif" not in image.info or image.format == "TIFF":
        return orientation, None
    try:
        if _EXIF_ORIENTATION in exif:
            exif[_EXIF_ORIENTATION] = 1
        return orientation, exif.tobytes()
    except Exception:
        return orientation, None


def _to_rgb(image: Image.Image, icc_profile: bytes | None) -> tuple[np.ndarray, bytes | None]:
    """8-bit RGB pixels of any Pillow mode, and the ICC profile that still describes them."""
    mode = image.mode
    if mode == "RGB":
        return _rgb_array(image), _rgb_profile_or_none(icc_profile)
    if mode == "CMYK":
        return _rgb_array(_cmyk_to_rgb(image, icc_profile)), None
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        gray = _scale_to_uint8(np.asarray(image))
        return np.repeat(gray[:, :, None], 3, axis=2), None
    if _has_alpha(image):
        rgba = image.convert("RGBA")
        composite = Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba)
        profile = _rgb_profile_or_none(icc_profile) if mode in ("RGBA", "RGBa", "P", "PA") else None
        return _rgb_array(composite.convert("RGB")), profile
    profile = _rgb_profile_or_none(icc_profile) if mode in ("P", "RGBX") else None
    return _rgb_array(image.convert("RGB")), profile


def _rgb_array(image: Image.Image) -> np.ndarray:
    """The pixels of an RGB image, copied in bands of rows.

    np.asarray(image) goes through Image.tobytes, which briefly holds two more full-size
    copies (over half a gigabyte for a 100-megapixel photo) and is slower.
    """
    width, height = image.size
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    rows = max(1, _BAND_PIXELS // width)
    for top in range(0, height, rows):
        bottom = min(top + rows, height)
        band = image if (top, bottom) == (0, height) else image.crop((0, top, width, bottom))
        pixels[top:bottom] = np.frombuffer(band.tobytes(), np.uint8).reshape(bottom - top, width, 3)
    return pixels


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info


def _rgb_profile_or_none(icc_profile: bytes | None) -> bytes | None:
    # Bytes 16-19 of an ICC header name the colour space of the data it describes.
    if icc_profile and len(icc_profile) >= 20 and icc_profile[16:20] == b"RGB ":
        return icc_profile
    return None


def _cmyk_to_rgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    if icc_profile and icc_profile[16:20] == b"CMYK":
        with contextlib.suppress(ImageCms.PyCMSError, OSError, ValueError):
            converted = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
            if converted is not None:
                return converted
    return image.convert("RGB")


def _scale_to_uint8(samples: np.ndarray) -> np.ndarray:
    """High-bit-depth grayscale to 8 bits by scaling its nominal range, without clipping.

    16-bit data spans 0..65535; 32-bit integers whose values stay below 256 are taken as
    8-bit data; floats up to 1.0 as 0..1; anything else is scaled by its own maximum.
    """
    if samples.dtype == np.uint8:
        return samples
    peak = float(samples.max()) if samples.size else 0.0
    if samples.dtype.kind == "f":
        full_scale = 1.0 if peak <= 1.0 else (255.0 if peak <= 255.0 else peak)
    elif samples.dtype.itemsize == 2 or peak > 255:
        full_scale = 65535.0 if peak <= 65535 else peak
    else:
        full_scale = 255.0
    scaled = samples.astype(np.float32) * np.float32(255.0 / full_scale)
    np.clip(scaled, 0, 255, out=scaled)  # negative floats only; the scale keeps the top in range
    return np.rint(scaled).astype(np.uint8)


def _apply_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip pixels as EXIF orientation 1..8 asks (the same result as Pillow's)."""
    views = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
        8: lambda a: a.transpose(1, 0, 2)[::-1],
    }
    if orientation == 1:
        return rgb
    return np.ascontiguousarray(views[orientation](rgb))


def save_image(
    path: str | Path,
    rgb: np.ndarray,
    *,
    quality: int = 95,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    source_path: str | Path | None = None,
) -> Path:
    """Write uint8 RGB (or 2-D greyscale) pixels; the format comes from the extension.

    ICC and EXIF are kept where the format can hold them (not BMP). JPEG files above 90
    quality use 4:4:4 chroma. An EXIF block too long for a JPEG header is left out.
    """
    path = Path(path)
    image_format = _format_for(path)
    _check_pixels(path, rgb)
    if source_path is not None and same_file(path, Path(source_path)):
        raise ImageError(
            f"{path} is the photo being edited; SemEdit never overwrites it. "
            "Choose another file name."
        )
    if not 1 <= quality <= 100:
        raise InvalidInputError(f"Quality must be between 1 and 100, not {quality}.")
    options = _save_options(image_format, quality, icc_profile, exif)
    image = Image.fromarray(np.ascontiguousarray(rgb), "L" if rgb.ndim == 2 else "RGB")
    try:
        _write_atomically(path, image, image_format, options)
    except ValueError as error:
        if "exif" not in options or "EXIF data is too long" not in str(error):
            raise ImageError(f"{path} could not be written: {error}.") from error
        del options["exif"]
        _write_atomically(path, image, image_format, options)
    return path


def _format_for(path: Path) -> str:
    image_format = SAVE_FORMATS.get(path.suffix.lower())
    if image_format is None:
        known = ", ".join(sorted(SAVE_FORMATS))
        raise ImageError(f"{path} has an extension SemEdit cannot write; use one of {known}.")
    return image_format


def _check_pixels(path: Path, rgb: np.ndarray) -> None:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
        raise InvalidInputError(f"The pixels for {path} must be a uint8 array.")
    is_grey = rgb.ndim == 2
    is_rgb = rgb.ndim == 3 and rgb.shape[2] == 3
    if not (is_grey or is_rgb) or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise InvalidInputError(
            f"The pixels for {path} must have shape (height, width, 3) or (height, width), "
            f"not {rgb.shape}."
        )


def _save_options(
    image_format: str, quality: int, icc_profile: bytes | None, exif: bytes | None
) -> dict[str, object]:
    options: dict[str, object] = {}
    if image_format == "JPEG":
        options.update(quality=quality, subsampling=0 if quality >= 90 else 2, optimize=True)
    elif image_format == "WEBP":
        options.update(quality=quality, method=4)
    elif image_format == "PNG":
        options.update(compress_level=6)
    elif image_format == "TIFF":
        options.update(compression="tiff_lzw")
    if icc_profile and image_format in _FORMATS_WITH_ICC:
        options["icc_profile"] = icc_profile
    if exif and image_format in _FORMATS_WITH_EXIF:
        options["exif"] = exif
    return options


def _write_atomically(
    path: Path, image: Image.Image, image_format: str, options: dict[str, object]
) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise ImageError(f"{path} cannot be written: the folder {folder} does not exist.")
    try:
        write_atomically(path, lambda stream: image.save(stream, format=image_format, **options))
    except OSError as error:
        raise ImageError(f"{path} could not be written: {error.strerror or error}.") from error
