""".semedit files: exact round trips, atomic and protected saves, and hostile archives."""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import core
from core.errors import InvalidInputError, ProjectFileError
from core.project import (
    DEFAULT_LIMITS,
    Document,
    Edit,
    ProjectLimits,
    load_project,
    project_file,
    read_project_thumbnail,
    save_project,
)

R = 32


def _document(resolution: int = R) -> Document:
    rng = np.random.default_rng(42)
    doc = Document(
        aligned=rng.integers(0, 256, (resolution, resolution, 3), dtype=np.uint8),
        photo_bytes=bytes(rng.integers(0, 256, 5000, dtype=np.uint8)),
        photo_name="portrait.jpg",
        transform={"matrix": [[1.0, 0.1, -3.5], [0.0, 1.0, 2.0]], "crop": [0, 0, 640, 640]},
        generator_id="ffhq-1024",
        generator_sha256="ab" * 32,
        inversion={"steps": 500, "space": "wplus", "metrics": {"lpips": 0.21, "psnr": 27.5}},
        pti_weights={
            "synthesis.b4.conv1.weight": rng.standard_normal((4, 4, 3, 3)).astype(np.float32),
            "synthesis.b4.conv1.bias": rng.standard_normal(4).astype(np.float32),
            "synthesis.b4.conv1.noise_strength": np.array(0.25, dtype=np.float32),  # 0-d
        },
    )
    soft = rng.random((resolution, resolution)).astype(np.float32)
    soft[0, :3] = (0.0, 1.0, 0.5)
    doc.add_chunk(soft, name="hair", space="wplus",
                  code=rng.standard_normal((6, 8)).astype(np.float32),
                  edits=[Edit("age", -1.5), Edit("smile", 0.75, enabled=False)])
    doc.add_chunk(np.ones((resolution, resolution)), name="face", space="w",
                  code=rng.standard_normal(8).astype(np.float32), visible=False, locked=True)
    doc.add_chunk(np.zeros((resolution, resolution)), name="background", space="s",
                  colour=(1, 2, 3))
    return doc


@pytest.fixture
def saved(tmp_path) -> tuple[Document, Path]:
    doc = _document()
    path = save_project(doc, tmp_path / "portrait.semedit")
    return doc, path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _write_zip(path: Path, members: list[tuple[str, bytes]] | dict[str, bytes]) -> Path:
    items = members.items() if isinstance(members, dict) else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name" on purpose
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in items:
                archive.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def _rewritten(path: Path, tmp_path: Path, changes: dict[str, bytes | None]) -> Path:
    """A copy of a project with members replaced (None removes one)."""
    members = _members(path)
    for name, data in changes.items():
        assert name in members or data is not None, name
        if data is None:
            del members[name]
        else:
            members[name] = data
    return _write_zip(tmp_path / "changed.semedit", members)


def _manifest(path: Path) -> dict:
    return json.loads(_members(path)["manifest.json"])


def _npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _png16(size: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((size, size), dtype="<u2")).save(buffer, format="PNG")
    return buffer.getvalue()


def _patch_declared_size(data: bytes, name: str, size: int) -> bytes:
    """Make the local and central headers of `name` claim `size` uncompressed bytes."""
    out = bytearray(data)
    encoded = name.encode()
    # (signature, offset of the uncompressed size, of the name length, of the name)
    layouts = ((b"PK\x03\x04", 22, 26, 30), (b"PK\x01\x02", 24, 28, 46))
    for signature, size_at, length_at, name_at in layouts:
        start = 0
        while (start := out.find(signature, start)) != -1:
            (length,) = struct.unpack_from("<H", out, start + length_at)
            if bytes(out[start + name_at:start + name_at + length]) == encoded:
                struct.pack_into("<I", out, start + size_at, size)
            start += 4
    return bytes(out)


# ===================================================================== round trip


