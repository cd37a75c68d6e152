"""Validate before trust: import, download and verify read a file through the app's loaders
and compare it with its manifest entry before any sha256 is recorded; a wrong record is
replaceable; the user's own generators; the model index."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import core.models.index as index_module
import core.models.store as store_module
from core.errors import ChecksumError, InvalidInputError, SemeditError
from core.models.download import DownloadProgress
from core.models.manifest import parse_manifest
from core.models.store import HASH_RECORDS_FILE, ModelStore, RecordedHashMismatch
from core.models.validation import ModelMismatchError, read_model_facts, validate_model_file
from semedit_gui.launcher import main as semedit
from tests.encoder_writers import write_e4e
from tests.model_fixtures import TINY_ARCHITECTURE
from tests.sam_writers import write_tiny_sam

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = DATA / "ada_tiny.pkl"  # 32×32, z/w 64, 4 mapping layers
TINY64 = DATA / "ada_tiny64_w512.pkl"  # 64×64, z/w 512


def make_store(root: Path) -> ModelStore:
    """A manifest of four kinds whose generator and encoder are the tests' tiny ones."""
    common = {"licence": "test", "description": "A test asset.", "size": None, "sha256": None,
              "default": True}
    assets = [
        {**common, "id": "tiny", "kind": "generator", "filename": "tiny.pkl",
         "urls": ["https://example.invalid/tiny.pkl"], "resolution": 32, "domain": "test",
         "format": "nvidia-pickle", "architecture": TINY_ARCHITECTURE},
        {**common, "id": "enc", "kind": "encoder", "filename": "enc.pt", "obtain": "import",
         "urls": ["https://example.invalid/enc"], "resolution": 32, "format": "e4e",
         "architecture": {"w_dim": 64}},
        {**common, "id": "sam", "kind": "sam", "filename": "sam.pth",
         "urls": ["https://example.invalid/sam.pth"], "variant": "vit_b"},
        {**common, "id": "vgg", "kind": "vgg", "filename": "vgg.pth",
         "urls": ["https://example.invalid/vgg.pth"]},
    ]
    manifest = parse_manifest({"format": 1, "assets": assets})
    return ModelStore(manifest, root, validate=validate_model_file)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    files = {
        "junk": folder / "junk.bin",
        "text": folder / "notes.txt",
        "truncated": folder / "truncated.pkl",
        "sam": write_tiny_sam(folder / "tiny_sam.pth"),
    }
    files["junk"].write_bytes(bytes(range(256)) * 40)
    files["text"].write_text("my shopping list\nmilk\n")
    files["truncated"].write_bytes(TINY.read_bytes()[: TINY.stat().st_size // 2])
    return files


def records(root: Path) -> dict:
    path = root / HASH_RECORDS_FILE
    return json.loads(path.read_text())["assets"] if path.exists() else {}


# ------------------------------------------------------------------ import


@pytest.mark.parametrize("asset_id", ["tiny", "enc", "sam", "vgg"])
@pytest.mark.parametrize("bad", ["junk", "text", "truncated", "generator64", "sam"])
def test_import_refuses_what_is_not_the_model_and_records_nothing(
        tmp_path, bad_files, asset_id, bad):
    store = make_store(tmp_path / "models")
    source = TINY64 if bad == "generator64" else bad_files[bad]
    with pytest.raises(ModelMismatchError, match=r"Nothing was imported\.$") as refused:
        store.import_file(asset_id, source)
    assert str(source) in str(refused.value)
    assert not store.path(asset_id).exists()
    assert records(store.root) == {}
    assert list(store.root.iterdir()) == []  # no temporary copy, no index entry either


def test_the_64px_generator_is_not_the_ffhq_model_and_says_what_it_is(tmp_path):
    store = make_store(tmp_path)
    with pytest.raises(ModelMismatchError) as refused:
        store.import_file("tiny", TINY64)
    message = str(refused.value)
    assert "is a 64×64 StyleGAN2 generator (z 512, w 512, 10 ws, 8 mapping layers)" in message
    assert "not the 32×32 test StyleGAN2 model tiny" in message
    assert "resolution" in message and "num ws" in message


def test_a_sam_of_another_variant_is_refused(tmp_path, bad_files):
    store = make_store(tmp_path)
    with pytest.raises(ModelMismatchError, match=r"a Segment Anything custom .* not the "
                                                 r"Segment Anything vit_b model"):
        store.import_file("sam", bad_files["sam"])


def test_valid_files_are_imported_recorded_and_indexed(tmp_path):
    store = make_store(tmp_path / "models")
    encoder = write_e4e(tmp_path / "e4e.pt")
    for asset_id, source in (("tiny", TINY), ("enc", encoder)):
        dest = store.import_file(asset_id, source)
        assert dest.read_bytes() == source.read_bytes()
        entry = store.index.lookup(dest)
        assert entry is not None and entry.sha256 == records(store.root)[asset_id]["sha256"]
    assert store.index.lookup(store.path("tiny")).architecture["channels"] == \
        TINY_ARCHITECTURE["channels"]
    assert store.index.lookup(store.path("enc")).summary == \
        "an e4e encoder for a 32×32 generator (8 ws of 64)"
    assert store.verify("tiny").ok and "read as the declared model" in store.verify("tiny").method


def test_the_cli_refuses_a_text_file_as_the_ffhq_generator(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a model\n")
    code = semedit(["models", "import", "stylegan2-ffhq-1024", str(notes)])
    err = capsys.readouterr().err
    assert code == 1
    assert "notes.txt is not the 1024×1024 ffhq StyleGAN2 model stylegan2-ffhq-1024" in err
    assert "Nothing was imported." in err
    code = semedit(["models", "import", "stylegan2-ffhq-1024", str(TINY64)])
    err = capsys.readouterr().err
    assert code == 1 and "is a 64×64 StyleGAN2 generator" in err
    assert "not the 1024×1024 ffhq StyleGAN2 model" in err
    code = semedit(["models", "list", "--json"])
    rows = json.loads(capsys.readouterr().out)["models"]
    assert {r["id"]: r["state"] for r in rows}["stylegan2-ffhq-1024"] == "missing"


# ------------------------------------------------------------------ download


def fake_download(payload: Path):
    """Stands in for the network: writes `payload` to the destination, as a download would
    after its hash checks, and returns its sha256."""
    def download(urls, dest, **checks) -> Iterator[DownloadProgress]:
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(payload, dest)
        yield DownloadProgress(payload.stat().st_size, payload.stat().st_size, 0.0)
        sha = checks.get("sha256")
        actual = store_module.hash_file(Path(dest)).sha256
        if sha and sha != actual:
            Path(dest).unlink()
            raise ChecksumError("The file downloaded from the test is not the expected one.")
        return actual
    return download


def run_download(store: ModelStore, asset_id: str, **kwargs) -> Path:
    jobs = store.download(asset_id, **kwargs)
    while True:
        try:
            next(jobs)
        except StopIteration as done:
            return done.value


@pytest.mark.parametrize("asset_id", ["tiny", "sam", "vgg"])  # the encoder is import-only
@pytest.mark.parametrize("bad", ["junk", "text", "truncated", "generator64", "sam"])
def test_download_of_the_wrong_content_is_deleted_and_not_trusted(
        tmp_path, bad_files, monkeypatch, asset_id, bad):
    store = make_store(tmp_path / "models")
    monkeypatch.setattr(store_module, "download",
                        fake_download(TINY64 if bad == "generator64" else bad_files[bad]))
    with pytest.raises(ModelMismatchError, match=r" is not | is a "):
        run_download(store, asset_id)
    assert not store.path(asset_id).exists()
    assert records(store.root) == {}


def test_download_of_the_right_content_is_trusted(tmp_path, monkeypatch):
    store = make_store(tmp_path / "models")
    monkeypatch.setattr(store_module, "download", fake_download(TINY))
    assert run_download(store, "tiny").read_bytes() == TINY.read_bytes()
    assert records(store.root)["tiny"]["origin"] == "download"


# ------------------------------------------------------------------ verify


@pytest.mark.parametrize("asset_id", ["tiny", "enc", "sam", "vgg"])
@pytest.mark.parametrize("bad", ["junk", "text", "truncated", "generator64", "sam"])
def test_verify_fails_a_file_that_is_not_the_model_and_records_nothing(
        tmp_path, bad_files, asset_id, bad):
    store = make_store(tmp_path / "models")
    store.root.mkdir()
    shutil.copyfile(TINY64 if bad == "generator64" else bad_files[bad], store.path(asset_id))
    result = store.verify(asset_id)
    assert not result.ok
    what = store.manifest.get(asset_id).what_it_is()
    assert f"is not {what}" in result.message or f"not {what} (it differs" in result.message
    assert records(store.root) == {}


# ------------------------------------------------------------------ a wrong record


def test_a_recorded_bad_hash_is_replaced_by_a_valid_file_after_confirmation(tmp_path, capsys):
    """An older SemEdit trusted a junk file: its hash is on record. Importing the real file
    says so and, with --replace, replaces the record."""
    store = make_store(tmp_path / "models")
    store.root.mkdir()
    junk_sha = "ab" * 32
    (store.root / HASH_RECORDS_FILE).write_text(json.dumps({"format": 1, "assets": {"tiny": {
        "filename": "tiny.pkl", "sha256": junk_sha, "recorded": "2026-01-01T00:00:00+00:00",
        "origin": "import of notes.txt"}}}))
    with pytest.raises(RecordedHashMismatch, match="import again with --replace") as refused:
        store.import_file("tiny", TINY)
    assert "import of notes.txt" in str(refused.value)
    assert not store.path("tiny").exists()
    assert records(store.root)["tiny"]["sha256"] == junk_sha
    store.import_file("tiny", TINY, replace=True)
    assert records(store.root)["tiny"]["sha256"] == store_module.hash_file(TINY).sha256
    assert store.verify("tiny").ok


def test_replace_never_lets_an_invalid_file_in(tmp_path, bad_files):
    store = make_store(tmp_path / "models")
    store.import_file("tiny", TINY)
    trusted = records(store.root)["tiny"]["sha256"]
    with pytest.raises(ModelMismatchError):
        store.import_file("tiny", bad_files["junk"], replace=True)
    assert records(store.root)["tiny"]["sha256"] == trusted
    assert store.path("tiny").read_bytes() == TINY.read_bytes()


def test_the_cli_replace_flag(tmp_path, capsys):
    home_models = Path(store_module.os.environ["SEMEDIT_HOME"]) / "models"
    home_models.mkdir(parents=True)
    (home_models / HASH_RECORDS_FILE).write_text(json.dumps({"format": 1, "assets": {
        "stylegan2-afhqcat-512": {"filename": "stylegan2-ada-pytorch-afhqcat.pkl",
                                  "sha256": "cd" * 32, "recorded": "x", "origin": "y"}}}))
    code = semedit(["models", "import", "stylegan2-afhqcat-512", str(TINY)])
    err = capsys.readouterr().err
    # the record is wrong, but so is the file: the content check still says what it is
    assert code == 1 and "import again with --replace" in err
    code = semedit(["models", "import", "stylegan2-afhqcat-512", str(TINY), "--replace"])
    err = capsys.readouterr().err
    assert code == 1 and "is a 32×32 StyleGAN2 generator" in err
    assert records(home_models)["stylegan2-afhqcat-512"]["sha256"] == "cd" * 32


# ------------------------------------------------------------------ your own models


def test_models_add_makes_a_tiny_generator_usable_by_name(tmp_path, capsys):
    mine = tmp_path / "my gan.pkl"
    shutil.copyfile(TINY, mine)
    code = semedit(["models", "add", "my-gan", str(mine)])
    out = capsys.readouterr().out
    assert code == 0
    assert "my-gan is a 32×32 StyleGAN2 generator (z 64, w 64, 8 ws, 4 mapping layers)" in out
    code = semedit(["models", "list", "--json"])
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["models"]}
    assert rows["my-gan"]["state"] == "installed" and rows["my-gan"]["kind"] == "generator"
    assert rows["my-gan"]["path"] == str(mine.resolve())

    from core.models.loaded import LoadedModels, ModelChoice

    models = LoadedModels(ModelChoice(generator="my-gan"))
    assert models.generator().img_resolution == 32
    assert models.generator_id == "my-gan"

    code = semedit(["models", "add", "my-gan", str(TINY64)])
    assert code == 1 and "--replace" in capsys.readouterr().err
    code = semedit(["models", "add", "stylegan2-ffhq-1024", str(TINY)])
    assert code == 1 and "choose another name" in capsys.readouterr().err


def test_models_add_refuses_what_is_no_generator(tmp_path, bad_files, capsys):
    code = semedit(["models", "add", "mine", str(bad_files["text"])])
    err = capsys.readouterr().err
    assert code == 1 and "notes.txt is not a StyleGAN2 generator" in err


def test_a_moved_user_model_is_found_by_content(tmp_path):
    store = make_store(tmp_path / "models")
    mine = tmp_path / "a.pkl"
    shutil.copyfile(TINY, mine)
    store.add_user_model("mine", mine)
    moved = tmp_path / "b.pkl"
    mine.rename(moved)
    with pytest.raises(SemeditError, match="not there any more"):
        store.resolve("mine", "generator")
    store.sha256_of(moved)  # the app met the file again somewhere (e.g. --generator PATH)
    assert store.resolve("mine", "generator") == moved.resolve()


def test_user_model_names_are_checked(tmp_path):
    store = make_store(tmp_path / "models")
    with pytest.raises(InvalidInputError, match="lower-case"):
        store.add_user_model("My GAN", TINY)
    with pytest.raises(InvalidInputError, match="choose another name"):
        store.add_user_model("tiny", TINY)


# ------------------------------------------------------------------ the index


def test_a_file_is_hashed_once_per_path_size_and_mtime(tmp_path, monkeypatch):
    store = make_store(tmp_path / "models")
    calls: list[Path] = []
    real = index_module.hash_file

    def counting(path, **kwargs):
        calls.append(Path(path))
        return real(path, **kwargs)

    monkeypatch.setattr(index_module, "hash_file", counting)
    copy = tmp_path / "g.pkl"
    shutil.copyfile(TINY, copy)
    first = store.sha256_of(copy)
    assert store.sha256_of(copy) == first and len(calls) == 1
    assert make_store(tmp_path / "models").sha256_of(copy) == first and len(calls) == 1
    with copy.open("ab") as stream:  # new content: new size and mtime, hashed again
        stream.write(b"\0")
    assert store.sha256_of(copy) != first and len(calls) == 2
    (entry,) = store.index.find(store.sha256_of(copy))
    assert entry.path == str(copy.resolve()) and entry.size == TINY.stat().st_size + 1


def test_read_model_facts_of_each_kind(tmp_path, bad_files):
    assert read_model_facts("generator", TINY).architecture["num_ws"] == 8
    assert read_model_facts("sam", bad_files["sam"]).architecture["variant"].startswith(
        "custom")
    with pytest.raises(SemeditError, match=r"not torchvision's VGG16 layout"):
        read_model_facts("vgg", bad_files["sam"])


def test_a_recorded_bad_hash_is_replaced_by_a_new_download(tmp_path, monkeypatch):
    store = make_store(tmp_path / "models")
    store.root.mkdir()
    (store.root / HASH_RECORDS_FILE).write_text(json.dumps({"format": 1, "assets": {"tiny": {
        "filename": "tiny.pkl", "sha256": "ab" * 32, "recorded": "x", "origin": "junk"}}}))
    monkeypatch.setattr(store_module, "download", fake_download(TINY))
    with pytest.raises(RecordedHashMismatch, match="download again with --replace"):
        run_download(store, "tiny")
    assert records(store.root)["tiny"]["sha256"] == "ab" * 32
    run_download(store, "tiny", replace=True)
    assert records(store.root)["tiny"]["sha256"] == store_module.hash_file(TINY).sha256


@pytest.mark.parametrize("architecture", [{"depth": 3}, {"z_dim": 0}, {"w_dim": True},
                                          {"channels": {"four": 3}}, {"channels": [4]}, 7])
def test_a_declared_architecture_is_checked(architecture):
    from core.models.manifest import ManifestError

    entry = {"id": "g", "kind": "generator", "default": True, "filename": "g.pkl",
             "urls": ["https://example.invalid/g"], "size": None, "sha256": None,
             "licence": "l", "description": "d", "resolution": 32, "domain": "x",
             "format": "nvidia-pickle", "architecture": architecture}
    with pytest.raises(ManifestError, match="architecture"):
        parse_manifest({"format": 1, "assets": [entry]})


def test_the_shipped_generators_declare_config_f():
    from core.models.manifest import load_manifest

    ffhq = load_manifest().get("stylegan2-ffhq-1024").declared_architecture()
    assert ffhq["num_ws"] == 18 and ffhq["mapping_layers"] == 8 and ffhq["z_dim"] == 512
    assert ffhq["channels"] == {"4": 512, "8": 512, "16": 512, "32": 512, "64": 512,
                                "128": 256, "256": 128, "512": 64, "1024": 32}
    assert load_manifest().get("stylegan2-afhqcat-512").declared_architecture()["num_ws"] == 16
