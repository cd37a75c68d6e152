"""Direction packs: parsed from the manifest, downloaded from a local HTTP server (resumable,
sha256-checked), installed into the library of the generator they declare, refused for any
other, and applied with their layer ranges."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
import torch

from core.edit.directions import AppliedEdit, edited_styles
from core.edit.library import DirectionLibrary, generator_key
from core.edit.packs import (
    PackError,
    PackMismatchError,
    install_pack,
    load_packs,
    parse_packs,
    read_chunkmogrify_presets,
)
from core.errors import ChecksumError, InvalidInputError
from core.latents.codes import CodeSpace
from core.models.loaded import LoadedModels, ModelChoice
from core.workflows import direction_packs, install_direction_pack, run
from core.workflows.directions import download_pack
from tests.checkpoint_writers import random_generator, write_nvidia_pickle
from tests.core.test_models_download import LocalServer, server  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SETTINGS = {"ganspace_samples": 600, "ganspace_components": 4, "scale_samples": 300}
W_ROWS = (1, 3)  # the ws rows the Chunkmogrify-style direction acts on
PRESETS = b"""
def limits():
    return {'layer': 6}

def known_presets():
    return {
        'gaze': (1, 3),
        'gray_hair': (2, 1),
        'unused': (0, 0),
    }
