"""Direction and array files that lie about their size: refused before they are read."""

from __future__ import annotations

import io
import os
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch

from core.checkpoint_files import ArrayFileError, read_npy_bytes, read_npz_bytes
from core.edit.direction_io import import_direction_file
from core.errors import CheckpointError

W, L = 32, 6


def _load(path):
    return import_direction_file(path, w_dim=W, num_ws=L)


def _refused_within(path, match: str, peak_bytes: int = 32 << 20) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=match) as caught:
            _load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(path) in str(caught.value)
    assert "weights_only" not in str(caught.value).replace(str(path), "")
    assert peak < peak_bytes, f"{peak / 1e6:.0f} MB allocated while refusing"


def _npy_header(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    import io

    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, header)
    return stream.getvalue()


def test_zero_stride_direction_tensor_is_refused(tmp_path):
    path = tmp_path / "d.pt"
    torch.save(torch.zeros(1).expand(200_000, 200_000), path)  # 298 GB as float64
    assert path.stat().st_size < 10_000
    _refused_within(path, "overlapping strides")


def test_two_gib_npy_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.npy"
    with open(path, "wb") as f:
        f.write(_npy_header((1 << 28,)))
        f.truncate((2 << 30) + 128)  # sparse: no disk used
    _refused_within(path, "larger than")


def test_npy_header_promising_more_than_the_file_holds(tmp_path):
    path = tmp_path / "lying.npy"
    path.write_bytes(_npy_header((100_000, 100_000)) + b"\x00" * 64)
    _refused_within(path, "promises more data")


def test_npz_bomb_is_refused_before_unpacking(tmp_path):
    path = tmp_path / "bomb.npz"
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("a.npy", "w", force_zip64=True) as member:
        member.write(_npy_header((300 << 17,)))  # 300 MiB of float64 zeros
        for _ in range(300):
            member.write(zeros)
    assert path.stat().st_size < 2 << 20
    _refused_within(path, "unpack to more than")


def test_npz_member_whose_header_understates_its_size(tmp_path):
    """The zip says 1 KB, the data inflates to 64 MB: reading stops at the limit."""
    data = bytearray()
    with zipfile.ZipFile(tmp_path / "x.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.npy", _npy_header((8 << 20,)) + bytes(64 << 20))
    data = bytearray((tmp_path / "x.npz").read_bytes())
    # Patch the uncompressed size in the local header and the central directory.
    real = (64 << 20) + len(_npy_header((8 << 20,)))
    for offset in _all(data, real.to_bytes(4, "little")):
        data[offset:offset + 4] = (1024).to_bytes(4, "little")
    with pytest.raises(ArrayFileError):
        read_npz_bytes(bytes(data), limit=16 << 20)


def _all(data: bytearray, needle: bytes) -> list[int]:
    found, start = [], 0
    while (at := data.find(needle, start)) >= 0:
        found.append(at)
        start = at + 1
    return found


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".pt", ".json"])
def test_special_files_are_refused(tmp_path, suffix):
    path = tmp_path / f"fifo{suffix}"
    os.mkfifo(path)
    with pytest.raises(CheckpointError, match="not a regular file"):
        import_direction_file(path, w_dim=W, num_ws=L, code_space=None)


def test_object_and_structured_arrays_are_refused():
    import io

    for array in (np.array([{"a": 1}], dtype=object), np.zeros(3, dtype="i4,f4")):
        stream = io.BytesIO()
        np.save(stream, array, allow_pickle=True)
        with pytest.raises(ArrayFileError):
            read_npy_bytes(stream.getvalue(), limit=1 << 20)


def test_good_arrays_round_trip():
    import io

    for array in (np.arange(12, dtype=np.float32).reshape(3, 4),
                  np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.float64(2.5)):
        stream = io.BytesIO()
        np.save(stream, array)
        np.testing.assert_array_equal(read_npy_bytes(stream.getvalue(), limit=1 << 20), array)


def test_zip_with_a_damaged_version_field(tmp_path):
    """zipfile raises NotImplementedError for it (found by the fuzz suite)."""
    from core.errors import ProjectFileError
    from core.project.project_file import load_project

    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("a.npy", b"x")
    data = bytearray(stream.getvalue())
    data[data.find(b"PK\x01\x02") + 6] = 0xFF  # "version needed to extract": 25.5
    with pytest.raises(ArrayFileError, match=r"not a valid \.npz"):
        read_npz_bytes(bytes(data), limit=1 << 20)
    (tmp_path / "p.semedit").write_bytes(bytes(data))
    with pytest.raises(ProjectFileError, match="zip file version"):
        load_project(tmp_path / "p.semedit")
