from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageCms, ImageOps

from core.errors import ImageError, InvalidInputError
from core.imageio import MAX_PHOTO_PIXELS, Photo, load_photo, save_image

ARTIST_TAG = 0x013B
ORIENTATION_TAG = 0x0112


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage.data.astronaut()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


@functools.cache
def srgb_profile() -> bytes:
    # Cached: the profile records its creation time, so two calls can differ.
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_with(orientation: int | None = None, artist: str | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[ORIENTATION_TAG] = orientation
    if artist is not None:
        exif[ARTIST_TAG] = artist
    return exif.tobytes()


# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp", ".webp", ".jpg"])
def test_each_format_loads_as_uint8_rgb(tmp_path: Path, astronaut: np.ndarray, suffix: str):
    path = tmp_path / f"photo{suffix}"
    Image.fromarray(astronaut).save(path, **({"lossless": True} if suffix == ".webp" else {}))

    photo = load_photo(path)

    assert isinstance(photo, Photo)
    assert photo.rgb.dtype == np.uint8 and photo.rgb.shape == (512, 512, 3)
    assert photo.size == (512, 512)
    assert photo.file_bytes == path.read_bytes()
    if suffix == ".jpg":
        assert photo.format == "JPEG"
        assert psnr(photo.rgb, astronaut) > 30
    else:
        np.testing.assert_array_equal(photo.rgb, astronaut)


def test_loaded_pixels_are_read_only(tmp_path: Path, astronaut: np.ndarray):
    path = tmp_path / "photo.png"
    Image.fromarray(astronaut).save(path)
    assert not load_photo(path).rgb.flags.writeable


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(tmp_path: Path, orientation: int):
    pixels = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = tmp_path / "oriented.png"
    Image.fromarray(pixels).save(path, exif=exif_with(orientation, "someone"))

    photo = load_photo(path)

    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    np.testing.assert_array_equal(photo.rgb, expected)
    exif = Image.Exif()
    exif.load(photo.exif)
    assert exif[ORIENTATION_TAG] == 1
    assert exif[ARTIST_TAG] == "someone"


def test_rotated_jpeg_comes_back_upright(tmp_path: Path, astronaut: np.ndarray):
    path = tmp_path / "rotated.jpg"
    stored = np.ascontiguousarray(np.rot90(astronaut, 1))  # orientation 6: turn 90° clockwise
    Image.fromarray(stored).save(path, quality=95, exif=exif_with(6))

    photo = load_photo(path)

    assert photo.size == (512, 512)
    assert psnr(photo.rgb, astronaut) > 30


def test_grayscale_becomes_three_equal_channels(tmp_path: Path, astronaut: np.ndarray):
    gray = np.asarray(Image.fromarray(astronaut).convert("L"))
    path = tmp_path / "gray.png"
    Image.fromarray(gray).save(path)

    rgb = load_photo(path).rgb

    for channel in range(3):
        np.testing.assert_array_equal(rgb[:, :, channel], gray)


def test_rgba_is_composited_on_white(tmp_path: Path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., :3] = (200, 40, 0)
    rgba[0, :, 3] = 255  # opaque row
    rgba[1, :, 3] = 0  # transparent row
    rgba[2, :, 3] = 128  # half
    rgba[3, :, 3] = 255
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)

    rgb = load_photo(path).rgb.astype(int)

    assert (rgb[0] == (200, 40, 0)).all()
    assert (rgb[1] == 255).all()
    np.testing.assert_allclose(rgb[2], [[227.5, 147.5, 127.0]] * 4, atol=1.5)


def test_palette_with_transparency_is_composited_on_white(tmp_path: Path):
    image = Image.new("P", (3, 2))
    image.putpalette([0, 0, 255, 10, 20, 30] + [0] * 762)
    image.putpixel((0, 0), 1)
    path = tmp_path / "palette.png"
    image.save(path, transparency=0)

    rgb = load_photo(path).rgb

    assert tuple(rgb[0, 0]) == (10, 20, 30)
    assert (rgb[1] == 255).all()


def test_16_bit_rgb_png_is_scaled_not_clipped(tmp_path: Path):
    values = np.random.default_rng(1).integers(0, 65536, (6, 8, 3), dtype=np.uint16)
    values[0, 0] = (65535, 32768, 0)
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), values[:, :, ::-1])

    rgb = load_photo(path).rgb

    np.testing.assert_allclose(rgb, np.round(values / 257.0), atol=1)
    assert tuple(rgb[0, 0]) in {(255, 127, 0), (255, 128, 0)}