def test_round_trip_keeps_everything(saved):
    doc, path = saved
    loaded = load_project(path)
    assert loaded.photo_bytes == doc.photo_bytes and loaded.photo_name == "portrait.jpg"
    assert np.array_equal(loaded.aligned, doc.aligned) and loaded.aligned.dtype == np.uint8
    assert loaded.resolution == R
    assert loaded.transform == doc.transform and loaded.inversion == doc.inversion
    assert (loaded.generator_id, loaded.generator_sha256) == ("ffhq-1024", "ab" * 32)
    assert len(loaded.chunks) == 3
    for before, after in zip(doc.chunks, loaded.chunks, strict=True):
        assert (after.name, after.colour, after.space) == (before.name, before.colour,
                                                           before.space)
        assert (after.visible, after.locked) == (before.visible, before.locked)
        assert after.edits == before.edits
        assert after.mask.dtype == np.float32 and after.mask.shape == (R, R)
        assert np.abs(after.mask - before.mask).max() <= 1 / 65535
        if before.code is None:
            assert after.code is None
        else:
            assert after.code.dtype == np.float32 and np.array_equal(after.code, before.code)
    assert loaded.chunks[0].mask[0, 0] == 0.0 and loaded.chunks[0].mask[0, 1] == 1.0
    assert loaded.pti_weights.keys() == doc.pti_weights.keys()
    for name, weight in doc.pti_weights.items():
        assert np.array_equal(loaded.pti_weights[name], weight)
        assert loaded.pti_weights[name].shape == weight.shape
    assert len(loaded.history) == 0
    loaded.validate()


def test_archive_layout_and_manifest(saved):
    doc, path = saved
    members = _members(path)
    assert set(members) == {
        "manifest.json", "photo", "aligned.png", "transform.json", "masks/00.png",
        "masks/01.png", "masks/02.png", "latents.npz", "edits.json", "inversion.json",
        "pti.npz", "thumbnail.png",
    }
    assert members["photo"] == doc.photo_bytes
    manifest = json.loads(members["manifest.json"])
    assert manifest["format"] == "semedit-project" and manifest["format_version"] == 1
    assert manifest["app_version"] == core.__version__
    assert manifest["generator"] == {"id": "ffhq-1024", "sha256": "ab" * 32, "name": None,
                                     "path": None}
    assert manifest["latent_spaces"] == ["wplus", "w", "s"]
    assert manifest["photo"] == {"name": "portrait.jpg", "member": "photo"}
    assert manifest["chunks"][1] == {"name": "face", "colour": list(doc.chunks[1].colour),
                                     "space": "w", "visible": False, "locked": True,
                                     "mask": "masks/01.png", "has_code": True}
    assert manifest["chunks"][2]["has_code"] is False
    mask = Image.open(io.BytesIO(members["masks/00.png"]))
    assert mask.mode == "I;16" and mask.format == "PNG"
    with np.load(io.BytesIO(members["latents.npz"]), allow_pickle=False) as latents:
        assert sorted(latents.files) == ["chunk_00", "chunk_01"]
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("manifest.json").compress_type == zipfile.ZIP_DEFLATED


def test_minimal_document_round_trips_without_photo_chunks_or_pti(tmp_path):
    doc = Document(aligned=np.full((8, 8, 3), 200, dtype=np.uint8))
    path = save_project(doc, tmp_path / "empty.semedit")
    assert "photo" not in _members(path) and "pti.npz" not in _members(path)
    loaded = load_project(path)
    assert loaded.photo_bytes is None and loaded.chunks == [] and loaded.pti_weights is None
    assert loaded.transform is None and loaded.generator_id is None
    assert np.array_equal(loaded.aligned, doc.aligned)


def test_thumbnail_is_at_most_256_pixels(tmp_path):
    doc = Document(aligned=np.zeros((300, 300, 3), dtype=np.uint8))
    path = save_project(doc, tmp_path / "big.semedit")
    thumbnail = read_project_thumbnail(path)
    assert thumbnail.shape == (256, 256, 3) and thumbnail.dtype == np.uint8


# ===================================================================== saving


def test_save_overwrites_atomically_and_leaves_no_temporary_files(saved, tmp_path):
    doc, path = saved
    doc.chunks[0].name = "hair (edited)"
    save_project(doc, path)
    assert load_project(path).chunks[0].name == "hair (edited)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portrait.semedit"]


