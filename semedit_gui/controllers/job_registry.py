"""Every job the app runs, by kind, with its state: the one place that knows what runs.

The window and the controllers submit work here instead of to a worker directly. Each
job is a `Task` with explicit states (queued, running, cancelling, done, failed,
cancelled; `semedit_gui.worker`) that ends with exactly one terminal signal, including a
job dropped from a queue at shutdown (it ends cancelled). The registry keeps the jobs of
each kind ("inversion", "hair", "save", ...) until they end, so "is an inversion
running?" is `registry.active("inversion")`, not a field per workflow.

Closing: `begin_shutdown()` cancels everything and asks both threads to end, without
waiting; `threads_running` says when they have. The window decides how long to wait and
what to show meanwhile (`semedit_gui.window.closing`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from semedit_gui.file_worker import FileWorker
from semedit_gui.worker import GpuWorker, Task, TaskThread


class JobRegistry(QObject):
    job_submitted = Signal(object)  # Task
    job_ended = Signal(object)  # Task, after its terminal signal
    job_failed = Signal(object, str)  # Task, the feature that failed (for the message)
    message = Signal(str)  # a status line ("Saving x…", "x was stopped")

    def __init__(self, gpu: GpuWorker, files: FileWorker, parent: QObject | None = None):
        super().__init__(parent)
        self.gpu = gpu
        self.files = files
        self._active: dict[str, list[Task]] = {}
        self._closing = False

    # ----------------------------------------------------------------- submitting

    def submit(self, kind: str, name: str, work: Callable[..., Any], *,
               on_success: Callable[[Any], None] | None = None,
               on_progress: Callable[[Any], None] | None = None,
               reason: str = "", files: bool = False, must_finish: bool = False,
               quiet: bool = False) -> Task:
        """Run `work(models, task)` as a job of `kind` on the GPU worker (or the file
        worker when `files`); a failure is reported through `job_failed`."""
        task = Task(name, work, self, must_finish=must_finish, kind=kind)
        if on_success is not None:
            task.succeeded.connect(on_success)
        if on_progress is not None:
            task.progress.connect(on_progress)
        task.failed.connect(lambda _text: self.job_failed.emit(task, reason or name))
        if not quiet:
            task.cancelled.connect(lambda: self._report_cancelled(task))
        task.ended.connect(lambda: self._ended(kind, task))
        self._active.setdefault(kind, []).append(task)
        self.job_submitted.emit(task)
        (self.files if files else self.gpu).submit(task)
        if not quiet and not task.finished:
            self.message.emit(f"{name}…")
        return task

    def _report_cancelled(self, task: Task) -> None:
        if not self._closing:
            self.message.emit(f"{task.name} was stopped; nothing was changed.")

    def _ended(self, kind: str, task: Task) -> None:
        jobs = self._active.get(kind, [])
        if task in jobs:
            jobs.remove(task)
        if not jobs:
            self._active.pop(kind, None)
        self.job_ended.emit(task)

    # ----------------------------------------------------------------- what runs

    def active(self, kind: str) -> Task | None:
        """The newest job of `kind` that has not ended, or None."""
        jobs = self._active.get(kind)
        return jobs[-1] if jobs else None

    def jobs(self, kind: str | None = None) -> list[Task]:
        """Jobs not ended yet, oldest first (of one kind, or all)."""
        if kind is not None:
            return list(self._active.get(kind, []))
        return [task for jobs in self._active.values() for task in jobs]

    def running_kinds(self) -> list[str]:
        return [kind for kind, jobs in self._active.items() if jobs]

    @property
    def idle(self) -> bool:
        """No job of ours or of anyone else (the live preview) on either worker."""
        return not self._active and self.gpu.idle and self.files.idle

    # ----------------------------------------------------------------- stopping

    def cancel(self, kind: str) -> None:
        for task in self.jobs(kind):
            task.stop()

    def cancel_all(self) -> None:
        for task in self.jobs():
            task.stop()
        self.gpu.stop_current()
        self.files.stop_current()

    @property
    def closing(self) -> bool:
        return self._closing

    def begin_shutdown(self) -> None:
        """Cancel every job and ask both threads to end; returns at once. Queued jobs end
        cancelled now, a save the user asked for still runs."""
        self._closing = True
        for task in self.jobs():
            if not task.must_finish:
                task.stop()
        self.gpu.request_shutdown()
        self.files.request_shutdown()

    @property
    def threads(self) -> list[TaskThread]:
        return [self.gpu, self.files]

    @property
    def threads_running(self) -> bool:
        return any(thread.isRunning() for thread in self.threads)

    def describe_busy(self) -> str:
        """What closing is waiting for, in the user's words ("Stopping the inversion…")."""
        names = {"inversion": "the inversion", "hair": "the hair transfer",
                 "save": "saving", "autosave": "the autosave", "export": "the export",
                 "directions": "the edit directions", "open": "opening the file",
                 "auto_chunks": "the automatic chunks", "sam": "the selection",
                 "whole_photo": "the whole-photo view"}
        kinds = self.running_kinds()
        if not kinds:
            return "Closing…"
        what = ", ".join(names.get(kind, kind) for kind in kinds)
        return f"Stopping {what}…"
