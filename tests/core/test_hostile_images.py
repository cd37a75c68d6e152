"""Hostile and unlucky image files: every one is an ImageError, nothing runs, nothing hangs."""

from __future__ import annotations

import os
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image

from core.errors import ImageError
from core.imageio import load_photo, open_image
from core.segment.mask_io import load_mask

POSTSCRIPT = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n"
              b"newpath 0 0 moveto 16 16 lineto stroke\nshowpage\n%%EOF\n")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width×height 8-bit grey pixels and holds one tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.fixture
def fake_ghostscript(tmp_path, monkeypatch) -> Path:
    """A `gs` on PATH that only leaves a marker file behind if anything starts it."""
    marker = tmp_path / "ghostscript-ran"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gs = bin_dir / "gs"
    gs.write_text(f"#!/bin/sh\ntouch {marker}\nexit 0\n")
    gs.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)
    monkeypatch.setattr(EpsImagePlugin, "gs_windows_binary", None)
    return marker


@pytest.mark.parametrize("name", ["mask.png", "mask.eps", "mask.ps"])
def test_postscript_mask_never_starts_ghostscript(tmp_path, fake_ghostscript, name):
    path = tmp_path / name
    path.write_bytes(POSTSCRIPT)
    with pytest.raises(ImageError, match="not a JPEG, PNG, WebP, TIFF or BMP image"):
        load_mask(path, 16)
    assert not fake_ghostscript.exists()


def test_postscript_photo_never_starts_ghostscript(tmp_path, fake_ghostscript):
    path = tmp_path / "photo.jpg"
    path.write_bytes(POSTSCRIPT)
    with pytest.raises(ImageError):
        load_photo(path)
    assert not fake_ghostscript.exists()


@pytest.mark.parametrize("reader", [load_photo, lambda p: load_mask(p, 16)],
                         ids=["photo", "mask"])
def test_decompression_bomb_is_an_image_error(tmp_path, reader):
    path = tmp_path / "huge.png"
    path.write_bytes(_png_header_only(30000, 30000))
    with pytest.raises(ImageError, match=r"huge\.png"):
        reader(path)


def test_mask_over_the_pixel_limit_below_pillows_is_refused_before_decoding(tmp_path):
    data = _png_header_only(12000, 12000)  # 144 MP: under both limits, but the data is absent
    with pytest.raises(ImageError, match="more than the limit"):
        open_image(data, tmp_path / "m.png", max_pixels=100_000_000)


def _finishes(function, seconds: float = 5.0):
    """Run `function` in a thread; (finished, exception)."""
    outcome: list[BaseException | None] = []

    def run():
        try:
            function()
            outcome.append(None)
        except BaseException as error:  # handed to the test
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return thread, outcome


@pytest.mark.parametrize("reader", [load_photo, lambda p: load_mask(p, 16)],
                         ids=["photo", "mask"])
def test_fifo_is_refused_without_blocking(tmp_path, reader):
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    thread, outcome = _finishes(lambda: reader(fifo))
    if thread.is_alive():  # release the blocked open() so the thread can end
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(5)
    assert outcome and isinstance(outcome[0], ImageError), outcome
    assert "not a regular file" in str(outcome[0])


@pytest.mark.parametrize("reader", [load_photo, lambda p: load_mask(p, 16)],
                         ids=["photo", "mask"])
def test_devices_are_refused_before_reading(reader):
    with pytest.raises(ImageError, match="/dev/zero is a device, not a regular file"):
        reader(Path("/dev/zero"))


def test_folder_and_missing_file(tmp_path):
    with pytest.raises(ImageError, match="is a folder"):
        load_mask(tmp_path, 16)
    with pytest.raises(ImageError, match="does not exist"):
        load_mask(tmp_path / "nothing.png", 16)


def test_oversized_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.png"
    with open(path, "wb") as f:  # sparse: no disk space used
        f.truncate((1 << 30) + 1)
    with pytest.raises(ImageError, match="larger than any image SemEdit reads"):
        load_photo(path)


def test_real_masks_still_load(tmp_path):
    values = np.linspace(0, 255, 16 * 16).reshape(16, 16).astype(np.uint8)
    Image.fromarray(values, "L").save(tmp_path / "m.png")
    loaded = load_mask(tmp_path / "m.png", 16)
    assert loaded.warning is None
    np.testing.assert_allclose(loaded.mask, values / 255.0, atol=1e-6)


def test_a_damaged_project_copy_is_not_blamed_on_the_users_photo():
    from core.imageio import decode_photo

    with pytest.raises(ImageError) as caught:
        decode_photo(b"\xff\xd8\xff garbage", "/home/me/portrait.jpg")
    message = str(caught.value)
    assert message.startswith("The copy of portrait.jpg kept in the project is not a JPEG")
    assert "/home/me" not in message
