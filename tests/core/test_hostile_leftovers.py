"""What killed saves and failed downloads leave behind is cleaned on the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from core.fileio import STALE_EMPTY_PART_SECONDS, remove_stale_parts, write_atomically


def test_a_save_killed_midway_leaves_a_part_that_the_next_run_removes(tmp_path):
    target = tmp_path / "out.png"
    script = (
        "import sys, time\nfrom pathlib import Path\nfrom core.fileio import write_atomically\n"
        "def slow(stream):\n    stream.write(b'x' * 100)\n    stream.flush()\n"
        "    print('writing', flush=True)\n    time.sleep(60)\n"
        f"write_atomically(Path({str(target)!r}), slow)\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             cwd=os.getcwd())
    assert child.stdout.readline().strip() == b"writing"
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".out.png.")
    assert not target.exists()

    write_atomically(tmp_path / "next.png", lambda stream: stream.write(b"next run"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next.png"]


def test_a_save_in_progress_in_a_live_process_is_kept(tmp_path):
    seen = []

    def write(stream):
        stream.write(b"data")
        seen.extend(remove_stale_parts(tmp_path))  # another cleanup runs meanwhile

    write_atomically(tmp_path / "a.bin", write)
    assert seen == []
    assert (tmp_path / "a.bin").read_bytes() == b"data"


def test_empty_download_parts_go_once_stale_and_resumable_ones_stay(tmp_path):
    empty = tmp_path / "model.pkl.part"
    empty.write_bytes(b"")
    resumable = tmp_path / "other.pkl.part"
    resumable.write_bytes(b"first bytes")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("keep")
    assert remove_stale_parts(tmp_path, downloads=True) == []  # a download may be starting
    later = time.time() + STALE_EMPTY_PART_SECONDS + 1
    assert remove_stale_parts(tmp_path, now=later) == []  # not the models folder: kept
    assert remove_stale_parts(tmp_path, downloads=True, now=later) == [empty]
    assert resumable.exists() and unrelated.exists()


def test_old_style_temporaries_go_after_a_day(tmp_path):
    old = tmp_path / ".out.png.0123abcd.part"
    old.write_bytes(b"x")
    assert remove_stale_parts(tmp_path) == []
    assert remove_stale_parts(tmp_path, now=time.time() + 2 * 86400) == [old]


def test_missing_folder_is_not_an_error(tmp_path):
    assert remove_stale_parts(tmp_path / "nothing") == []


def test_a_download_starts_by_removing_the_empty_parts_failed_downloads_left(tmp_path,
                                                                           monkeypatch):
    from core.models import store as store_module
    from core.models.store import ModelStore
    from tests.core.test_models_store import FakeDownload, drain, make_manifest

    monkeypatch.setattr(store_module, "download", FakeDownload())
    store = ModelStore(make_manifest(), tmp_path / "models")
    folder = store.path("net").parent
    folder.mkdir(parents=True)
    empty, resumable = folder / "seg.pth.part", folder / "vgg.pth.part"
    empty.touch()
    resumable.write_bytes(b"first half")
    old = time.time() - 3600
    for path in (empty, resumable):
        os.utime(path, (old, old))
    drain(store.download("net"))
    assert store.path("net").is_file()
    assert not empty.exists() and resumable.read_bytes() == b"first half"
