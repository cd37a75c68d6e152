"""The job registry without a window: explicit states, exactly one terminal signal per
job (also for jobs dropped at shutdown), what runs per kind, cancel_all."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from PySide6.QtCore import QObject

from core.errors import JobCancelled, NoFaceError
from tests.gui.controller_fixtures import make_registry, stop_threads, wait_ended


@pytest.fixture
def registry(qtbot, tmp_path):
    owner = QObject()
    registry = make_registry(tmp_path, owner)
    yield registry
    stop_threads(registry, qtbot)


def watch(task, log: Counter, states: dict) -> None:
    """Count the task's terminal signals and record its states in order."""
    states[task.name] = [task.state]
    task.state_changed.connect(lambda state: states[task.name].append(state))
    for signal in ("succeeded", "failed", "cancelled", "ended"):
        getattr(task, signal).connect(lambda *_a, s=signal: log.update([(task.name, s)]))


def gate_work(started: threading.Event, release: threading.Event):
    def work(models, task):
        started.set()
        assert release.wait(30)
        return "gate"
    return work


def test_done_failed_cancelled_each_end_once(qtbot, registry):
    log, states = Counter(), {}

    def fine(models, task):
        yield 1
        return 42

    def broken(models, task):
        raise NoFaceError("No face was found in wall.png.")

    def stoppable(models, task):
        while True:
            task.control.check("Spinning")
            yield None

    failures = []
    registry.job_failed.connect(lambda task, reason: failures.append((task.name, reason)))
    ok = registry.submit("a", "Fine", fine)
    bad = registry.submit("b", "Broken", broken, reason="Opening a photo")
    spin = registry.submit("c", "Spinning", stoppable)
    for task in (ok, bad, spin):
        watch(task, log, states)
    qtbot.waitUntil(lambda: spin.state == "running", timeout=10_000)
    assert registry.active("c") is spin and set(registry.running_kinds()) <= {"a", "b", "c"}
    spin.stop()
    assert spin.state == "cancelling"  # at once, before the job notices
    for task in (ok, bad, spin):
        wait_ended(qtbot, task)
    assert ok.result == 42 and states["Fine"] == ["queued", "running", "done"]
    assert states["Broken"] == ["queued", "running", "failed"]
    assert states["Spinning"] == ["queued", "running", "cancelling", "cancelled"]
    assert failures == [("Broken", "Opening a photo")]
    assert log == Counter({("Fine", "succeeded"): 1, ("Fine", "ended"): 1,
                           ("Broken", "failed"): 1, ("Broken", "ended"): 1,
                           ("Spinning", "cancelled"): 1, ("Spinning", "ended"): 1})
    assert registry.active("a") is None and registry.running_kinds() == []


def test_queued_jobs_end_cancelled_at_shutdown_and_saves_still_run(qtbot, registry, tmp_path):
    started, release = threading.Event(), threading.Event()
    log, states = Counter(), {}
    gate = registry.submit("gate", "Gate", gate_work(started, release))
    ran = []
    queued = [registry.submit("export", f"Queued {i}", lambda m, t, i=i: ran.append(i))
              for i in range(3)]
    file_gate = registry.submit("gate", "File gate", gate_work(threading.Event(), release),
                                files=True)
    autosave = registry.submit("autosave", "Autosave", lambda m, t: ran.append("autosave"),
                               files=True)
    save = registry.submit("save", "Save", lambda m, t: ran.append("save") or "saved",
                           files=True, must_finish=True)
    for task in (gate, *queued, file_gate, autosave, save):
        watch(task, log, states)
    assert started.wait(10)
    qtbot.waitUntil(lambda: gate.state == "running", timeout=10_000)

    registry.begin_shutdown()
    # Dropped from the queues: cancelled now, without waiting for the gate.
    for task in (*queued, autosave):
        assert task.state == "cancelled" and log[(task.name, "cancelled")] == 1
    assert save.state == "queued"  # a save the user asked for is never dropped
    release.set()
    qtbot.waitUntil(lambda: not registry.threads_running, timeout=30_000)
    wait_ended(qtbot, save)
    assert save.state == "done" and save.result == "saved"
    assert ran == ["save"]  # nothing dropped ever ran
    for task in (gate, *queued, file_gate, autosave, save):
        terminal = [s for s in ("succeeded", "failed", "cancelled")
                    if log[(task.name, s)]]
        assert len(terminal) == 1 and log[(task.name, "ended")] == 1, (task.name, log)
    late = registry.submit("export", "Late", lambda m, t: 1)
    assert late.state == "failed"  # refused after shutdown, with its one terminal signal


def test_a_job_stopped_while_queued_never_runs_and_cancel_all(qtbot, registry):
    started, release = threading.Event(), threading.Event()
    gate = registry.submit("gate", "Gate", gate_work(started, release))
    ran = []
    waiting = registry.submit("export", "Waiting", lambda m, t: ran.append(1))
    assert started.wait(10)
    registry.cancel("export")
    assert waiting.state == "cancelling"
    release.set()
    wait_ended(qtbot, waiting)
    wait_ended(qtbot, gate)
    assert waiting.state == "cancelled" and not ran

    def spin(models, task):
        while not task.stop_requested:
            yield None
        raise JobCancelled("stopped")

    jobs = [registry.submit("x", f"Spin {i}", spin) for i in range(2)]
    qtbot.waitUntil(lambda: jobs[0].state == "running", timeout=10_000)
    registry.cancel_all()
    for task in jobs:
        wait_ended(qtbot, task)
    assert [t.state for t in jobs] == ["cancelled", "cancelled"]
    qtbot.waitUntil(lambda: registry.idle, timeout=5000)
    assert registry.running_kinds() == []