def test_failed_save_keeps_the_old_file(saved, tmp_path, monkeypatch):
    doc, path = saved
    before = path.read_bytes()

    def broken_members(_doc):
        yield "manifest.json", b"{}"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(project_file, "_members", broken_members)
    with pytest.raises(ProjectFileError, match="could not be saved: No space left"):
        save_project(doc, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["portrait.semedit"]


def test_invalid_document_is_not_saved(tmp_path):
    doc = _document()
    doc.chunks[1].code = np.full(8, np.nan, dtype=np.float32)
    with pytest.raises(InvalidInputError, match="NaN"):
        save_project(doc, tmp_path / "bad.semedit")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_to_overwrite_the_protected_photo(tmp_path, monkeypatch):
    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(b"original photo")
    monkeypatch.chdir(tmp_path)
    for target in (photo, Path("portrait.jpg"), tmp_path / "sub" / ".." / "portrait.jpg"):
        with pytest.raises(ProjectFileError, match="never overwrites"):
            save_project(_document(), target, protect=photo)
    assert photo.read_bytes() == b"original photo"
    save_project(_document(), tmp_path / "portrait.semedit", protect=photo)


def test_save_into_a_missing_folder_fails_clearly(tmp_path):
    with pytest.raises(ProjectFileError, match="does not exist"):
        save_project(_document(), tmp_path / "nope" / "x.semedit")


# ===================================================================== damaged files


def test_missing_path_and_folders(tmp_path):
    with pytest.raises(ProjectFileError, match="does not exist"):
        load_project(tmp_path / "missing.semedit")
    with pytest.raises(ProjectFileError, match="is not a file"):
        load_project(tmp_path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "photo.semedit"
    path.write_bytes(b"\xff\xd8\xff\xe0 this is a JPEG, not a project" * 10)
    with pytest.raises(ProjectFileError, match=r"photo\.semedit.*not a zip archive"):
        load_project(path)


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9, 0.999])
def test_truncated_file(saved, tmp_path, keep):
    _, path = saved
    data = path.read_bytes()
    cut = tmp_path / "cut.semedit"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ProjectFileError, match=r"cut\.semedit"):
        load_project(cut)


def test_corrupt_member_data_fails_the_crc_check(saved, tmp_path):
    _, path = saved
    data = bytearray(path.read_bytes())
    # aligned.png is stored uncompressed: flip a byte in its middle so only the CRC notices.
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("aligned.png")
    offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + info.file_size // 2
    data[offset] ^= 0xFF
    corrupt = tmp_path / "corrupt.semedit"
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ProjectFileError, match=r"corrupt\.semedit.*damaged.*CRC"):
        load_project(corrupt)


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("manifest.json", "'manifest.json' is missing"),
        ("latents.npz", "'latents.npz' is missing"),
        ("masks/01.png", "'masks/01.png' is missing"),
        ("photo", "'photo' is missing"),
        ("pti.npz", "'pti.npz' is missing"),
        ("edits.json", "'edits.json' is missing"),
    ],
)
def test_missing_members(saved, tmp_path, member, message):
    _, path = saved
    members = _members(path)
    del members[member]
    broken = _write_zip(tmp_path / "broken.semedit", members)
    with pytest.raises(ProjectFileError, match=r"broken\.semedit.*" + message):
        load_project(broken)


def test_thumbnail_is_optional(saved, tmp_path):
    _, path = saved
    changed = _rewritten(path, tmp_path, {"thumbnail.png": None})
    assert read_project_thumbnail(changed) is None
    load_project(changed)


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (b"not json {", "manifest.json is not valid JSON"),
        (b"\xff\xfe", "manifest.json is not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "manifest.json is not valid JSON"),
        (b"[1, 2]", "does not describe a SemEdit project"),
        (b'{"format": "zip-of-cats", "format_version": 1}', "does not describe"),
        (b'{"format": "semedit-project", "format_version": "1"}', "no valid format_version"),
        (b'{"format": "semedit-project", "format_version": 1, "resolution": NaN}',
         "not valid JSON"),
        (b'{"format": "semedit-project", "format_version": 1}', "has no 'resolution'"),
    ],
)
def test_bad_manifests(saved, tmp_path, manifest, message):
    _, path = saved
    with pytest.raises(ProjectFileError, match=message):
        load_project(_rewritten(path, tmp_path, {"manifest.json": manifest}))


