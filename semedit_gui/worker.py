"""The threads that run the app's work, and the tasks they run.

A `Task` wraps a function `work(models, task)` from the UI: it runs on a `TaskThread`
and either returns its result or is a generator that yields progress and returns its
result. `GpuWorker` is the one thread that owns the GPU and the models (`LoadedModels`);
`semedit_gui.file_worker.FileWorker` reads and writes project files next to it. Long jobs
check `task.control` between steps (core's jobs all stop at a flag); nothing is killed.

Every task goes through explicit states, queued → running → (cancelling →) done, failed
or cancelled, and ends with exactly one terminal signal (`succeeded`, `failed` or
`cancelled`, then `ended`), also when it is dropped from a queue at shutdown or was
stopped before it started.

Results travel back by signal. Every signal a UI object connects to is emitted on the UI
thread: the worker emits a private relay signal whose receiver, the Task, lives on the UI
thread, so Qt queues the call there (an AutoConnection across threads), and the Task
re-emits the public signal from that slot. Lambdas connected to a Task therefore never
run on the worker.

Errors never escape: a `SemeditError` becomes its sentence, a GPU out of memory becomes
advice, anything else a short message (with the traceback on stderr for bug reports).
"""

from __future__ import annotations

import inspect
import queue
import sys
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QThread, Signal, Slot
from shiboken6 import Shiboken

from core.errors import JobCancelled, SemeditError
from core.jobs import JobControl
from core.models.loaded import LoadedModels, ModelChoice

JOB_STATES = ("queued", "running", "cancelling", "done", "failed", "cancelled")
TERMINAL_STATES = frozenset({"done", "failed", "cancelled"})

OUT_OF_MEMORY = ("The GPU ran out of memory while {what}. Close other programs that use the "
                 "GPU, use a smaller model, or choose the CPU in Preferences, then try again.")


class RelayedWork(QObject):
    """Work run on another thread whose signals are all emitted on the UI thread.

    The work thread emits the private relay signal; its receiver (this object, created
    on the UI thread) gets the call queued there and re-emits the public signal. A stop
    is a flag the work checks; the work raising `JobCancelled` ends it as cancelled.
    """

    started = Signal()  # the work began on its thread
    state_changed = Signal(str)  # one of JOB_STATES
    progress = Signal(object)
    succeeded = Signal(object)  # the work's result
    failed = Signal(str)  # a sentence for the user (`exception` holds what was raised)
    cancelled = Signal()  # the work stopped early without a result (JobCancelled)
    ended = Signal()  # after succeeded, failed or cancelled, always

    _relay = Signal(str, object)

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self.result: Any = None
        self.error: str | None = None
        self.exception: BaseException | None = None  # what failed, for e.g. a missing model
        self.seconds = 0.0
        self.control = JobControl()  # core's stop flag, handed to the workflow
        self.state = "queued"  # JOB_STATES; changed on the UI thread only
        self._relay.connect(self._deliver)

    def stop(self) -> None:
        """Ask the work to stop at its next step (it decides what a partial result is)."""
        self.control.stop()
        if self.state in ("queued", "running"):
            self._set_state("cancelling")

    @property
    def finished(self) -> bool:
        """True once the terminal signals were emitted (UI thread)."""
        return self.state in TERMINAL_STATES

    def end_unstarted(self) -> None:
        """End a task that will never run (dropped from a queue): cancelled, once."""
        self._deliver("cancelled", None)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    @property
    def stop_requested(self) -> bool:
        return self.control.stop_requested

    def _run(self, call: Callable[[], Any]) -> None:
        """On the work thread: run `call` (a result, or a generator of progress that
        returns one) and relay what happens."""
        started = time.perf_counter()
        self._relay.emit("started", None)
        try:
            if self.control.stop_requested:  # stopped while it waited in the queue
                raise JobCancelled(f"{self.name} was cancelled before it started.")
            outcome = call()
            if inspect.isgenerator(outcome):
                outcome = yield_all(outcome, lambda item: self._relay.emit("progress", item))
            self.result = outcome
            kind, payload = "succeeded", outcome
        except JobCancelled:
            kind, payload = "cancelled", None
        except Exception as error:  # every failure becomes a message
            self.exception = error
            self.error = describe_error(error, self.name)
            kind, payload = "failed", self.error
        self.seconds = time.perf_counter() - started
        self._relay.emit(kind, payload)

    @Slot(str, object)
    def _deliver(self, kind: str, payload: object) -> None:
        if self.finished:  # one terminal signal per task, whatever arrives late
            return
        if kind == "progress":
            self.progress.emit(payload)
            return
        if kind == "started":
            if self.state == "queued":
                self._set_state("running")
            self.started.emit()
            return
        self._set_state({"succeeded": "done"}.get(kind, kind))
        if kind == "succeeded":
            self.succeeded.emit(payload)
        elif kind == "cancelled":
            self.cancelled.emit()
        else:
            self.failed.emit(payload)
        self.ended.emit()


