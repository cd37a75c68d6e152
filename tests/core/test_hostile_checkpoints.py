"""Checkpoints that lie: every one is a CheckpointError naming the file, quickly and without
allocating what the file claims (each case once crashed, hung or allocated gigabytes)."""

from __future__ import annotations

import io
import pickle
import sys
import threading
import time
from collections import OrderedDict

import pytest
import torch

from core.checkpoint_files import PickleLimits, load_torch_file
from core.errors import CheckpointError
from core.stylegan import load_generator
from core.stylegan.safe_pickle import UnsafePickleError, _numpy_reconstruct, safe_unpickle
from tests.checkpoint_writers import (
    _install_fake_nvidia_modules,
    _module_state,
    _Persistent,
    nvidia_pickle_bytes,
    nvidia_to_rosinality,
    random_generator,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

HUGE = 200_000  # a 200000×200000 float32 tensor is 160 GB


def _bounded(function, seconds: float = 30.0):
    """The exception `function` raises, failing the test if it takes over `seconds`."""
    outcome: list[BaseException | None] = []

    def run():
        try:
            function()
            outcome.append(None)
        except BaseException as error:  # handed to the test
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    assert outcome, "no outcome"
    assert time.monotonic() - started < seconds
    return outcome[0]


def _nvidia_network(generator):
    """The persistent-object tree `nvidia_pickle_bytes` writes, for a test to tamper with."""
    _install_fake_nvidia_modules()
    easy = sys.modules["dnnlib.util"].EasyDict
    cfg = generator.config
    attrs = {"z_dim": cfg.z_dim, "c_dim": 0, "w_dim": cfg.w_dim, "num_ws": cfg.num_ws,
             "img_resolution": cfg.img_resolution, "img_channels": cfg.img_channels,
             "_init_args": (), "_init_kwargs": easy(c_dim=0, z_dim=cfg.z_dim)}
    return _module_state(generator, attrs, "# source omitted")


def _state(node: _Persistent, *path: str) -> dict:
    for name in path:
        node = node.meta["state"]["_modules"][name]
    return node.meta["state"]


def _write(tmp_path, network, name="net.pkl") -> object:
    path = tmp_path / name
    path.write_bytes(pickle.dumps({"G_ema": network, "G": None, "D": None}, protocol=4))
    return path


def _load_error(path, seconds: float = 30.0) -> CheckpointError:
    error = _bounded(lambda: load_generator(path), seconds)
    assert isinstance(error, CheckpointError), repr(error)
    assert str(path) in str(error)
    assert "weights_only" not in str(error).replace(str(path), "")
    return error


def test_shared_child_dag_is_refused_at_once(tmp_path):
    """41 levels whose two children are one object: 2^40 paths for a naive walk, 65 KB."""
    leaf = _Persistent("SynthesisLayer", {"_modules": OrderedDict(), "_parameters": {}})
    node = leaf
    for _ in range(41):
        node = _Persistent("SynthesisBlock", {"_modules": OrderedDict(a=node, b=node),
                                              "_parameters": {}})
    root = _Persistent("Generator", {"_modules": OrderedDict(synthesis=node),
                                     "_init_kwargs": {"c_dim": 0}})
    path = _write(tmp_path, root)
    assert path.stat().st_size < 100_000
    error = _load_error(path, seconds=10)
    assert "appears more than once" in str(error)


def test_modules_nested_3000_deep_are_refused_without_recursion_error(tmp_path):
    node = _Persistent("FullyConnectedLayer", {"_modules": OrderedDict()})
    for _ in range(3000):
        node = _Persistent("MappingNetwork", {"_modules": OrderedDict(inner=node)})
    root = _Persistent("Generator", {"_modules": OrderedDict(mapping=node)})
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(60_000)
    try:
        data = pickle.dumps({"G_ema": root}, protocol=4)
    finally:
        sys.setrecursionlimit(limit)
    path = tmp_path / "deep.pkl"
    path.write_bytes(data)
    error = _load_error(path)
    assert "nested" in str(error)


def test_resample_filter_of_the_wrong_shape(tmp_path):
    network = _nvidia_network(random_generator(8, seed=2))
    _state(network, "synthesis", "b8")["_buffers"]["resample_filter"] = torch.ones(3)
    error = _load_error(_write(tmp_path, network))
    assert "resample_filter" in str(error)


@pytest.mark.parametrize("c_dim", [torch.tensor([1, 2]), torch.tensor(0), "0", 1.5])
def test_c_dim_that_is_not_a_whole_number(tmp_path, c_dim):
    network = _nvidia_network(random_generator(8, seed=2))
    network.meta["state"]["_init_kwargs"]["c_dim"] = c_dim
    error = _load_error(_write(tmp_path, network))
    assert "c_dim" in str(error)


@pytest.mark.parametrize("group", ["_modules", "_parameters", "_buffers"])
def test_containers_of_the_wrong_type(tmp_path, group):
    network = _nvidia_network(random_generator(8, seed=2))
    _state(network, "mapping")[group] = [1, 2, 3]
    _load_error(_write(tmp_path, network))


def test_zero_stride_view_in_a_network_pickle_is_refused_before_allocating(tmp_path):
    network = _nvidia_network(random_generator(8, seed=2))
    view = torch.zeros(1).expand(HUGE, HUGE)  # 4 bytes of storage, 160 GB if copied
    _state(network, "mapping", "fc0")["_parameters"]["weight"] = view
    path = _write(tmp_path, network)
    assert path.stat().st_size < 100_000
    error = _load_error(path)
    assert "overlapping strides" in str(error)


def test_view_reaching_outside_its_storage(tmp_path):
    network = _nvidia_network(random_generator(8, seed=2))

    class Outside:  # torch itself would not make this view, so write its record by hand
        def __reduce__(self):
            storage = torch.zeros(4).untyped_storage()
            typed = torch.storage.TypedStorage(wrap_storage=storage, dtype=torch.float32,
                                               _internal=True)
            return torch._utils._rebuild_tensor_v2, (typed, 0, (4,), (2,), False, OrderedDict())

    _state(network, "mapping", "fc0")["_parameters"]["bias"] = Outside()  # elements 0..6 of 4
    error = _load_error(_write(tmp_path, network))
    assert "reaches element" in str(error)


def _rosinality_file(tmp_path, tamper, *, legacy: bool = False):
    generator = random_generator(8, seed=3)
    g_ema = nvidia_to_rosinality(generator.state_dict(), generator.config.mapping_layers)
    tamper(g_ema)
    path = tmp_path / "ros.pt"
    torch.save({"g_ema": g_ema, "latent_avg": generator.w_avg.clone()}, path,
               _use_new_zipfile_serialization=not legacy)
    return path


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_zero_stride_view_in_a_rosinality_checkpoint(tmp_path, legacy):
    def tamper(g_ema):
        g_ema["style.1.weight"] = torch.zeros(1).expand(HUGE, HUGE)

    path = _rosinality_file(tmp_path, tamper, legacy=legacy)
    assert path.stat().st_size < 200_000
    error = _load_error(path)
    assert "overlapping strides" in str(error)


def test_channels_that_would_need_a_huge_network_are_refused_before_building(tmp_path):
    """conv1 weights of shape [100000, 1, 1, 1] are 400 KB; the conv0 they imply is 360 GB."""
    def tamper(g_ema):
        g_ema["convs.1.conv.weight"] = torch.zeros(1, 100_000, 1, 1, 1)

    error = _load_error(_rosinality_file(tmp_path, tamper))
    assert "expected" in str(error)


def test_zip_checkpoint_with_a_compressed_member_is_refused(tmp_path):
    import zipfile

    path = _rosinality_file(tmp_path, lambda g: None)
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(tmp_path / "deflated.pt", "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
    error = _load_error(tmp_path / "deflated.pt")
    assert "compressed" in str(error)


def test_storage_declaring_more_bytes_than_present(tmp_path):
    """A pre-1.6 storage record claiming 10^12 floats backed by 12 bytes."""
    class Storage:
        def __reduce__(self):
            return torch.storage._load_from_bytes, (_lying_storage_bytes(10**12),)

    class Tensor:
        def __reduce__(self):
            return torch._utils._rebuild_tensor_v2, (Storage(), 0, (3,), (1,), False,
                                                     OrderedDict())

    network = _nvidia_network(random_generator(8, seed=2))
    _state(network, "mapping", "fc0")["_parameters"]["bias"] = Tensor()
    error = _load_error(_write(tmp_path, network))
    assert "declares" in str(error)


def _lying_storage_bytes(elements: int) -> bytes:
    stream = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001}):
        pickle.dump(header, stream, protocol=2)
    pickler = pickle.Pickler(stream, protocol=2)
    pickler.persistent_id = lambda obj: (  # the one object pickled is the storage record
        ("storage", torch.FloatStorage, "0", "cpu", elements, None) if obj == "S" else None)
    pickler.dump("S")
    pickle.dump(["0"], stream, protocol=2)
    stream.write((3).to_bytes(8, "little") + b"\x00" * 12)
    return stream.getvalue()


