"""Closing the app while jobs run, without a frozen window and without ever destroying a
running QThread (Qt aborts the process when a running QThread object is deleted).

`confirm_quit` asks first: the unsaved changes, and what running work quitting stops
(an inversion's steps so far can be kept and saved, as Stop keeps them).

`WindowShutdown.run(seconds, show)` cancels every job (`JobRegistry.begin_shutdown`),
then runs a local event loop, so the window keeps painting and shows what it is waiting
for, until both worker threads have ended or the time is up. When they have not ended
(a job in a long step that cannot look at its stop flag), `outlive_window()` takes the
threads and their tasks out of the window's object tree and keeps them referenced, so
deleting the window cannot delete them; `threads_ended` fires once they finish, which is
when the app quits (`semedit_gui.app` connects it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject, QTimer, Signal

from semedit_gui.controllers.job_registry import JobRegistry

POLL_MS = 30
# Objects kept alive until their threads end, whatever happens to their window.
_LINGERING: set[QObject] = set()


class WindowShutdown(QObject):
    threads_ended = Signal()  # both worker threads have ended (after run or later)

    def __init__(self, registry: JobRegistry):
        super().__init__(None)  # not the window's child: it may outlive the window
        self.registry = registry
        self.threads = list(registry.threads)  # held here: the registry dies with the window
        self.started = False
        self.waited_seconds = 0.0
        self._kept: list[QObject] = []
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check_late)

    def run(self, seconds: float, show: Callable[[str], None]) -> bool:
        """Cancel all jobs and wait up to `seconds` for the threads, processing events;
        True when both threads have ended."""
        self.started = True
        begun = time.monotonic()
        self.registry.begin_shutdown()
        if self.registry.threads_running:
            loop = QEventLoop()
            deadline = begun + seconds

            def check() -> None:
                if not self.registry.threads_running or time.monotonic() >= deadline:
                    loop.quit()
                else:
                    show(self.registry.describe_busy())

            timer = QTimer()
            timer.setInterval(POLL_MS)
            timer.timeout.connect(check)
            show(self.registry.describe_busy())
            timer.start()
            loop.exec()
            timer.stop()
        self.waited_seconds = time.monotonic() - begun
        ended = not self.registry.threads_running
        if ended:
            _deliver_job_endings()
            self.threads_ended.emit()
        return ended

    def outlive_window(self) -> None:
        """The threads still run: keep them (and the tasks they may still touch) alive
        outside the window's object tree, and report when they end."""
        for thread in self.threads:
            for task in list(thread._live):
                task.blockSignals(True)  # nothing left to deliver them to
                task.setParent(None)
                self._kept.append(task)
            thread.setParent(None)
            self._kept.append(thread)
        _LINGERING.add(self)
        self._poll.start()

    def _check_late(self) -> None:
        if any(thread.isRunning() for thread in self.threads):
            return
        self._poll.stop()
        for thread in self.threads:
            thread.wait()  # ended: returns at once, and the object may now go
        self._kept.clear()
        _LINGERING.discard(self)
        _deliver_job_endings()
        self.threads_ended.emit()


def _deliver_job_endings() -> None:
    """A job's last relay from its thread may still be queued when the thread has ended:
    deliver it, so every job is in its terminal state before the app says it closed."""
    QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall)


# The jobs quitting stops that are worth a word before it does (a save always finishes).
NAMED_WORK = ("inversion", "hair", "batch", "export", "auto_chunks", "directions_fit",
              "direction_pack")


def work_quitting_stops(window) -> list[str]:
    """What runs that quitting would stop, in the user's words ("Inverting (40 steps
    done)", "Exporting astronaut-edited.png")."""
    names = []
    for task in window.jobs.jobs():
        if task.kind in NAMED_WORK and not task.must_finish:
            steps = window.inversion.steps_done if task.kind == "inversion" else 0
            names.append(f"{task.name} ({steps} steps done)" if steps else task.name)
    return names


def inversion_running(window) -> bool:
    return window.jobs.active("inversion") is not None


def confirm_quit(window) -> bool:
    """Ask before quitting: unsaved changes, and the work quitting stops (the question is
    asked while such work runs even when nothing is unsaved yet). Save during an
    inversion first stops it and waits for its result so far, as Stop keeps it, then
    saves that with the rest."""
    documents = window.documents
    if window.session is None or not work_quitting_stops(window):
        return documents.confirm_discard()
    window.close_state = "asking"  # the question says "quitting"; a second close waits
    try:
        answer = window.ask_unsaved_changes()
    finally:
        window.close_state = "open"
    if answer == "save":
        if inversion_running(window):
            keep_inversion_so_far(window)
        return documents.save(blocking=True)
    return answer == "discard"


def keep_inversion_so_far(window) -> bool:
    """Stop the inversion and wait, the window painting, until its result so far is in
    the document (at most `window.close_wait_s`); True when it is."""
    window.inversion.stop()
    window.show_message("Stopping the inversion; its steps so far are kept and saved.")
    return wait_until(lambda: not inversion_running(window), window.close_wait_s)


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    """Process events until `condition()` holds or `seconds` have passed."""
    if condition():
        return True
    loop, deadline = QEventLoop(), time.monotonic() + seconds
    timer = QTimer()
    timer.setInterval(POLL_MS)
    timer.timeout.connect(lambda: (condition() or time.monotonic() >= deadline) and loop.quit())
    timer.start()
    loop.exec()
    timer.stop()
    return condition()


def close_window(window, event) -> None:
    """The main window's close: ask about unsaved changes, stop every job while showing
    what it waits for, and accept only once the worker threads have ended; otherwise hide
    the window and let the threads outlive it (the app quits when they end)."""
    if window.close_state != "open":  # closed, or already waiting for the jobs to stop
        event.setAccepted(window.close_state == "closed")
        return
    documents, session = window.documents, window.session
    keep_autosave = window.discard_on_close and bool(session and session.dirty)
    if not window.discard_on_close and not confirm_quit(window):
        event.ignore()
        return
    window.close_state = "closing"
    from semedit_gui.dialogs import ModelManagerDialog

    for dialog in window.findChildren(ModelManagerDialog):
        dialog.close()  # cancels its download
    documents.autosave_timer.stop()
    window.status_timer.stop()
    for widget in (window.centralWidget(), window.menuBar(), *window.docks.values()):
        widget.setEnabled(False)  # visibly closing; events still run
    ended = window.shutdown.run(window.close_wait_s, window.show_message)
    from semedit_gui.window.actions import save_layout

    save_layout(window)  # after the jobs stopped: the docks still as with the photo open
    if keep_autosave:
        documents.autosave_slot.release_lock()  # recoverable at the next start
    else:
        documents.autosave_slot.clear()
    documents.set_session(None)
    if ended:
        window.close_state = "closed"
        event.accept()
        return
    # A job is stuck in a step that cannot stop: never destroy its running thread.
    window.close_state = "lingering"
    window.shutdown.outlive_window()
    window.shutdown.threads_ended.connect(lambda: setattr(window, "close_state", "closed"))
    event.ignore()
    window.hide()