def test_16_bit_grayscale_png_is_scaled_not_clipped(tmp_path: Path):
    ramp = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    path = tmp_path / "deep_gray.png"
    cv2.imwrite(str(path), ramp)

    rgb = load_photo(path).rgb

    np.testing.assert_array_equal(rgb[:, :, 0], np.round(ramp / 257.0).astype(np.uint8))
    assert rgb.max() == 255 and rgb.min() == 0
    assert len(np.unique(rgb)) == 64  # a clipped conversion would saturate most of the ramp


def test_cmyk_jpeg_loads_as_rgb(tmp_path: Path, astronaut: np.ndarray):
    cmyk = Image.fromarray(astronaut).convert("CMYK")
    path = tmp_path / "cmyk.jpg"
    cmyk.save(path, quality=95)

    photo = load_photo(path)

    assert photo.rgb.shape == (512, 512, 3)
    assert psnr(photo.rgb, astronaut) > 30
    assert photo.icc_profile is None


def test_icc_profile_of_an_rgb_photo_is_kept(tmp_path: Path, astronaut: np.ndarray):
    path = tmp_path / "tagged.jpg"
    Image.fromarray(astronaut).save(path, icc_profile=srgb_profile())
    assert load_photo(path).icc_profile == srgb_profile()


def test_first_frame_of_a_multipage_tiff(tmp_path: Path):
    frames = [Image.new("RGB", (4, 4), colour) for colour in ((10, 20, 30), (200, 0, 0))]
    path = tmp_path / "pages.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert tuple(load_photo(path).rgb[0, 0]) == (10, 20, 30)


# --- bad files -----------------------------------------------------------------------------


def test_zero_byte_file(tmp_path: Path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match="empty") as raised:
        load_photo(path)
    assert str(path) in str(raised.value)


def test_text_file_named_jpg(tmp_path: Path):
    path = tmp_path / "notes.jpg"
    path.write_text("these are not pixels\n")
    with pytest.raises(ImageError, match="not a JPEG, PNG, WebP, TIFF or BMP") as raised:
        load_photo(path)
    assert str(path) in str(raised.value)


def test_truncated_jpeg(tmp_path: Path, astronaut: np.ndarray):
    buffer = io.BytesIO()
    Image.fromarray(astronaut).save(buffer, format="JPEG", quality=90)
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="damaged or truncated") as raised:
        load_photo(path)
    assert str(path) in str(raised.value)


def test_missing_file(tmp_path: Path):
    with pytest.raises(ImageError, match="does not exist"):
        load_photo(tmp_path / "nowhere.png")


def test_unsupported_format(tmp_path: Path):
    path = tmp_path / "animation.gif"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(path)
    with pytest.raises(ImageError, match="not a JPEG, PNG, WebP, TIFF or BMP"):
        load_photo(path)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width × height RGB pixels and holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(100_000, 100_000))
    assert path.stat().st_size < 200
    with pytest.raises(ImageError) as raised:
        load_photo(path)
    assert str(path) in str(raised.value)


def test_photo_above_our_own_limit_is_refused(tmp_path: Path):
    side = int(np.sqrt(MAX_PHOTO_PIXELS)) + 10  # above our limit, below Pillow's hard limit
    path = tmp_path / "huge.png"
    path.write_bytes(png_header_only(side, side))
    with pytest.raises(ImageError, match="megapixels"):
        load_photo(path)


def test_pixel_limit_is_a_parameter(tmp_path: Path, astronaut: np.ndarray):
    path = tmp_path / "photo.png"
    Image.fromarray(astronaut).save(path)
    with pytest.raises(ImageError, match="512×512"):
        load_photo(path, max_pixels=512 * 511)
    assert load_photo(path, max_pixels=512 * 512).size == (512, 512)