def test_newer_format_is_refused_with_a_clear_message(saved, tmp_path):
    _, path = saved
    manifest = _manifest(path)
    manifest["format_version"] = 99
    changed = _rewritten(path, tmp_path, {"manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(ProjectFileError, match=r"changed\.semedit was made by a newer SemEdit"):
        load_project(changed)


def test_migrations_upgrade_older_manifests(saved, monkeypatch):
    _, path = saved  # written as format 1

    def upgrade_1_to_2(manifest: dict) -> dict:
        manifest["chunks"][0]["name"] = "hair (migrated)"
        return manifest

    monkeypatch.setattr(project_file, "FORMAT_VERSION", 2)
    monkeypatch.setattr(project_file, "_MIGRATIONS", {1: upgrade_1_to_2})
    assert load_project(path).chunks[0].name == "hair (migrated)"
    monkeypatch.setattr(project_file, "_MIGRATIONS", {})
    with pytest.raises(ProjectFileError, match="format 1 can no longer be upgraded"):
        load_project(path)


def test_manifest_entries_that_do_not_fit(saved, tmp_path):
    _, path = saved
    cases = [
        (lambda m: m["chunks"][0].update(colour=[1, 2]), "colour"),
        (lambda m: m["chunks"][0].update(visible="yes"), "'visible' has the wrong type"),
        (lambda m: m["chunks"][0].update(space="z"), "latent_spaces"),
        (lambda m: m["chunks"][1].update(mask="masks/00.png"), "share one mask"),
        (lambda m: m["chunks"][0].update(mask="masks/77.png"), "'masks/77.png' is missing"),
        (lambda m: m.update(resolution=10**6), "resolution"),
        (lambda m: m.update(resolution=True), "'resolution' has the wrong type"),
        (lambda m: m["chunks"][2].update(has_code=True), "no code for chunk 2"),
        (lambda m: m["chunks"][1].update(name="hair"), "Two chunks are called 'hair'"),
    ]
    for change, message in cases:
        manifest = _manifest(path)
        change(manifest)
        changed = _rewritten(path, tmp_path, {"manifest.json": json.dumps(manifest).encode()})
        with pytest.raises(ProjectFileError, match=message):
            load_project(changed)


def test_masks_of_the_wrong_size_or_kind(saved, tmp_path):
    _, path = saved
    with pytest.raises(ProjectFileError, match=r"masks/01\.png is 8×8 pixels"):
        load_project(_rewritten(path, tmp_path, {"masks/01.png": _png16(8)}))
    rgb = io.BytesIO()
    Image.new("RGB", (R, R)).save(rgb, format="PNG")
    with pytest.raises(ProjectFileError, match="16-bit greyscale"):
        load_project(_rewritten(path, tmp_path, {"masks/01.png": rgb.getvalue()}))
    with pytest.raises(ProjectFileError, match=r"masks/01\.png is not a PNG image"):
        load_project(_rewritten(path, tmp_path, {"masks/01.png": b"\x89PNG garbage"}))
    with pytest.raises(ProjectFileError, match=r"aligned\.png is 8×8"):
        load_project(_rewritten(path, tmp_path, {"aligned.png": _rgb_png(8)}))


def _rgb_png(size: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_latents_of_the_wrong_shape_or_with_nan(saved, tmp_path):
    doc, path = saved
    good = {"chunk_00": doc.chunks[0].code, "chunk_01": doc.chunks[1].code}
    cases = [
        ({**good, "chunk_00": np.zeros(8, dtype=np.float32)}, r"'wplus' code has shape"),
        ({**good, "chunk_01": np.zeros(9, dtype=np.float32)}, "w_dim"),
        ({**good, "chunk_01": np.full(8, np.nan, dtype=np.float32)}, "NaN"),
        ({**good, "chunk_01": np.zeros(8, dtype=np.int32)}, "not floating point"),
        ({"chunk_00": good["chunk_00"]}, "no code for chunk 1"),
    ]
    for arrays, message in cases:
        changed = _rewritten(path, tmp_path, {"latents.npz": _npz(**arrays)})
        with pytest.raises(ProjectFileError, match=r"changed\.semedit.*" + message):
            load_project(changed)


def test_npz_with_object_arrays_is_refused(saved, tmp_path):
    doc, path = saved
    hostile = _npz(chunk_00=np.array([{"payload": 1}], dtype=object),
                   chunk_01=doc.chunks[1].code)
    with pytest.raises(ProjectFileError, match="Python objects"):
        load_project(_rewritten(path, tmp_path, {"latents.npz": hostile}))
    with pytest.raises(ProjectFileError, match="Python objects"):
        objects = {"pti.npz": _npz(w=np.array([None], dtype=object))}
        load_project(_rewritten(path, tmp_path, objects))


def test_npy_header_promising_more_data_than_present(saved, tmp_path):
    _, path = saved
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**9,)})
    inner = _write_zip(tmp_path / "inner.npz", {"w.npy": header.getvalue() + b"\0" * 16})
    with pytest.raises(ProjectFileError, match="promises more data"):
        load_project(_rewritten(path, tmp_path, {"pti.npz": inner.read_bytes()}))
    with pytest.raises(ProjectFileError, match=r"not a valid \.npz"):
        load_project(_rewritten(path, tmp_path, {"latents.npz": b"PK junk"}))


