"""The GPU worker: tasks run off the UI thread, signals arrive on it, stop and shutdown."""

from __future__ import annotations

import threading

import pytest

from core.errors import NoFaceError
from core.models.loaded import ModelChoice
from semedit_gui.worker import GpuWorker, Task


@pytest.fixture
def worker(qtbot, tmp_path):
    w = GpuWorker(ModelChoice(models_dir=str(tmp_path), device="cpu"))
    yield w
    assert w.shutdown()


def test_generator_task_reports_progress_and_result_on_the_ui_thread(qtbot, worker):
    ui_thread = threading.get_ident()
    seen = []

    def work(models, task):
        seen.append(("work", threading.get_ident()))
        yield from range(3)
        return "done"

    task = Task("Counting", work)
    progress = []
    task.progress.connect(lambda p: progress.append((p, threading.get_ident())))
    with qtbot.waitSignal(task.ended, timeout=5000):
        worker.submit(task)
    assert task.result == "done"
    assert [p for p, _ in progress] == [0, 1, 2]
    assert {t for _, t in progress} == {ui_thread}
    assert seen[0][1] != ui_thread
    qtbot.waitUntil(lambda: worker.idle)


def test_errors_become_messages(qtbot, worker):
    def no_face(models, task):
        raise NoFaceError("No face was found in holiday.jpg.")

    def broken(models, task):
        raise ValueError("bad thing")

    messages = []
    for work in (no_face, broken):
        task = Task("Opening the photo", work)
        task.failed.connect(messages.append)
        with qtbot.waitSignal(task.ended, timeout=5000):
            worker.submit(task)
    assert messages[0] == "No face was found in holiday.jpg."
    assert messages[1].startswith("Opening the photo failed unexpectedly (ValueError: bad thing)")


def test_out_of_memory_becomes_advice(qtbot, worker):
    import torch

    def oom(models, task):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    task = Task("Inverting", oom)
    with qtbot.waitSignal(task.failed, timeout=5000) as blocker:
        worker.submit(task)
    assert "ran out of memory while inverting" in blocker.args[0]
    assert "CPU in Preferences" in blocker.args[0]


def test_shutdown_stops_a_running_task_cooperatively(qtbot, tmp_path):
    worker = GpuWorker(ModelChoice(models_dir=str(tmp_path), device="cpu"))
    started = threading.Event()

    def forever(models, task):
        started.set()
        while not task.stop_requested:
            yield None
        return "stopped"

    task = Task("Spinning", forever)
    worker.submit(task)
    assert started.wait(5)
    assert worker.shutdown(5000)
    assert not worker.isRunning()
    assert task.result == "stopped"
    late = Task("Late", lambda m, t: 1)
    with qtbot.waitSignal(late.failed, timeout=1000):
        worker.submit(late)


def test_a_stopped_job_ends_cancelled_not_failed(qtbot, worker):
    from core.errors import JobCancelled

    def stopped(models, task):
        yield 1
        raise JobCancelled("stopped before the end")

    task = Task("Transferring", stopped)
    failures = []
    task.failed.connect(failures.append)
    with qtbot.waitSignals([task.cancelled, task.ended], timeout=5000):
        worker.submit(task)
    assert not failures and task.result is None


def test_switching_models_releases_the_old_generator(qtbot, tmp_path):
    import gc
    import weakref
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data"
    choice = ModelChoice(generator=str(data / "ada_tiny.pkl"), models_dir=str(tmp_path),
                         device="cpu")
    worker = GpuWorker(choice)
    cache: dict = {}
    worker.register_cache(cache)  # as the preview's renderer does

    def load(models, task):
        generator = models.generator()
        cache["renderer"] = generator
        return weakref.ref(generator)

    task = Task("Loading", load)
    with qtbot.waitSignal(task.ended, timeout=30_000):
        worker.submit(task)
    old = task.result
    other = ModelChoice(generator=str(data / "rosinality_tiny.pt"), models_dir=str(tmp_path),
                        device="cpu")
    with qtbot.waitSignal(worker.set_models(other).ended, timeout=30_000):
        pass
    check = Task("Checking", lambda models, t: (gc.collect(), old() is None,
                                                models.generator() is not None)[1:])
    with qtbot.waitSignal(check.ended, timeout=30_000):
        worker.submit(check)
    assert cache == {} and check.result == (True, True)
    assert worker.shutdown(5000)
