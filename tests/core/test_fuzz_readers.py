"""Fuzzing every reader of user files: photos, masks, projects, checkpoints, directions.

Inputs are valid files damaged by truncation, byte flips, overwritten ranges, inserted
bytes and lying sizes (huge integers written over length fields), plus well-formed files
holding values of the wrong types and depths. Each reader must return normally or raise
one SemeditError; nothing else, within a time bound, within a memory bound, and without
writing anything.

The default run takes a quick, deterministic slice; `pytest -m fuzz` runs the large one
(over 1,000 inputs, new ones each time).
"""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import resource
import signal
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from core.edit.direction_io import import_direction_file
from core.errors import SemeditError
from core.imageio import decode_photo, load_photo
from core.project.document import Document, Edit
from core.project.project_file import load_project, save_project
from core.segment.mask_io import load_mask
from core.stylegan import load_generator
from tests.checkpoint_writers import nvidia_pickle_bytes, random_generator, write_rosinality

pytestmark = [pytest.mark.fuzz, pytest.mark.usefixtures("one_torch_thread")]

QUICK_EXAMPLES = 12  # per test, in the default run
LARGE_EXAMPLES = 300  # per test with -m fuzz: 9 tests, 2,700 inputs (+ 25 special files)
SECONDS_PER_INPUT = 10.0
EXTRA_MEMORY_KB = 1_500_000  # peak RSS may grow by at most this much during a test
W, L = 32, 6


def _large_run(config) -> bool:
    return "fuzz" in (config.getoption("markexpr") or "")


def _settings(config) -> settings:
    large = _large_run(config)
    return settings(max_examples=LARGE_EXAMPLES if large else QUICK_EXAMPLES,
                    derandomize=not large, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=True)


class _TooSlow(BaseException):  # not an Exception: readers must not be able to swallow it
    pass


def _on_alarm(signum, frame):
    raise _TooSlow(f"a reader ran for more than {SECONDS_PER_INPUT} s")


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class _Harness:
    """Writes one input, runs a reader on it, checks what came back and what was left."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.start_peak = _peak_kb()
        self.inputs = 0

    def run(self, name: str, data: bytes, reader: Callable[[Path], object]) -> None:
        self.inputs += 1
        for leftover in self.folder.iterdir():
            leftover.unlink()
        path = self.folder / name
        path.write_bytes(data)
        before = sorted(p.name for p in self.folder.iterdir())
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_INPUT)
        try:
            reader(path)
        except SemeditError as error:
            assert str(error).strip(), "an empty message"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        assert sorted(p.name for p in self.folder.iterdir()) == before, "a reader wrote files"
        grown = _peak_kb() - self.start_peak
        assert grown < EXTRA_MEMORY_KB, f"peak memory grew by {grown / 1e3:.0f} MB"


@pytest.fixture
def harness(tmp_path, request):
    folder = tmp_path / "inputs"
    folder.mkdir()
    harness = _Harness(folder)
    yield harness
    # Hypothesis stops early only when it has tried everything; these spaces are vast.
    wanted = LARGE_EXAMPLES if _large_run(request.config) else QUICK_EXAMPLES
    assert harness.inputs >= wanted, f"only {harness.inputs} inputs were tried"
    print(f"\n{request.node.name}: {harness.inputs} inputs")


# ------------------------------------------------------------------------ mutations

_LIES = [0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 1 << 40, 10**12, 0, 1, 65535]


@st.composite
def damaged(draw, original: bytes) -> bytes:
    """`original` after 1 to 6 random damages."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "insert", "lie",
                                     "duplicate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            del data[at:]
        elif kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=64))
            data[at:at + len(chunk)] = chunk
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "lie":
            value = draw(st.sampled_from(_LIES))
            width, order = draw(st.sampled_from([(4, "<"), (4, ">"), (8, "<"), (2, "<")]))
            value &= (1 << (8 * width)) - 1
            fmt = {2: "H", 4: "I", 8: "Q"}[width]
            data[at:at + width] = struct.pack(order + fmt, value)
        else:
            size = draw(st.integers(1, 4096))
            data[at:at] = data[at:at + size] * draw(st.integers(2, 8))
    return bytes(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=5),
    max_leaves=30,
)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# ------------------------------------------------------------------------ seeds