def test_bad_edits_and_json_members(saved, tmp_path):
    _, path = saved
    cases = [
        ({"edits.json": b'{"chunks": [[], []]}'}, "edits of each of the 3 chunks"),
        ({"edits.json": b'{"chunks": [[{"direction": "a"}], [], []]}'}, "bad edit"),
        ({"edits.json": b'{"chunks": [{}, [], []]}'}, "bad edit"),
        ({"inversion.json": b"[]"}, "inversion.json must hold an object"),
        ({"transform.json": b"3"}, "transform.json must hold an object or null"),
        ({"transform.json": b"null"}, None),
    ]
    for changes, message in cases:
        changed = _rewritten(path, tmp_path, changes)
        if message is None:
            assert load_project(changed).transform is None
            continue
        with pytest.raises(ProjectFileError, match=message):
            load_project(changed)


# ===================================================================== hostile files


@pytest.mark.parametrize(
    "name",
    ["../evil.txt", "/abs", "masks/../../evil.png", "C:/windows/evil.dll", "masks\\00.png",
     "c:evil", "./manifest.json", "masks//00.png", "nul\x01byte"],
)
def test_path_traversal_names_refuse_the_whole_file(saved, tmp_path, name):
    _, path = saved
    members = [*_members(path).items(), (name, b"owned")]
    hostile = _write_zip(tmp_path / "hostile.semedit", members)
    with zipfile.ZipFile(hostile) as archive:
        assert name.replace("\x01", "") in archive.namelist() or "\x01" in name
    with pytest.raises(ProjectFileError, match=r"hostile\.semedit.*unsafe member name"):
        load_project(hostile)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_duplicate_member_names_are_refused(saved, tmp_path):
    _, path = saved
    members = [*_members(path).items(), ("manifest.json", b'{"format": "evil"}')]
    hostile = _write_zip(tmp_path / "dup.semedit", members)
    with pytest.raises(ProjectFileError, match=r"'manifest\.json' occurs more than once"):
        load_project(hostile)


def test_too_many_members(saved, tmp_path):
    _, path = saved
    members = [*_members(path).items(), *((f"junk/{i}", b"") for i in range(1000))]
    hostile = _write_zip(tmp_path / "many.semedit", members)
    with pytest.raises(ProjectFileError, match=r"has 1012 members; at most 1000"):
        load_project(hostile)


def test_zip_bomb_is_refused_before_decompressing(saved, tmp_path):
    _, path = saved
    bomb = tmp_path / "bomb.semedit"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in _members(path).items():
            if name != "inversion.json":
                archive.writestr(name, data)
        with archive.open("inversion.json", "w", force_zip64=True) as stream:
            zeros = bytes(1 << 20)
            for _ in range(300):  # 300 MB of zeros, about 1.4 MB compressed
                stream.write(zeros)
    assert bomb.stat().st_size < 5_000_000
    with pytest.raises(ProjectFileError, match=r"inversion\.json would unpack to 300\.0 MiB"):
        load_project(bomb)  # default limits: over 256 MiB
    small = dataclasses.replace(DEFAULT_LIMITS, member_bytes=1 << 20)
    with pytest.raises(ProjectFileError, match=r"at most 1\.0 MiB"):
        load_project(bomb, limits=small)


def test_lowered_limits_are_honoured(saved):
    _, path = saved
    for limits, message in [
        (dataclasses.replace(DEFAULT_LIMITS, photo_bytes=1000), r"photo would unpack"),
        (dataclasses.replace(DEFAULT_LIMITS, pti_bytes=100), r"pti\.npz would unpack"),
        (dataclasses.replace(DEFAULT_LIMITS, total_bytes=10_000), "add up|would unpack"),
        (dataclasses.replace(DEFAULT_LIMITS, members=5), "at most 5"),
        (dataclasses.replace(DEFAULT_LIMITS, chunks=2), "at most 2 are allowed"),
        (dataclasses.replace(DEFAULT_LIMITS, resolution=16), "outside 1–16"),
    ]:
        with pytest.raises(ProjectFileError, match=message):
            load_project(path, limits=limits)