# --- writing -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"])
def test_save_round_trip(tmp_path: Path, astronaut: np.ndarray, suffix: str):
    path = save_image(tmp_path / f"out{suffix}", astronaut)
    loaded = load_photo(path).rgb
    if suffix in {".png", ".tif", ".tiff", ".bmp"}:
        np.testing.assert_array_equal(loaded, astronaut)
    else:
        assert psnr(loaded, astronaut) > 35


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_save_keeps_icc_and_exif(tmp_path: Path, astronaut: np.ndarray, suffix: str):
    path = save_image(
        tmp_path / f"tagged{suffix}",
        astronaut,
        icc_profile=srgb_profile(),
        exif=exif_with(1, "SemEdit test"),
    )
    with Image.open(path) as image:
        assert image.info.get("icc_profile") == srgb_profile()
        assert image.getexif()[ARTIST_TAG] == "SemEdit test"
    if suffix != ".tif":  # TIFF tags are the file's own directory, not an EXIF block
        exif = Image.Exif()
        exif.load(load_photo(path).exif)
        assert exif[ARTIST_TAG] == "SemEdit test"


def test_bmp_drops_metadata_quietly(tmp_path: Path, astronaut: np.ndarray):
    path = save_image(tmp_path / "plain.bmp", astronaut, icc_profile=srgb_profile(), exif=b"x")
    np.testing.assert_array_equal(load_photo(path).rgb, astronaut)


def test_load_then_save_keeps_metadata(tmp_path: Path, astronaut: np.ndarray):
    source = tmp_path / "camera.jpg"
    Image.fromarray(astronaut).save(
        source, icc_profile=srgb_profile(), exif=exif_with(1, "photographer")
    )
    photo = load_photo(source)
    out = save_image(
        tmp_path / "edited.jpg",
        np.array(photo.rgb),
        icc_profile=photo.icc_profile,
        exif=photo.exif,
        source_path=photo.path,
    )
    with Image.open(out) as image:
        assert image.info["icc_profile"] == srgb_profile()
        assert image.getexif()[ARTIST_TAG] == "photographer"


def test_save_refuses_to_overwrite_the_source(tmp_path: Path, astronaut: np.ndarray):
    source = tmp_path / "mine.jpg"
    Image.fromarray(astronaut).save(source)
    before = source.read_bytes()
    for target in (source, tmp_path / "." / "mine.jpg", tmp_path / "sub" / ".." / "mine.jpg"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(ImageError, match="never overwrites"):
            save_image(target, astronaut, source_path=source)
    link = tmp_path / "link.jpg"
    link.symlink_to(source)
    with pytest.raises(ImageError, match="never overwrites"):
        save_image(link, astronaut, source_path=source)
    assert source.read_bytes() == before


def test_save_replaces_other_files_atomically(tmp_path: Path, astronaut: np.ndarray):
    target = tmp_path / "result.png"
    target.write_bytes(b"old")
    save_image(target, astronaut)
    np.testing.assert_array_equal(load_photo(target).rgb, astronaut)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.png"]  # no temporary left


def test_save_failure_leaves_nothing_behind(tmp_path: Path, astronaut: np.ndarray):
    with pytest.raises(ImageError, match="extension"):
        save_image(tmp_path / "result.gif", astronaut)
    with pytest.raises(ImageError, match="does not exist"):
        save_image(tmp_path / "missing" / "result.png", astronaut)
    assert list(tmp_path.iterdir()) == []


def test_save_checks_pixels(tmp_path: Path):
    with pytest.raises(InvalidInputError):
        save_image(tmp_path / "a.png", np.zeros((4, 4, 2), dtype=np.uint8))
    with pytest.raises(InvalidInputError):
        save_image(tmp_path / "a.png", np.zeros((4,), dtype=np.uint8))
    with pytest.raises(InvalidInputError):
        save_image(tmp_path / "a.png", np.zeros((4, 4, 3), dtype=np.float32))
    with pytest.raises(InvalidInputError):
        save_image(tmp_path / "a.jpg", np.zeros((4, 4, 3), dtype=np.uint8), quality=0)


def test_greyscale_pixels_save_as_greyscale(tmp_path: Path):
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    path = save_image(tmp_path / "mask.png", grey)
    with Image.open(path) as image:
        assert image.mode == "L"
        assert np.array_equal(np.asarray(image), grey)


def test_exif_too_long_for_a_jpeg_header_is_left_out(tmp_path: Path, astronaut: np.ndarray):
    long_exif = exif_with(1, "x" * 70_000)
    jpeg = save_image(tmp_path / "big_exif.jpg", astronaut, exif=long_exif)
    png = save_image(tmp_path / "big_exif.png", astronaut, exif=long_exif)
    assert load_photo(jpeg).exif is None
    assert load_photo(png).exif is not None
