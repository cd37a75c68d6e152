"""`semedit models verify` covers the user's own models (`semedit models add NAME FILE`):
re-hashed and compared with the sha256 recorded when they were added, read with the
same loaders, reported in the same format as the manifest's models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from core.hashing import hash_file
from core.models.validation import open_model_store
from semedit_gui.launcher import main as semedit

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = DATA / "ada_tiny.pkl"
OTHER = DATA / "rosinality_tiny.pt"  # same architecture, other weights


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = semedit(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add(capsys, tmp_path: Path, name: str = "my-gan") -> Path:
    mine = tmp_path / f"{name}.pkl"
    shutil.copyfile(TINY, mine)
    code, _, err = run(capsys, "models", "add", name, str(mine))
    assert code == 0, err
    return mine


def test_verify_checks_a_user_model_with_nothing_else_installed(capsys, tmp_path):
    mine = add(capsys, tmp_path)
    code, out, err = run(capsys, "models", "verify", "--json")
    assert code == 0, err
    [row] = json.loads(out)
    assert row["id"] == "my-gan" and row["ok"] is True
    assert row["sha256"] == hash_file(TINY).sha256 and row["path"] == str(mine.resolve())
    assert row["method"] == "sha256 recorded when added + read as a StyleGAN2 generator"
    assert row["message"] == f"{mine.resolve()} is intact ({row['method']})."
    code, out, _ = run(capsys, "models", "verify")
    assert code == 0 and out == f"OK      {row['message']}\n"
    code, out, _ = run(capsys, "models", "verify", "my-gan")  # by name, too
    assert code == 0 and out.startswith("OK      ") and str(mine.resolve()) in out


def test_verify_rehashes_a_changed_user_model_and_fails_it(capsys, tmp_path):
    mine = add(capsys, tmp_path)
    add(capsys, tmp_path, "kept")
    shutil.copyfile(OTHER, mine)  # a valid generator, but not the file that was added
    code, out, _ = run(capsys, "models", "verify", "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert code == 1
    assert rows["kept"]["ok"] and not rows["my-gan"]["ok"]
    assert rows["my-gan"]["sha256"] == hash_file(OTHER).sha256
    recorded = hash_file(TINY).sha256
    assert rows["my-gan"]["message"] == (
        f"{mine.resolve()} fails its check (sha256 recorded when added): its sha256 "
        f"{hash_file(OTHER).sha256[:12]}… differs from the one recorded when it was added "
        f"({recorded[:12]}…); if you replaced it on purpose, add it again with "
        "`semedit models add my-gan FILE --replace`.")
    code, out, _ = run(capsys, "models", "verify", "my-gan")
    assert code == 1 and out.startswith("FAILED  ") and out.count("\n") == 1


def test_verify_reads_a_user_model_with_the_loaders(capsys, tmp_path):
    # A record whose sha256 matches a file that is no generator (written by hand or by an
    # older SemEdit): the hash passes, the loader does not.
    notes = tmp_path / "notes.pkl"
    notes.write_bytes(b"not a network at all")
    root = open_model_store(None).root
    root.mkdir(parents=True, exist_ok=True)
    (root / "user_models.json").write_text(json.dumps({"format": 1, "models": {"notes": {
        "kind": "generator", "path": str(notes), "sha256": hash_file(notes).sha256,
        "summary": "?"}}}))
    code, out, _ = run(capsys, "models", "verify", "--json")
    [row] = json.loads(out)
    assert code == 1 and not row["ok"]
    assert row["message"].startswith(f"{notes} fails its check (sha256 recorded when added): ")
    assert "notes.pkl is not a StyleGAN2 generator" in row["message"]


def test_verify_reports_a_user_model_whose_file_is_gone(capsys, tmp_path):
    mine = add(capsys, tmp_path)
    mine.unlink()
    code, out, _ = run(capsys, "models", "verify")
    assert code == 1
    assert out == (f"FAILED  {mine.resolve()} is not there any more (your model 'my-gan'); "
                   "add it again with `semedit models add my-gan FILE --replace`.\n")