class Task(RelayedWork):
    """One piece of work for a `TaskThread`, `work(models, task)`. Connect to its signals
    before submitting it. `must_finish`: a file write the user asked for; a worker that
    shuts down still runs it instead of dropping it."""

    def __init__(self, name: str, work: Callable[[LoadedModels, Task], Any],
                 parent: QObject | None = None, *, must_finish: bool = False,
                 kind: str = ""):
        super().__init__(name, parent)
        self.work = work
        self.must_finish = must_finish
        self.kind = kind  # what it is for ("inversion", "save", ...): JobRegistry

    def _execute(self, models: LoadedModels | None) -> None:  # the worker thread
        self._run(lambda: self.work(models, self))


def yield_all(generator, on_item: Callable[[Any], None]) -> Any:
    """Run a generator to its end, handing each item to `on_item`; returns its value."""
    while True:
        try:
            item = next(generator)
        except StopIteration as finished:
            return finished.value
        on_item(item)


def describe_error(error: BaseException, what: str) -> str:
    """The sentence the user sees for an exception raised while doing `what`."""
    if isinstance(error, SemeditError):
        return str(error)
    if _is_out_of_memory(error):
        _free_gpu_cache()
        return OUT_OF_MEMORY.format(what=what.lower())
    traceback.print_exception(error, file=sys.stderr)
    detail = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
    return (f"{what} failed unexpectedly ({type(error).__name__}{': ' + detail if detail else ''})."
            " Your work is safe; please report this with the details printed in the terminal.")