"""


@pytest.fixture(scope="module")
def generator():
    return random_generator(16, w_dim=32)


def pack_files(generator) -> dict[str, bytes]:
    rng = np.random.default_rng(3)
    rows = io.BytesIO()
    np.save(rows, rng.normal(size=(generator.num_ws, generator.w_dim)))  # float64, as published
    boundary = io.BytesIO()
    torch.save(torch.from_numpy(rng.normal(size=(1, generator.w_dim)).astype(np.float32)),
               boundary)
    return {"smile.npy": rows.getvalue(), "age.pt": boundary.getvalue(),
            "s_presets.py": PRESETS}


def pack_entry(urls: dict[str, str], data: dict[str, bytes], *, generator: str,
               generator_sha256: str | None, pack_id: str = "test-pack") -> dict:
    return {
        "id": pack_id, "title": "Test pack", "licence": "MIT",
        "source": "https://example.org/authors", "description": "Directions for tests.",
        "generator": generator, "generator_sha256": generator_sha256,
        "files": [{"filename": name, "url": urls[name], "size": len(blob),
                   "sha256": hashlib.sha256(blob).hexdigest()} for name, blob in data.items()],
        "directions": [
            {"id": "cm_smile", "file": "smile.npy", "name": "Smile",
             "description": "A wider smile.", "layers": list(W_ROWS)},
            {"id": "e4e_age", "file": "age.pt", "name": "Age", "description": "Older."},
            {"id": "ss", "file": "s_presets.py", "reader": "chunkmogrify-stylespace-presets",
             "name": "Presets", "description": "StyleSpace presets.",
             "presets": {"gaze": ["Gaze", "Moves the gaze."],
                         "gray_hair": ["Grey hair", "Greyer hair."]}},
        ],
    }


def served_pack(server: LocalServer, g, **kwargs):  # noqa: F811
    data = pack_files(g)
    urls = {name: server.add(f"/authors/{name}", blob) for name, blob in data.items()}
    return parse_packs([pack_entry(urls, data, **kwargs)])[0], data


def drain(steps):
    out = []
    while True:
        try:
            out.append(next(steps))
        except StopIteration as finished:
            return out, finished.value


def test_the_shipped_manifest_lists_the_four_published_packs():
    packs = {p.id: p for p in load_packs()}
    assert set(packs) == {"e4e-interfacegan-ffhq", "e4e-ganspace-ffhq",
                          "chunkmogrify-w-directions", "chunkmogrify-stylespace-presets"}
    for pack in packs.values():
        assert pack.generator == "stylegan2-ffhq-1024" and pack.licence == "MIT"
        assert all(f.url.startswith(("https://raw.githubusercontent.com/omertov/",
                                     "https://raw.githubusercontent.com/futscdav/"))
                   for f in pack.files)
    w = packs["chunkmogrify-w-directions"]
    assert len(w.directions) == 17
    smile = next(d for d in w.directions if d.id == "cm_smile")
    assert (smile.name, smile.layers, smile.file) == ("Smile", (0, 5), "smile_styleganv2.npy")
    assert next(d for d in w.directions if d.id == "cm_beard").layers == (6, 9)
    presets = packs["chunkmogrify-stylespace-presets"].directions[0].presets
    assert len(presets) == 28 and presets["gray_hair"][0] == "Grey hair"


def test_bad_pack_entries_are_refused_with_the_field_named():
    entry = pack_entry({"a.npy": "https://x.org/a.npy"}, {"a.npy": b"1"}, generator="g",
                       generator_sha256=None)
    entry["directions"] = [{"id": "a", "file": "a.npy", "name": "A", "description": "d",
                            "layers": [3, 1]}]
    with pytest.raises(PackError, match="layers must be"):
        parse_packs([entry])
    entry["directions"][0]["layers"] = None
    entry["files"][0]["url"] = "http://example.org/a.npy"
    with pytest.raises(PackError, match="https"):
        parse_packs([entry])
    entry["files"][0]["url"] = "https://x.org/a.npy"
    entry["files"][0]["filename"] = "../a.npy"
    with pytest.raises(PackError, match="plain file name"):
        parse_packs([entry])


def test_a_pack_is_downloaded_checked_installed_and_shown_by_name(
        server, generator, tmp_path):  # noqa: F811
    pack, data = served_pack(server, generator, generator="tiny",
                             generator_sha256=generator_key(generator))
    progress, folder = drain(download_pack(pack, tmp_path / "models", backoff=0.01))
    assert progress and {f.filename for f, _ in progress} == set(data)
    assert all((folder / name).read_bytes() == blob for name, blob in data.items())

    library = DirectionLibrary(tmp_path / "directions", generator, **SETTINGS)
    installed = install_pack(pack, folder, library, generator_id=None)
    assert [d.name for d in installed] == ["cm_smile", "e4e_age", "ss_gaze", "ss_gray_hair"]
    listed = {d.name: d for d in DirectionLibrary(tmp_path / "directions", generator,
                                                  **SETTINGS).list()}
    assert listed["cm_smile"].shown_name == "Smile"
    assert listed["ss_gray_hair"].shown_name == "Grey hair"
    assert {listed[n].group for n in ("cm_smile", "e4e_age", "ss_gaze")} == {"Test pack"}
    assert listed["cm_smile"].layers == W_ROWS and listed["e4e_age"].layers is None
    assert listed["ss_gaze"].space == "s" and listed["cm_smile"].source == "pack"

    # A second download fetches nothing; installing again replaces, never duplicates.
    before = len(server.requests)
    drain(download_pack(pack, tmp_path / "models"))
    assert len(server.requests) == before
    install_pack(pack, folder, library, generator_id=None)
    assert sum(d.source == "pack" for d in library.list()) == 4


def test_an_interrupted_download_resumes_with_a_range_request(
        server, generator, tmp_path):  # noqa: F811
    data = pack_files(generator)
    urls = {name: server.add(f"/r/{name}", blob, cut_after=len(blob) // 2, cuts_left=1)
            for name, blob in data.items()}
    pack = parse_packs([pack_entry(urls, data, generator="tiny", generator_sha256=None)])[0]
    _, folder = drain(download_pack(pack, tmp_path, backoff=0.01))
    assert (folder / "smile.npy").read_bytes() == data["smile.npy"]
    assert any(r and r.startswith("bytes=") for r in server.ranges("/r/smile.npy"))


def test_a_file_that_is_not_the_published_one_is_refused(server, generator, tmp_path):  # noqa: F811
    data = pack_files(generator)
    urls = {name: server.add(f"/bad/{name}", blob[:-1] + bytes([blob[-1] ^ 1]))
            for name, blob in data.items()}
    pack = parse_packs([pack_entry(urls, data, generator="tiny", generator_sha256=None)])[0]
    with pytest.raises(ChecksumError):
        drain(download_pack(pack, tmp_path, backoff=0.01, stall_timeout=2.0))
    assert not (tmp_path / "direction-packs" / "test-pack" / "smile.npy").exists()

    # A file changed after its download is refused at install time, too.
    folder = tmp_path / "direction-packs" / "test-pack"
    for name, blob in data.items():
        (folder / name).write_bytes(blob)
    (folder / "age.pt").write_bytes(data["age.pt"] + b"\0")
    library = DirectionLibrary(tmp_path / "directions", generator, **SETTINGS)
    with pytest.raises(InvalidInputError, match="sha256 differs"):
        install_pack(pack, folder, library, generator_id="tiny")


def test_a_chunkmogrify_direction_changes_only_its_ws_rows(server, generator, tmp_path):  # noqa: F811
    pack, data = served_pack(server, generator, generator="tiny", generator_sha256=None)
    _, folder = drain(download_pack(pack, tmp_path))
    library = DirectionLibrary(tmp_path / "directions", generator, **SETTINGS)
    install_pack(pack, folder, library, generator_id="tiny")
    smile = library.get("cm_smile")
    published = np.load(io.BytesIO(data["smile.npy"]))

    code_space = CodeSpace(generator)
    code = code_space.mean_code("wplus")
    delta = smile.ws_delta(generator.num_ws, AppliedEdit(smile, 1.5).amount)
    a, b = W_ROWS
    assert not delta[:a].any() and not delta[b:].any()
    np.testing.assert_allclose(delta[a:b], published[a:b] * smile.scale * 1.5, rtol=1e-5)

    # On the codes the generator renders: the style layers fed by other ws rows are untouched.
    plain = code_space.to_styles([code])
    edited = edited_styles(code_space, code, [AppliedEdit(smile, 1.5)])
    changed = {name for name in plain if not torch.equal(plain[name], edited[name])}
    fed_by_rows = set()
    for row in range(a, b):  # which style layers read each ws row, found by nudging the row
        ws = code.value.reshape(-1, generator.w_dim).expand(generator.num_ws, -1).clone()
        ws[row] += 1.0
        nudged = code_space.unflatten_styles(code_space.flatten_styles(
            generator.synthesis.compute_styles(ws.unsqueeze(0))))
        fed_by_rows |= {name for name in plain if not torch.equal(plain[name], nudged[name])}
    assert changed and changed == fed_by_rows


def test_a_pack_for_another_generator_is_refused_with_a_sentence(generator, tmp_path):
    data = pack_files(generator)
    urls = {name: f"https://example.org/{name}" for name in data}
    pack = parse_packs([pack_entry(urls, data, generator="stylegan2-ffhq-1024",
                                   generator_sha256=None)])[0]
    library = DirectionLibrary(tmp_path / "directions", generator, **SETTINGS)
    with pytest.raises(PackMismatchError,
                       match=r"made for the generator 'stylegan2-ffhq-1024'.*Choose that"):
        install_pack(pack, tmp_path, library, generator_id="stylegan2-metfaces-1024")
    assert pack.refusal("stylegan2-ffhq-1024", "0" * 64) is None
    by_hash = parse_packs([pack_entry(urls, data, generator="stylegan2-ffhq-1024",
                                      generator_sha256="1" * 64)])[0]
    assert by_hash.refusal("stylegan2-ffhq-1024", "0" * 64) is not None


def test_packs_are_offered_only_for_their_generator_and_installed_by_the_workflow(
        server, generator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SEMEDIT_HOME", str(tmp_path / "home"))
    path = write_nvidia_pickle(generator, tmp_path / "tiny.pkl")
    data = pack_files(generator)
    urls = {name: server.add(f"/w/{name}", blob) for name, blob in data.items()}
    file_sha = hashlib.sha256(path.read_bytes()).hexdigest()  # a loaded file's key
    mine = pack_entry(urls, data, generator="tiny", generator_sha256=file_sha, pack_id="mine")
    other = pack_entry(urls, data, generator="stylegan2-ffhq-1024", generator_sha256=None,
                       pack_id="other")
    packs = parse_packs([mine, other])
    models = LoadedModels(ModelChoice(generator=str(path), models_dir=str(tmp_path / "m"),
                                      device="cpu"))
    offers = {o.pack.id: o for o in direction_packs(models, packs)}
    assert offers["mine"].refusal is None and not offers["mine"].installed
    assert "stylegan2-ffhq-1024" in offers["other"].refusal
    with pytest.raises(PackMismatchError):
        run(install_direction_pack(models, "other", packs=packs))
    assert not (tmp_path / "m" / "direction-packs" / "other").exists()  # nothing fetched

    seen = []
    added = run(install_direction_pack(models, "mine", packs=packs), seen.append)
    assert {d.name for d in added} == {"cm_smile", "e4e_age", "ss_gaze", "ss_gray_hair"}
    downloads = [p for p in seen if p.stage == "download"]
    assert downloads[-1].step == downloads[-1].total == sum(map(len, data.values()))
    assert {o.pack.id: o.installed for o in direction_packs(models, packs)}["mine"]


def test_chunkmogrify_presets_are_read_without_running_them(tmp_path):
    path = tmp_path / "s_presets.py"
    path.write_bytes(PRESETS)
    assert read_chunkmogrify_presets(path) == {"gaze": (1, 3), "gray_hair": (2, 1),
                                               "unused": (0, 0)}
    path.write_text("import os\ndef known_presets():\n    return os.system('true')\n")
    with pytest.raises(InvalidInputError, match="no known_presets"):
        read_chunkmogrify_presets(path)


def test_cli_lists_packs_and_renames(tmp_path, monkeypatch, generator, capsys):
    from core.cli import main

    monkeypatch.setenv("SEMEDIT_HOME", str(tmp_path / "home"))
    path = write_nvidia_pickle(generator, tmp_path / "tiny.pkl")
    common = ["--generator", str(path), "--models-dir", str(tmp_path / "m"), "--device", "cpu"]
    assert main(["directions", "packs", "list", *common]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 4 and not any(p["fits"] for p in listed)
    assert all("stylegan2-ffhq-1024" in p["why_not"] for p in listed)
    assert main(["directions", "rename", "pc3", "Jaw width", *common]) == 0
    assert json.loads(capsys.readouterr().out)["renamed"]["title"] == "Jaw width"
    assert main(["directions", "list", *common]) == 0
    titles = {d["name"]: d["title"] for d in json.loads(capsys.readouterr().out)}
    assert titles["pc3"] == "Jaw width" and titles["pc2"] == "pc2"
    assert main(["directions", "packs", "download", "e4e-interfacegan-ffhq", *common]) != 0
    assert "made for the generator 'stylegan2-ffhq-1024'" in capsys.readouterr().err


def test_cli_downloads_and_installs_a_pack_from_the_manifest(
        server, generator, tmp_path, monkeypatch, capsys):  # noqa: F811
    from core.cli import main
    from core.resources import resource_path

    monkeypatch.setenv("SEMEDIT_HOME", str(tmp_path / "home"))
    path = write_nvidia_pickle(generator, tmp_path / "tiny.pkl")
    data = pack_files(generator)
    urls = {name: server.add(f"/cli/{name}", blob) for name, blob in data.items()}
    manifest = json.loads(resource_path("models.json").read_text(encoding="utf-8"))
    manifest["direction_packs"] = [pack_entry(
        urls, data, generator="tiny", pack_id="tiny-pack",
        generator_sha256=hashlib.sha256(path.read_bytes()).hexdigest())]
    resources = tmp_path / "resources"
    resources.mkdir()
    (resources / "models.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv("SEMEDIT_RESOURCES", str(resources))
    common = ["--generator", str(path), "--models-dir", str(tmp_path / "m"), "--device", "cpu"]

    assert main(["directions", "packs", "download", "tiny-pack", *common]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["directions"] == ["cm_smile", "e4e_age", "ss_gaze", "ss_gray_hair"]
    assert main(["directions", "packs", "list", *common]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["fits"], listed["downloaded"], listed["installed"]) == (True, True, True)
    assert main(["directions", "list", *common]) == 0
    shown = {d["name"]: (d["title"], d["group"]) for d in json.loads(capsys.readouterr().out)}
    assert shown["ss_gray_hair"] == ("Grey hair", "Test pack")
