"""Loading checkpoints the tests write in the real formats; refusing everything else."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from core.errors import CheckpointError
from core.stylegan import load_generator
from core.stylegan.safe_pickle import UnsafePickleError, safe_unpickle
from tests.checkpoint_writers import (
    nvidia_pickle_bytes,
    random_generator,
    write_nvidia_pickle,
    write_rosinality,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def _same_outputs(a, b, seed: int = 1) -> None:
    z = torch.randn(3, a.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ws_a, ws_b = a.mapping(z, truncation_psi=0.8), b.mapping(z, truncation_psi=0.8)
        assert torch.equal(ws_a, ws_b)
        ws_plus = ws_a + torch.randn_like(ws_a) * 0.3  # distinct rows catch a wrong layer order
        assert torch.allclose(a.synthesis(ws_plus), b.synthesis(ws_plus), atol=1e-5, rtol=0)
    assert torch.equal(a.w_avg, b.w_avg)


@pytest.mark.parametrize("resolution", [8, 64])
@pytest.mark.parametrize("protocol", [3, 4])
def test_nvidia_pickle_round_trip(tmp_path, resolution, protocol):
    original = random_generator(resolution, seed=resolution)
    path = write_nvidia_pickle(original, tmp_path / "net.pkl", protocol=protocol)
    loaded = load_generator(path)
    assert loaded.config == original.config
    assert loaded.source_format == "nvidia-pickle"
    _same_outputs(original, loaded)


@pytest.mark.parametrize("resolution", [4, 32, 128])
def test_rosinality_round_trip(tmp_path, resolution):
    original = random_generator(resolution, conv_clamp=None, seed=resolution)
    loaded = load_generator(write_rosinality(original, tmp_path / "g.pt"))
    assert loaded.img_resolution == resolution
    assert loaded.config.channels == original.config.channels
    _same_outputs(original, loaded)


def test_rosinality_training_checkpoint_estimates_w_avg(tmp_path):
    original = random_generator(16, conv_clamp=None)
    loaded = load_generator(write_rosinality(original, tmp_path / "train.pt", training=True))
    with torch.no_grad():
        z = torch.randn(20_000, original.z_dim, generator=torch.Generator().manual_seed(7))
        independent = original.mapping(z)[:, 0].mean(0)
        spread = original.mapping(z)[:, 0].std(0).mean()
    # A mean over 10k samples: within a few standard errors of another 20k-sample mean.
    assert (loaded.w_avg - independent).abs().max() < 0.1 * spread
    assert not torch.equal(loaded.w_avg, torch.zeros_like(loaded.w_avg))


def test_generator_is_ready_for_inference(tmp_path):
    g = load_generator(write_rosinality(random_generator(8), tmp_path / "g.pt"), device="cpu")
    assert not g.training
    assert not any(p.requires_grad for p in g.parameters())


# --- refusing hostile files --------------------------------------------------------


class _RunsCommand:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pickle_payload_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _RunsCommand(marker)}))
    with pytest.raises(CheckpointError, match=r"refused global (posix|os)\.system"):
        load_generator(path)
    assert not marker.exists()


def test_embedded_module_source_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    source = f"open({str(marker)!r}, 'w').write('x')\n"
    path = tmp_path / "net.pkl"
    path.write_bytes(nvidia_pickle_bytes(random_generator(8), module_src=source))
    g = load_generator(path)  # a valid network: loads, its source ignored
    assert g.img_resolution == 8
    assert not marker.exists()


def test_hostile_tensor_storage_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    inner = pickle.dumps(_RunsCommand(marker))

    class _Storage:
        def __reduce__(self):
            return torch.storage._load_from_bytes, (inner,)

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Storage()}))
    with pytest.raises(CheckpointError, match="refused"):
        load_generator(path)
    assert not marker.exists()


def test_build_on_an_allowed_function_is_refused():
    # GLOBAL collections.OrderedDict, then BUILD with a state dict: would set attributes
    # on our stand-in function if BUILD were not checked.
    stream = b"\x80\x02ccollections\nOrderedDict\n}X\x0c\x00\x00\x00__defaults__Nsb."
    with pytest.raises(UnsafePickleError, match="refused to set state"):
        safe_unpickle(io.BytesIO(stream))


@pytest.mark.parametrize("global_name", [b"builtins\neval", b"builtins\n__import__",
                                         b"subprocess\nPopen", b"numpy\nload"])
def test_unknown_globals_are_refused(global_name):
    stream = b"\x80\x02c" + global_name + b"\n."
    with pytest.raises(UnsafePickleError, match="refused global"):
        safe_unpickle(io.BytesIO(stream))


def test_object_dtype_numpy_scalar_is_refused():
    stream = (b"\x80\x02cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\nX\x02\x00\x00\x00O8"
              b"\x89\x88\x87R\x85R.")
    with pytest.raises(UnsafePickleError, match="not numeric"):
        safe_unpickle(io.BytesIO(stream))


def test_rosinality_with_arbitrary_objects_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"g_ema": {}, "payload": _RunsCommand(marker)}, path)
    with pytest.raises(CheckpointError, match="refused"):
        load_generator(path)
    assert not marker.exists()


# --- broken and foreign files ------------------------------------------------------


def test_truncated_nvidia_pickle(tmp_path):
    data = (DATA / "ada_tiny.pkl").read_bytes()
    path = tmp_path / "cut.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        load_generator(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("garbage", [b"\x80\x04not really a pickle",  # unknown opcode
                                     b"\x80\x04a.",  # append to an empty stack
                                     b"\x80\x04\x95" + b"\xff" * 8])  # a frame past the end
def test_garbage_that_looks_like_a_pickle(tmp_path, garbage):
    path = tmp_path / "garbage.pkl"
    path.write_bytes(garbage)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_generator(path)


def test_truncated_rosinality_checkpoint(tmp_path):
    data = (DATA / "rosinality_tiny.pt").read_bytes()
    path = tmp_path / "cut.pt"
    path.write_bytes(data[: len(data) - 5000])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_generator(path)


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty"),
    (b"hello, I am a text file\n", "not a model checkpoint"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not a model checkpoint"),
])
def test_non_checkpoints(tmp_path, content, reason):
    path = tmp_path / "model.pkl"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=reason):
        load_generator(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_generator(tmp_path / "absent.pkl")


def test_zip_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "archive.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "not torch")
    with pytest.raises(CheckpointError):
        load_generator(path)


def test_tensorflow_pickle_gets_a_clear_message(tmp_path):
    path = tmp_path / "tf.pkl"
    path.write_bytes(b"\x80\x03cdnnlib.tflib.network\nNetwork\n)\x81.")
    with pytest.raises(CheckpointError, match="TensorFlow"):
        load_generator(path)


def test_pickle_without_generator(tmp_path):
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps({"D": None, "epoch": 3}))
    with pytest.raises(CheckpointError, match="G_ema"):
        load_generator(path)


def test_rosinality_with_missing_layer(tmp_path):
    g = random_generator(16, conv_clamp=None)
    path = write_rosinality(g, tmp_path / "g.pt")
    data = torch.load(path, weights_only=True)
    del data["g_ema"]["convs.1.conv.weight"]
    torch.save(data, path)
    with pytest.raises(CheckpointError, match=r"convs\.1\.conv\.weight"):
        load_generator(path)


def test_mismatched_shapes_are_refused(tmp_path):
    g = random_generator(16, conv_clamp=None)
    path = write_rosinality(g, tmp_path / "g.pt")
    data = torch.load(path, weights_only=True)
    data["g_ema"]["convs.1.conv.weight"] = torch.zeros(1, 3, 3, 3, 3)
    torch.save(data, path)
    with pytest.raises(CheckpointError, match="shapes"):
        load_generator(path)