def _image_bytes(fmt: str, mode: str = "RGB", size: int = 24) -> bytes:
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB").convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _rich_seeds() -> dict[str, bytes]:
    """Files that take the decoder's other paths: EXIF + ICC, CMYK, 16 bits, palette with
    transparency, several TIFF frames."""
    from PIL import ImageCms

    rng = np.random.default_rng(2)
    rgb = Image.fromarray(rng.integers(0, 256, (20, 28, 3), dtype=np.uint8), "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    seeds = {}
    for name, image, options in [
        ("exif.jpg", rgb, {"exif": exif.tobytes(), "icc_profile": icc}),
        ("cmyk.jpg", rgb.convert("CMYK"), {}),
        ("grey16.png", Image.fromarray(rng.integers(0, 65536, (20, 28), dtype=np.uint16)),
         {}),
        ("palette.png", rgb.convert("P"), {"transparency": 3}),
        ("frames.tif", rgb, {"save_all": True, "append_images": [rgb.rotate(90)]}),
    ]:
        buffer = io.BytesIO()
        fmt = {"jpg": "JPEG", "png": "PNG", "tif": "TIFF"}[name.rsplit(".", 1)[1]]
        image.save(buffer, format=fmt, **options)
        seeds[name] = buffer.getvalue()
    return seeds


PHOTO_SEEDS = {f"photo.{ext}": _image_bytes(fmt) for ext, fmt in
               [("png", "PNG"), ("jpg", "JPEG"), ("webp", "WEBP"), ("tif", "TIFF"),
                ("bmp", "BMP")]} | _rich_seeds()
MASK_SEEDS = {"mask.png": _image_bytes("PNG", "L", 16),
              "mask16.png": _image_bytes("PNG", "I;16", 16),
              "mask.jpg": _image_bytes("JPEG", "L", 16)}


@pytest.fixture(scope="module")
def project_seed(tmp_path_factory) -> bytes:
    rng = np.random.default_rng(3)
    doc = Document(aligned=rng.integers(0, 256, (16, 16, 3), dtype=np.uint8),
                   photo_bytes=PHOTO_SEEDS["photo.jpg"], photo_name="photo.jpg",
                   transform=None, generator_id="tiny", generator_sha256="ab" * 32,
                   inversion={"settings": {"force_fp32": False}, "metrics": {"lpips": 0.3}})
    doc.add_chunk(rng.random((16, 16)).astype(np.float32), name="hair", space="wplus",
                  code=rng.standard_normal((L, W)).astype(np.float32),
                  edits=[Edit("age", -1.0)])
    doc.add_chunk(np.ones((16, 16), np.float32), name="face", space="w",
                  code=rng.standard_normal(W).astype(np.float32))
    path = tmp_path_factory.mktemp("project") / "seed.semedit"
    save_project(doc, path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def checkpoint_seeds(tmp_path_factory) -> dict[str, bytes]:
    generator = random_generator(8, w_dim=8, channel=8, seed=5)
    folder = tmp_path_factory.mktemp("checkpoints")
    write_rosinality(generator, folder / "g.pt")
    return {"g.pkl": nvidia_pickle_bytes(generator), "g.pt": (folder / "g.pt").read_bytes()}


def _direction_seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(4)
    seeds = {}
    for name, content in [("d.npy", rng.standard_normal(W).astype(np.float32)),
                          ("d.npz", {"lat_comp": rng.standard_normal((3, 1, W)),
                                     "lat_stdev": np.ones(3)})]:
        buffer = io.BytesIO()
        if isinstance(content, dict):
            np.savez(buffer, **content)
        else:
            np.save(buffer, content)
        seeds[name] = buffer.getvalue()
    buffer = io.BytesIO()
    torch.save({"comp": torch.randn(2, 1, W), "std": torch.ones(2)}, buffer)
    seeds["d.pt"] = buffer.getvalue()
    seeds["d.json"] = json.dumps([{"layer": 0, "channel": 1}]).encode()
    return seeds


DIRECTION_SEEDS = _direction_seeds()


def _read_direction(path: Path) -> object:
    return import_direction_file(path, w_dim=W, num_ws=L)


# ------------------------------------------------------------------------ tests


def test_photos(request, harness):
    @_settings(request.config)
    @given(st.sampled_from(sorted(PHOTO_SEEDS)), st.data())
    def check(name, data):
        damaged_bytes = data.draw(damaged(PHOTO_SEEDS[name]))
        harness.run(name, damaged_bytes, load_photo)
        with contextlib.suppress(SemeditError):  # the same bytes as a project's copy
            decode_photo(damaged_bytes, "embedded")

    check()


def test_masks(request, harness):
    @_settings(request.config)
    @given(st.sampled_from(sorted(MASK_SEEDS)), st.data())
    def check(name, data):
        harness.run(name, data.draw(damaged(MASK_SEEDS[name])), lambda p: load_mask(p, 16))

    check()


def test_projects_damaged_bytes(request, harness, project_seed):
    @_settings(request.config)
    @given(damaged(project_seed))
    def check(data):
        harness.run("p.semedit", data, load_project)

    check()


_MEMBERS = ["manifest.json", "transform.json", "edits.json", "inversion.json"]


def _with_member(seed: bytes, name: str, data: bytes) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(seed)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, data if info.filename == name else source.read(info))
    return out.getvalue()


def test_projects_wrong_members(request, harness, project_seed):
    import zipfile

    with zipfile.ZipFile(io.BytesIO(project_seed)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}

    @_settings(request.config)
    @given(st.sampled_from(sorted(members)), st.data())
    def check(name, data):
        choice = data.draw(st.sampled_from(["json", "damaged", "nested"]))
        if choice == "json":
            payload = json.dumps(data.draw(json_values)).encode()
        elif choice == "nested":
            payload = _nested(data.draw(st.integers(30, 5000))).encode()
        else:
            payload = data.draw(damaged(members[name]))
        harness.run("p.semedit", _with_member(project_seed, name, payload), load_project)

    check()


def test_checkpoints_damaged_bytes(request, harness, checkpoint_seeds):
    @_settings(request.config)
    @given(st.sampled_from(sorted(checkpoint_seeds)), st.data())
    def check(name, data):
        harness.run(name, data.draw(damaged(checkpoint_seeds[name])), load_generator)

    check()


def test_checkpoints_wrong_types(request, harness):
    @_settings(request.config)
    @given(json_values, st.sampled_from(["pickle", "torch", "nested"]))
    def check(value, kind):
        if kind == "pickle":
            data = pickle.dumps({"G_ema": value}, protocol=4)
            name = "g.pkl"
        elif kind == "torch":
            buffer = io.BytesIO()
            torch.save({"g_ema": value, "latent_avg": value}, buffer)
            data, name = buffer.getvalue(), "g.pt"
        else:
            data = b"\x80\x04" + b"(" * 300 + b"]" * 300 + b"."
            name = "g.pkl"
        harness.run(name, data, load_generator)

    check()


_STATE_KEYS = ["_init_kwargs", "c_dim", "_parameters", "_buffers", "_modules", "resolution",
               "architecture", "conv_clamp", "use_fp16", "bias_gain", "activation", "weight"]


def _tree_nodes(node) -> list:
    nodes = [node]
    for child in node.meta["state"].get("_modules", {}).values():
        nodes.extend(_tree_nodes(child))
    return nodes


@st.composite
def odd_tensors(draw) -> torch.Tensor:
    dtype = draw(st.sampled_from([torch.float32, torch.float16, torch.int64, torch.bool]))
    shape = draw(st.lists(st.integers(0, 9), max_size=4))
    return torch.zeros(shape, dtype=dtype)


def test_checkpoints_tampered_state(request, harness):
    """A real network tree with one saved attribute, parameter or module made wrong."""
    from tests.core.test_hostile_checkpoints import _nvidia_network

    generator = random_generator(8, w_dim=8, channel=8, seed=5)

    @_settings(request.config)
    @given(st.data())
    def check(data):
        network = _nvidia_network(generator)
        node = data.draw(st.sampled_from(_tree_nodes(network)))
        state = node.meta["state"]
        value = data.draw(json_values | odd_tensors())
        key = data.draw(st.sampled_from(_STATE_KEYS))
        if key == "weight" and state.get("_parameters"):
            name = data.draw(st.sampled_from(sorted(state["_parameters"])))
            state["_parameters"][name] = value
        elif key == "c_dim":
            state.setdefault("_init_kwargs", {})["c_dim"] = value
        else:
            state[key] = value
        data_bytes = pickle.dumps({"G_ema": network}, protocol=4)
        harness.run("g.pkl", data_bytes, load_generator)

    check()


def test_directions_damaged_bytes(request, harness):
    @_settings(request.config)
    @given(st.sampled_from(sorted(DIRECTION_SEEDS)), st.data())
    def check(name, data):
        harness.run(name, data.draw(damaged(DIRECTION_SEEDS[name])), _read_direction)

    check()


@st.composite
def odd_arrays(draw) -> np.ndarray:
    dtype = draw(st.sampled_from(["f4", "f8", "f2", "i8", "u1", "b1", "c8", "U3", "S2",
                                  "M8[s]"]))
    shape = tuple(draw(st.lists(st.integers(0, 40), max_size=4)))
    return np.zeros(shape, dtype=dtype)


def test_directions_wrong_types_and_shapes(request, harness):
    @_settings(request.config)
    @given(st.sampled_from([".npy", ".npz", ".pt", ".json"]), odd_arrays(), json_values)
    def check(suffix, array, value):
        buffer = io.BytesIO()
        if suffix == ".npy":
            np.save(buffer, array)
        elif suffix == ".npz":
            np.savez(buffer, lat_comp=array, lat_stdev=array)
        elif suffix == ".pt":
            tensor = torch.from_numpy(array) if array.dtype.kind in "fiub" else value
            torch.save({"comp": tensor, "std": value}, buffer)
        else:
            buffer.write(json.dumps(value).encode())
        harness.run(f"d{suffix}", buffer.getvalue(), _read_direction)

    check()


@pytest.mark.parametrize("reader", [load_photo, lambda p: load_mask(p, 16), load_project,
                                    load_generator, _read_direction],
                         ids=["photo", "mask", "project", "checkpoint", "direction"])
@pytest.mark.parametrize("special", ["fifo", "folder", "dev-zero", "loop", "missing"])
def test_special_files(tmp_path, reader, special):
    import os

    path = tmp_path / "input.npy"
    if special == "fifo":
        os.mkfifo(path)
    elif special == "folder":
        path.mkdir()
    elif special == "dev-zero":
        path.symlink_to("/dev/zero")
    elif special == "loop":
        path.symlink_to(path)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_INPUT)
    try:
        with pytest.raises(SemeditError):
            reader(path)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