def test_deeply_nested_containers_hit_the_nesting_limit():
    data = b"\x80\x02" + b"(" * 500 + b"l" * 500 + b"."
    with pytest.raises(UnsafePickleError, match="nested more than"):
        safe_unpickle(io.BytesIO(data))


def test_opcode_and_memo_limits():
    data = nvidia_pickle_bytes(random_generator(8, seed=2))
    with pytest.raises(UnsafePickleError, match="pickle operations"):
        safe_unpickle(io.BytesIO(data), limits=PickleLimits(opcodes=100))
    with pytest.raises(UnsafePickleError, match="remembered objects"):
        safe_unpickle(io.BytesIO(data), limits=PickleLimits(memo=10))


def test_numpy_placeholder_cannot_allocate():
    import numpy as np

    with pytest.raises(UnsafePickleError):
        _numpy_reconstruct(np.ndarray, (10**6, 10**6), b"b")


def test_torchs_advice_to_switch_off_its_checks_never_reaches_the_user(tmp_path):
    path = tmp_path / "objects.pt"
    torch.save({"g_ema": {}, "thing": threading.Lock.__name__, "obj": io.StringIO}, path)
    error = _bounded(lambda: load_torch_file(path))
    assert isinstance(error, CheckpointError)
    message = str(error).replace(str(tmp_path), "")
    assert "refused" in message and "StringIO" in message
    assert "weights_only" not in message and "safe_globals" not in message


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_special_files_are_refused(tmp_path, special):
    import os

    path = tmp_path / "net.pkl"
    if special == "fifo":
        os.mkfifo(path)
    else:
        path = special
    error = _bounded(lambda: load_generator(path), 10)
    assert isinstance(error, CheckpointError) and "not a regular file" in str(error)


