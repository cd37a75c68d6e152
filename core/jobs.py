"""The one stop mechanism of every long job in core.

A long job (inversion, PTI, hair transfer, direction fitting, downloads, a whole
workflow) takes a `JobControl` and looks at it between units of work. The caller (a CLI
command on Ctrl-C, the app's Stop button, closing the window) calls `stop()` from any
thread; the job notices at its next check and ends early, keeping what it has:

    control = JobControl()
    for progress in job.run():      # the job checks `control.stop_requested`
        ...                         # another thread may call control.stop()

Stopping is a flag, never a killed thread. A job that can resume (inversion, hair
transfer) calls `acknowledge()` when it has honoured a stop, so `run()` again goes on.
Jobs that cannot keep a partial result call `check(what)`, which raises `JobCancelled`.
"""

from __future__ import annotations

import threading

from core.errors import JobCancelled


class JobControl:
    """A thread-safe stop request shared by a job and whoever runs it."""

    def __init__(self) -> None:
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the job to stop at its next check (any thread)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def acknowledge(self) -> None:
        """The job has stopped for this request; a later run may go on."""
        self._stop.clear()

    def check(self, what: str) -> None:
        """Raise `JobCancelled` ("<what> was cancelled.") when a stop was requested."""
        if self._stop.is_set():
            raise JobCancelled(f"{what} was cancelled.")

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, waking early on a stop; True when a stop was requested."""
        return self._stop.wait(seconds)


def control_or_new(control: JobControl | None) -> JobControl:
    """The caller's control, or a private one (jobs nobody will stop from outside)."""
    return control if control is not None else JobControl()
