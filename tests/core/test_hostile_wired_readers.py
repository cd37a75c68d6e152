"""The call sites that decoded user files themselves now go through the bounded readers."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest
import torch

from core.edit.supervised import load_labelled_latents
from core.errors import CheckpointError, InvalidInputError, ModelMissingError
from core.invert.losses import read_vgg16_features


class _Payload:
    def __reduce__(self):
        return (print, ("ran",))


def test_vgg_file_with_python_objects_is_one_line_without_torchs_advice(tmp_path):
    path = tmp_path / "vgg16.pth"
    torch.save({"features.0.weight": torch.zeros(1), "x": _Payload()}, path)
    with pytest.raises(CheckpointError) as caught:
        read_vgg16_features(path)
    text = str(caught.value)
    assert text.startswith(f"{path}: not a readable VGG16 weights file (refused")
    assert "\n" not in text and "weights_only" not in text


def test_missing_vgg_file_offers_the_download(tmp_path):
    with pytest.raises(ModelMissingError):
        read_vgg16_features(tmp_path / "missing.pth")


def test_labelled_latents_npz_bomb_is_refused_before_it_is_unpacked(tmp_path):
    # a 2 GiB array of zeros deflates to a few MB; its header is read before its body
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (1 << 19, 1024)})
    path = tmp_path / "labels.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("w.npy", "w", force_zip64=True) as stream:
            stream.write(header.getvalue())
            chunk = bytes(1 << 24)
            for _ in range(128):
                stream.write(chunk)
        archive.writestr("labels.npy", b"")
    with pytest.raises(CheckpointError, match="more than"):
        load_labelled_latents(path, w_dim=1024)


def test_labelled_latents_npz_still_reads(tmp_path):
    path = tmp_path / "labels.npz"
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.savez(path, w=w, labels=np.array([0.0, 1.0, 1.0]))
    latents, labels = load_labelled_latents(path, w_dim=4)
    assert np.array_equal(latents, w) and labels.tolist() == [0.0, 1.0, 1.0]


def test_preset_list_larger_than_allowed_is_refused_without_reading_it(tmp_path, monkeypatch):
    from core.edit import packs

    path = tmp_path / "s_presets.py"
    path.write_bytes(b"#" * 2048)
    monkeypatch.setattr(packs, "_MAX_PRESETS_BYTES", 1024)
    monkeypatch.setattr(type(path), "read_bytes", lambda self: pytest.fail("read whole"))
    with pytest.raises(InvalidInputError, match="not a readable preset list"):
        packs.read_chunkmogrify_presets(path)


def test_preset_list_from_a_fifo_does_not_block(tmp_path):
    from core.edit import packs

    path = tmp_path / "s_presets.py"
    os.mkfifo(path)
    with pytest.raises(InvalidInputError, match="not a readable preset list"):
        packs.read_chunkmogrify_presets(path)