@pytest.mark.parametrize("payload", [
    b"\x80\x04\x8e" + (1 << 40).to_bytes(8, "little") + b"abc",  # BINBYTES8 of 1 TiB
    b"\x80\x04\x95" + (1 << 40).to_bytes(8, "little") + b"N.",  # a FRAME of 1 TiB
], ids=["binbytes8", "frame"])
def test_lengths_past_the_end_are_refused_before_allocating(payload):
    with pytest.raises(pickle.UnpicklingError, match="runs past the end"):
        safe_unpickle(io.BytesIO(payload))


def test_bytearrays_are_refused():
    payload = b"\x80\x05\x96" + (1 << 40).to_bytes(8, "little") + b"."
    with pytest.raises(pickle.UnpicklingError, match="bytearray"):
        safe_unpickle(io.BytesIO(payload))


def test_pickle_larger_than_the_limit_is_refused_unread(tmp_path):
    path = tmp_path / "huge.pkl"
    with open(path, "wb") as f:  # sparse: no disk used
        f.write(b"\x80\x04N.")
        f.truncate((8 << 30) + 1)
    error = _load_error(path, seconds=10)
    assert "refused: the pickle is larger than 8 GiB" in str(error)


def test_zero_stride_view_inside_a_tensor_subclass_record(tmp_path):
    """_rebuild_from_type_v2 wraps the tensor builder; the view inside is still checked."""
    class Wrapped:
        def __reduce__(self):
            view = torch.zeros(1).expand(HUGE, HUGE)
            args = (view.untyped_storage(), 0, (HUGE, HUGE), (0, 0), False, OrderedDict())
            typed = torch.storage.TypedStorage(wrap_storage=args[0], dtype=torch.float32,
                                               _internal=True)
            return torch._tensor._rebuild_from_type_v2, (
                torch._utils._rebuild_tensor_v2, torch.Tensor, (typed, *args[1:]), {})

    path = tmp_path / "sub.pt"
    torch.save({"w": Wrapped()}, path)
    error = _bounded(lambda: load_torch_file(path))
    assert isinstance(error, CheckpointError), repr(error)
    assert "overlapping strides" in str(error)
