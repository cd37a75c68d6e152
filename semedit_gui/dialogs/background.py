"""One file job (download, import, hashing) on its own Python thread, off the UI thread.

These jobs touch no model and no GPU, so they do not queue behind the GPU worker. Signals
arrive on the UI thread as for the worker's Tasks (`RelayedWork`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from core.jobs import JobControl
from semedit_gui.worker import RelayedWork

# work(control) -> result, or a generator that yields progress and returns the result.
JobWork = Callable[[JobControl], Any]


class BackgroundJob(RelayedWork):
    """Start with `start()`; `cancel()` stops `control`, which the work checks; `join()` waits."""

    def __init__(self, name: str, work: JobWork, parent: QObject | None = None):
        super().__init__(name, parent)
        self._work = work
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name} was already started.")
        # daemon: a job forgotten by a crashing window must not keep the process alive.
        self._thread = threading.Thread(target=self._run, args=(lambda: self._work(self.control),),
                                        name=f"SemEdit: {self.name}", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self.stop()

    @property
    def cancel_requested(self) -> bool:
        return self.stop_requested

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
