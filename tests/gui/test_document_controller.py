"""The project lifecycle without a window: open, save, save as, autosave, a save queued
behind an autosave, recovery that never touches another running app's autosave, export
and recent files."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from PySide6.QtCore import QObject

from core.project import load_project
from semedit_gui.autosave import AutosaveSlot, pending_recoveries
from semedit_gui.dialogs import ExportOptions
from semedit_gui.settings import AppSettings
from tests.gui.controller_fixtures import (
    GEN,
    WAIT_MS,
    Answers,
    make_documents,
    make_registry,
    stop_threads,
    wait_ended,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(path)
    return path


@pytest.fixture
def setup(qtbot, tmp_path):
    owner = QObject()
    registry = make_registry(tmp_path, owner)
    answers = Answers()
    settings = AppSettings(generator=GEN, device="cpu", autosave_seconds=0)
    documents = make_documents(registry, tmp_path, answers, settings)
    yield registry, documents, answers, settings
    stop_threads(registry, qtbot)


def open_photo(qtbot, documents, photo):
    with qtbot.waitSignal(documents.document_opened, timeout=WAIT_MS):
        task = documents.open_path(photo)
    assert task.state == "done"
    return documents.session


def test_open_save_reopen_and_recent_files(qtbot, setup, photo, tmp_path):
    _registry, documents, answers, settings = setup
    session = open_photo(qtbot, documents, photo)
    assert session.doc.resolution == 32 and not session.dirty
    session.chunk_set.add(np.ones((32, 32), np.float32), name="all")
    assert session.dirty

    answers.save_path = tmp_path / "portrait.semedit"
    assert documents.save()  # no path yet: asks where (Save As)
    assert answers.asked == ["save:astronaut.semedit"]
    qtbot.waitUntil(lambda: not session.dirty, timeout=WAIT_MS)
    assert load_project(answers.save_path).chunks[0].name == "all"
    assert settings.recent_files == [str(answers.save_path.resolve()), str(photo.resolve())]

    with qtbot.waitSignal(documents.document_opened, timeout=WAIT_MS):
        documents.open_path(answers.save_path)
    assert documents.session is not session and documents.session.path == answers.save_path
    assert [c.name for c in documents.session.doc.chunks] == ["all"]

    messages = []
    documents.message.connect(lambda text, error: messages.append((text, error)))
    missing = str(tmp_path / "gone.semedit")
    settings.add_recent(missing)
    assert documents.open_recent(missing) is None
    assert missing not in settings.recent_files and messages[-1][1] is True


def test_a_save_queued_behind_an_autosave_is_written(qtbot, setup, photo, tmp_path):
    registry, documents, _answers, _settings = setup
    session = open_photo(qtbot, documents, photo)
    session.chunk_set.add(np.ones((32, 32), np.float32), name="all")
    started, release = threading.Event(), threading.Event()

    def busy_disk(models, task):  # the file worker is busy while both are queued
        started.set()
        assert release.wait(30)

    registry.submit("gate", "Busy disk", busy_disk, files=True)
    assert started.wait(10)
    autosave = documents.autosave_now()
    assert documents.autosave_now() is None  # one autosave at a time
    target = tmp_path / "saved.semedit"
    save = documents.save_to(target)
    assert autosave.state == save.state == "queued"
    release.set()
    wait_ended(qtbot, autosave)
    wait_ended(qtbot, save)
    assert (autosave.state, save.state) == ("done", "done")
    assert load_project(target).chunks[0].name == "all" and not session.dirty
    # Saved: the autosave (written just before) is no longer needed.
    assert not documents.autosave_slot.project.exists()


def test_a_save_still_queued_when_the_app_closes_is_written(qtbot, setup, photo, tmp_path):
    registry, documents, _answers, _settings = setup
    session = open_photo(qtbot, documents, photo)
    session.chunk_set.add(np.ones((32, 32), np.float32), name="all")
    started, release = threading.Event(), threading.Event()
    registry.submit("gate", "Busy disk", lambda m, t: started.set() or release.wait(30),
                    files=True)
    assert started.wait(10)
    autosave = documents.autosave_now()
    save = documents.save_to(tmp_path / "late.semedit")
    registry.begin_shutdown()
    assert autosave.state == "cancelled" and save.state == "queued"
    release.set()
    wait_ended(qtbot, save)
    assert save.state == "done" and load_project(tmp_path / "late.semedit").chunks


def test_recovery_lists_only_autosaves_of_apps_no_longer_running(qtbot, setup, photo,
                                                                  tmp_path):
    _registry, documents, _answers, _settings = setup
    folder = documents.autosave_slot.folder
    session = open_photo(qtbot, documents, photo)
    session.chunk_set.add(np.ones((32, 32), np.float32), name="all")
    before = time.time()
    wait_ended(qtbot, documents.autosave_now())
    mine = documents.autosave_slot

    # Another running app (same folder) must not see this live autosave.
    other = AutosaveSlot(folder)
    assert pending_recoveries(folder, exclude=other) == []
    assert documents.pending_recoveries() == []  # nor do we list our own

    # A crashed app: its lock is gone (or stale), so its autosave is offered.
    crashed = AutosaveSlot(folder)
    crashed.prepare()
    crashed.project.write_bytes(mine.project.read_bytes())
    crashed.write_note("crashed.png (unsaved)", None)
    crashed.release_lock()
    stale_pid = _dead_pid()
    lock_text = f"{stale_pid}\nsemedit-test\n{os.uname().nodename}\n"
    crashed.lock_path.write_text(lock_text)  # left behind by a dead process
    found = pending_recoveries(folder, exclude=other)
    assert [r.project for r in found] == [crashed.project]
    assert found[0].title == "crashed.png (unsaved)" and found[0].saved_at >= before - 1
    assert found[0].saved_at_text  # "when the autosave was made", for the question

    with qtbot.waitSignal(documents.document_opened, timeout=WAIT_MS):
        documents.recover(found[0])
    assert documents.session.dirty and documents.session.path is None
    assert not crashed.project.exists() and not crashed.note.exists()
    assert json.loads(mine.note.read_text())["pid"] == os.getpid()
    assert mine.project.exists()  # the live app's autosave was never touched


def _dead_pid() -> int:
    pid = 999_999
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_export_writes_the_image_and_masks(qtbot, setup, photo, tmp_path):
    _registry, documents, _answers, _settings = setup
    session = open_photo(qtbot, documents, photo)
    mask = np.zeros((32, 32), np.float32)
    mask[8:24, 8:24] = 1
    session.chunk_set.add(mask, name="middle")
    out = tmp_path / "crop.png"
    task = documents.export_to(ExportOptions(out, "PNG", False, 95, True))
    wait_ended(qtbot, task)
    assert task.state == "done"
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), session.doc.aligned)
    written = documents.export_masks_to(tmp_path)
    assert written == [tmp_path / "middle.png"]
    assert np.asarray(Image.open(written[0]))[16, 16] > 0


def test_unsaved_changes_cancel_keeps_the_document(qtbot, setup, photo):
    _registry, documents, answers, _settings = setup
    session = open_photo(qtbot, documents, photo)
    session.chunk_set.add(np.ones((32, 32), np.float32), name="all")
    answers.unsaved = "cancel"
    assert documents.open_path(photo) is None and not documents.close_document()
    assert documents.session is session and answers.asked == ["unsaved", "unsaved"]
    answers.unsaved = "discard"
    assert documents.close_document() and documents.session is None


@pytest.mark.parametrize(("precision", "force_fp32"), [("fp32", True), ("auto", None)])
def test_export_uses_the_precision_setting(qtbot, setup, photo, tmp_path, monkeypatch,
                                           precision, force_fp32):
    from semedit_gui import jobs

    _registry, documents, _answers, settings = setup
    open_photo(qtbot, documents, photo)
    settings.precision = precision
    requests = []
    real_export = jobs.export
    monkeypatch.setattr(jobs, "export", lambda snapshot, request: (
        requests.append(request), real_export(snapshot, request))[1])
    task = documents.export_to(ExportOptions(tmp_path / "out.png", "PNG", False, 95, True))
    wait_ended(qtbot, task)
    assert task.state == "done" and (tmp_path / "out.png").exists()
    assert [r.force_fp32 for r in requests] == [force_fp32]