def test_member_whose_header_lies_about_its_size(saved, tmp_path):
    _, path = saved
    members = _members(path)
    # 2 MB of JSON that compresses to almost nothing, then headers claiming 100 bytes.
    members["inversion.json"] = json.dumps({"pad": "a" * 2_000_000}).encode()
    honest = _write_zip(tmp_path / "honest.semedit", members)
    small = dataclasses.replace(DEFAULT_LIMITS, member_bytes=1 << 20)
    with pytest.raises(ProjectFileError, match="would unpack"):
        load_project(honest, limits=small)
    liar = tmp_path / "liar.semedit"
    liar.write_bytes(_patch_declared_size(honest.read_bytes(), "inversion.json", 100))
    with zipfile.ZipFile(liar) as archive:
        assert archive.getinfo("inversion.json").file_size == 100
    with pytest.raises(ProjectFileError, match=r"liar\.semedit"):
        load_project(liar, limits=small)


def test_reader_counts_real_bytes_even_if_the_archive_lies(tmp_path):
    """Defence in depth: the count stops a member whose stream outgrows its header."""

    class LyingArchive:
        def __init__(self):
            self.info = zipfile.ZipInfo("inversion.json")
            self.info.file_size = 10

        def infolist(self):
            return [self.info]

        def open(self, info):
            return io.BytesIO(b"x" * 5000)

    limits = ProjectLimits(member_bytes=1000)
    reader = project_file._Reader(tmp_path / "liar.semedit", LyingArchive(), limits)
    with pytest.raises(ProjectFileError, match=r"liar\.semedit.*inversion\.json is larger"):
        reader.read("inversion.json")


def test_encrypted_members_are_refused(saved, tmp_path):
    _, path = saved
    data = bytearray(path.read_bytes())
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) != -1:
        data[start + 8] |= 0x1  # general-purpose flag bit 0: encrypted
        start += 4
    encrypted = tmp_path / "locked.semedit"
    encrypted.write_bytes(bytes(data))
    with pytest.raises(ProjectFileError, match="encrypted"):
        load_project(encrypted)


def _align_record(**changes) -> dict:
    record = {"method": "ffhq", "photo_size": [640, 480], "output_size": 16,
              "transform_size": 16, "quad": [[100.0, 80.0], [100.0, 400.0], [420.0, 400.0],
                                             [420.0, 80.0]], "qsize": 320.0, "shrink": 1,
              "shrunk_size": [640, 480], "crop_box": [0, 0, 640, 480], "padding": [0, 0, 0, 0]}
    record.update(changes)
    return record


def test_json_members_are_checked_against_their_schema(saved, tmp_path):
    _, path = saved
    far = [[1e300, 1e300], [1e300, -1e300], [-1e300, -1e300], [-1e300, 1e300]]
    cases = [
        ({"inversion.json": b'{"settings": [1, 2]}'}, r"inversion\.json 'settings' must be "
                                                       "an object, not a list"),
        ({"inversion.json": b'{"settings": {"force_fp32": "yes"}}'}, "force_fp32 must be"),
        ({"inversion.json": b'{"settings": {"coverage": "all"}}'}, "coverage must be one of"),
        ({"inversion.json": b'{"metrics": {"lpips": 1e400}}'}, "not finite"),
        ({"inversion.json": b'{"metrics": 3}'}, "'metrics' must be an object"),
        ({"inversion.json": b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}"}, "nested more than"),
        ({"transform.json": json.dumps(_align_record(quad=far)).encode()},
         r"transform\.json the alignment quad lies far outside the 640×480 photo"),
        ({"transform.json": json.dumps(_align_record(qsize=-1)).encode()},
         r"transform\.json The alignment record is not valid"),
        ({"transform.json": json.dumps(_align_record(photo_size="big")).encode()},
         r"transform\.json"),
    ]
    for changes, message in cases:
        with pytest.raises(ProjectFileError, match=message):
            load_project(_rewritten(path, tmp_path, changes))
    good = _rewritten(path, tmp_path, {"transform.json": json.dumps(_align_record()).encode(),
                                       "inversion.json": b'{"settings": {"force_fp32": true}}'})
    loaded = load_project(good)
    assert loaded.transform["qsize"] == 320.0
    assert loaded.inversion == {"settings": {"force_fp32": True}}
