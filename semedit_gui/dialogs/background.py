"""One file job (download, import, hashing) on its own Python thread, off the UI thread.

These jobs touch no model and no GPU, so they do not queue behind the GPU worker. The
thread emits a private relay signal whose receiver (this object) lives on the UI thread,
so Qt queues the call there and the public signals are always emitted on the UI thread.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from core.errors import JobCancelled
from semedit_gui.worker import yield_all

# work(stop) -> result, or a generator that yields progress and returns the result.
JobWork = Callable[[threading.Event], Any]


class BackgroundJob(QObject):
    """Start with `start()`; `cancel()` sets the stop flag the work checks; `join()` waits."""

    progress = Signal(object)
    succeeded = Signal(object)  # the work's result
    failed = Signal(object)  # the exception (the UI turns it into a sentence)
    cancelled = Signal()  # the work raised JobCancelled after `cancel()`
    ended = Signal()  # after any of the three above, always

    _relay = Signal(str, object)

    def __init__(self, name: str, work: JobWork, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self._work = work
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._relay.connect(self._deliver)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name} was already started.")
        # daemon: a job forgotten by a crashing window must not keep the process alive.
        self._thread = threading.Thread(target=self._run, name=f"SemEdit: {self.name}",
                                        daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._stop.set()

    @property
    def cancel_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # ----------------------------------------------------------------- job thread

    def _run(self) -> None:
        try:
            outcome = self._work(self._stop)
            if inspect.isgenerator(outcome):
                outcome = yield_all(outcome, lambda item: self._relay.emit("progress", item))
            kind, payload = "succeeded", outcome
        except JobCancelled:
            kind, payload = "cancelled", None
        except Exception as error:  # every failure is reported, none escapes the thread
            kind, payload = "failed", error
        self._relay.emit(kind, payload)

    # ----------------------------------------------------------------- UI thread

    @Slot(str, object)
    def _deliver(self, kind: str, payload: object) -> None:
        if kind == "progress":
            self.progress.emit(payload)
            return
        if kind == "succeeded":
            self.succeeded.emit(payload)
        elif kind == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(payload)
        self.ended.emit()