def _is_out_of_memory(error: BaseException) -> bool:
    import torch

    if isinstance(error, torch.OutOfMemoryError | MemoryError):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def _free_gpu_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class TaskThread(QThread):
    """Runs tasks one after another on its own thread.

    `request_shutdown()` returns at once: queued tasks end cancelled (those marked
    `must_finish` still run), the running one is asked to stop, and the thread ends after
    it; `isRunning()` says when. `shutdown(ms)` does that and waits.
    """

    _instances: ClassVar[weakref.WeakSet[TaskThread]] = weakref.WeakSet()

    @classmethod
    def running_workers(cls) -> list[TaskThread]:
        """Worker threads still running (tests fail when one outlives its test)."""
        # A worker whose Qt object was deleted with its window cannot be running.
        return [w for w in list(TaskThread._instances) if Shiboken.isValid(w) and w.isRunning()]

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._queue: queue.Queue[Task | None] = queue.Queue()
        self._current: Task | None = None
        self._lock = threading.Lock()
        self._accepting = True
        self._live: set[Task] = set()  # tasks whose signals may still be queued (UI thread)
        TaskThread._instances.add(self)

    def submit(self, task: Task) -> Task:
        """Queue `task`; starts the thread on first use. Refused (failed) after shutdown."""
        if not self._accepting:
            task.error = "The app is closing."
            task._deliver("failed", task.error)
            return task
        if not self.isRunning():
            self.start()
        self._live.add(task)
        task.ended.connect(lambda: self._live.discard(task))
        task.ended.connect(task.deleteLater)  # after the caller's slots: results are read
        self._queue.put(task)
        return task

    @property
    def idle(self) -> bool:
        """True when no task is queued, running or waiting to deliver its signals."""
        return not self._live

    @property
    def current(self) -> Task | None:
        with self._lock:
            return self._current

    @property
    def accepting(self) -> bool:
        return self._accepting

    def stop_current(self) -> None:
        task = self.current
        if task is not None:
            task.stop()

    def request_shutdown(self) -> None:
        """Stop accepting, end queued tasks as cancelled, stop the running one (UI thread;
        returns at once)."""
        self._accepting = False
        kept: list[Task] = []
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                break
            if task is None:
                continue
            if task.must_finish:
                kept.append(task)
            else:
                task.end_unstarted()
        for task in kept:
            self._queue.put(task)
        self.stop_current()
        if self.isRunning():
            self._queue.put(None)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """`request_shutdown()` and wait up to `timeout_ms`; True when the thread ended."""
        self.request_shutdown()
        if not self.isRunning():
            return True
        return self.wait(timeout_ms)

    def run(self) -> None:  # the worker thread
        while True:
            task = self._queue.get()
            if task is None:
                break
            if not self._accepting and not task.must_finish:
                # Taken while the UI thread was emptying the queue: never started.
                task._relay.emit("cancelled", None)
                continue
            with self._lock:
                self._current = task
            task._execute(self._models_for_task())
            with self._lock:
                self._current = None
            self._after_task()
        self._on_exit()

    # Subclass hooks, all on the worker thread.
    def _models_for_task(self) -> LoadedModels | None:
        return None

    def _after_task(self) -> None:
        pass

    def _on_exit(self) -> None:
        pass


class GpuWorker(TaskThread):
    """The one thread that owns the GPU and the models (`LoadedModels`)."""

    def __init__(self, choice: ModelChoice, parent: QObject | None = None):
        super().__init__(parent)
        self.setObjectName("SemEditGpuWorker")
        self._choice = choice
        self.models: LoadedModels | None = None  # created on the worker thread
        # Caches of worker-side objects built on the models (a preview renderer holding
        # the generator): emptied when the models are switched so nothing keeps the old.
        self._model_caches: list[dict] = []
        # Written by the worker, read by the status bar (plain values: safe to read).
        self.device_text = ""
        self.gpu_memory_bytes: int | None = None

    @property
    def choice(self) -> ModelChoice:
        """The models the next task runs with (what `set_models` was last given)."""
        return self._choice

    def register_cache(self, cache: dict) -> None:
        """`cache` holds worker-side objects built on the models; cleared on a switch."""
        self._model_caches.append(cache)

    def set_models(self, choice: ModelChoice) -> Task:
        """Use other model files or another device from the next task on. The old models
        are released first, so two large generators never share the GPU memory."""
        def switch(models: LoadedModels, _task: Task) -> None:
            if models.choice == choice:
                return
            for cache in self._model_caches:
                cache.clear()
            models.release()
            models.use(choice)

        self._choice = choice
        return self.submit(Task("Switching models", switch, self))

    def _models_for_task(self) -> LoadedModels:
        if self.models is None:
            try:
                self.models = LoadedModels(self._choice)
            except Exception as error:  # e.g. a device that went away
                self.models = LoadedModels(ModelChoice())
                print(f"semedit: {describe_error(error, 'Choosing the device')}",
                      file=sys.stderr)
        return self.models

    def _after_task(self) -> None:
        self._record_device()

    def _on_exit(self) -> None:
        for cache in self._model_caches:
            cache.clear()
        if self.models is not None:
            self.models.release()
            self.models = None

    def _record_device(self) -> None:
        import torch

        from core.device import describe_device

        if self.models is None:
            return
        device = self.models.device
        self.device_text = describe_device(device)
        self.gpu_memory_bytes = (torch.cuda.memory_allocated(device)
                                 if device.type == "cuda" else None)
