"""Batch: one recipe on many photos, in this process, in local worker processes, or on Ray.

Every photo is made by a `BatchWorker` (models loaded once per worker) with
`apply_recipe` + `export`, inside a private temporary folder; the worker hands back the
files' bytes and the coordinator (`batch`) writes them into the output folder atomically
and records the photo in the manifest (`semedit-batch.json`, rewritten atomically after
each photo). So workers need no shared disk, a killed worker leaves nothing half
written, and whichever way a photo is processed its files are the same bits (same
recipe, same device type, same thread count per photo: `threads`).

Runners, all yielding `PhotoOutcome`s as photos finish:
- `serial`: the worker in this process;
- `local_pool`: N spawned processes, one photo each at a time; a process that dies has
  its photo given to a fresh one (at most `RETRIES` times);
- `ray_pool`: Ray actors (one per GPU, else CPU actors) with at most `RAY_IN_FLIGHT`
  photos queued per actor; a restarted or dead actor's photos are submitted again.
A stop (`JobControl`) ends every runner: photos in progress are recorded as
"interrupted" and `resume=True` makes them again; done photos are never redone.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import tempfile
import time
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.errors import (
    ImageError,
    InvalidInputError,
    JobCancelled,
    ModelMissingError,
    NoFaceError,
    SemeditError,
)
from core.fileio import write_atomically
from core.hashing import hash_file
from core.imageio import PHOTO_SUFFIXES, photos_in_folder
from core.jobs import JobControl, control_or_new
from core.models.loaded import LoadedModels, ModelChoice
from core.outputs import OutputGuard
from core.workflows.progress import Progress, relay
from core.workflows.recipe import (
    MissingChunkError,
    MissingDirectionError,
    Recipe,
    apply_recipe,
    check_models,
)
from core.workflows.render import export

MANIFEST_NAME = "semedit-batch.json"
MANIFEST_FORMAT = "semedit-batch"
MANIFEST_VERSION = 1
RETRIES = 2  # a photo whose worker died is given to another worker this many times
RAY_IN_FLIGHT = 2  # photos queued per Ray actor: one running, one waiting
STATUSES = ("done", "skipped", "failed", "interrupted")


@dataclass(frozen=True)
class PhotoTask:
    path: str  # the input as given (the manifest's key)
    stem: str  # output files: <stem><ext>, <stem>.semedit
    data: bytes | None = None  # the file's bytes (Ray: workers may not see the path)


@dataclass
class PhotoOutcome:
    path: str
    status: str  # one of STATUSES
    reason: str = ""  # skipped: "no face", "unreadable", "missing direction", "missing chunk"
    message: str = ""
    files: dict[str, bytes] = field(default_factory=dict)  # output name -> bytes
    seconds: float = 0.0
    worker: str = ""  # host:pid
    notes: list[str] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker needs to make photos: it is sent to each process or actor."""

    recipe: Recipe
    choice: ModelChoice
    threads: int | None = 1  # torch threads per photo on the CPU (None: torch's default)
    projects: bool = False  # also hand back an editable .semedit per photo
    generator_blob: tuple = ()  # (ObjectRef,) of the generator file, for Ray workers without it
    generator_suffix: str = ".pkl"


@dataclass(frozen=True)
class BatchProgress(Progress):
    """`step` of `total` photos finished; `outcome` the photo that just finished, or None
    for a step within `photo` (made in this process) or the start."""

    outcome: PhotoOutcome | None = None
    counts: dict[str, int] = field(default_factory=dict)
    photo: str = ""


@dataclass
class BatchSummary:
    output: Path
    manifest: Path
    counts: dict[str, int]  # per status, this run; "already_done": skipped by resume
    retried: int
    stopped: bool
    seconds: float
    workers: list[str]


# ----------------------------------------------------------------- the worker


class BatchWorker:
    """Loads the models once and makes one photo at a time."""

    def __init__(self, spec: WorkerSpec, models: LoadedModels | None = None):
        """`models`: a provider to share (the app's GPU worker's); else one of its own."""
        import torch

        self.spec = spec
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.models = models if models is not None else LoadedModels(resolve_generator(spec))
        if spec.threads is not None and self.models.device.type == "cpu":
            torch.set_num_threads(spec.threads)
        check_models(self.models, spec.recipe)  # refuses another network

    def process(self, task: PhotoTask, control: JobControl | None = None) -> PhotoOutcome:
        """Make one photo (its files come back as bytes, nothing is written outside a
        temporary folder); every problem ends up in the outcome, never raised."""
        from core.workflows import run

        return run(self.make(task, control))

    def make(self, task: PhotoTask, control: JobControl | None = None
             ) -> Generator[Progress, None, PhotoOutcome]:
        """`process` as a workflow: yields the photo's own progress (inversion steps)."""
        from core.imageio import load_photo, read_image_file
        from core.project import save_project

        start = time.perf_counter()
        recipe = self.spec.recipe
        outcome = PhotoOutcome(task.path, "done", worker=self.name)
        with tempfile.TemporaryDirectory(prefix="semedit-batch-") as folder:
            local = Path(folder) / Path(task.path).name
            try:
                data = task.data if task.data is not None else read_image_file(task.path)
                local.write_bytes(data)
                photo = load_photo(local)
            except (ImageError, OSError) as error:
                message = str(error).replace(str(local), task.path)
                return _ended(outcome, "skipped", "unreadable", message, start)
            try:
                applied = yield from apply_recipe(self.models, recipe, photo, control=control)
                name = f"{task.stem}{recipe.export.extension}"
                out = Path(folder) / "out" / name
                out.parent.mkdir()
                yield from export(self.models, applied.document, out,
                                  full_photo=recipe.export.full_photo,
                                  quality=recipe.export.quality,
                                  keep_metadata=recipe.export.keep_metadata,
                                  source_path=local, control=control)
                outcome.files[name] = out.read_bytes()
                if self.spec.projects:
                    project = out.with_name(f"{task.stem}.semedit")
                    save_project(applied.document, project, protect=local)
                    outcome.files[project.name] = project.read_bytes()
                outcome.notes, outcome.metrics = applied.notes, _plain(applied.metrics)
            except NoFaceError as error:
                return _ended(outcome, "skipped", "no face", str(error), start)
            except MissingDirectionError as error:
                return _ended(outcome, "skipped", "missing direction", str(error), start)
            except MissingChunkError as error:
                return _ended(outcome, "skipped", "missing chunk", str(error), start)
            except JobCancelled as error:
                return _ended(outcome, "interrupted", "", str(error), start)
            except SemeditError as error:
                return _ended(outcome, "failed", "", str(error), start)
            except Exception as error:  # a bug or the machine (out of memory): this photo only
                return _ended(outcome, "failed", "", f"{type(error).__name__}: {error}", start)
        outcome.seconds = time.perf_counter() - start
        return outcome


def _ended(outcome: PhotoOutcome, status: str, reason: str, message: str,
           start: float) -> PhotoOutcome:
    outcome.status, outcome.reason, outcome.message = status, reason, message
    outcome.seconds = time.perf_counter() - start
    return outcome


def _plain(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if isinstance(v, int | float | str | None)}


def resolve_generator(spec: WorkerSpec) -> ModelChoice:
    """The generator this worker loads, found by content: the given file or id when its
    sha256 is the recipe's, else this machine's model store (manifest id, then the model
    index by sha256), else the file sent through Ray's object store (checked by sha256).
    None of these: the given choice, so the provider or `check_models` says what is wrong."""
    from core.models import ModelStore, load_manifest
    from core.models.store import GeneratorNeeded
    from core.paths import models_dir

    sha = spec.recipe.generator_sha256
    store = ModelStore(load_manifest(), models_dir(spec.choice.models_dir))
    with contextlib.suppress(SemeditError, OSError):
        given = store.resolve(spec.choice.generator, "generator")
        if store.index.sha256_of(given) == sha:
            return replace(spec.choice, generator=str(given))
    with contextlib.suppress(ModelMissingError):
        found = store.find_generator(GeneratorNeeded(spec.recipe.generator_id, sha))
        return replace(spec.choice, generator=str(found))
    if not spec.generator_blob:
        return spec.choice
    import ray

    folder = Path(tempfile.gettempdir()) / "semedit-ray-models"
    folder.mkdir(exist_ok=True)
    path = folder / f"{sha}{spec.generator_suffix}"
    if not path.is_file() or store.index.sha256_of(path) != sha:
        data = ray.get(spec.generator_blob[0])
        write_atomically(path, lambda stream: stream.write(data))
    return replace(spec.choice, generator=str(path))


# ----------------------------------------------------------------- runners


def serial(spec: WorkerSpec, tasks: Iterable[PhotoTask], control: JobControl,
           models: LoadedModels | None = None) -> Iterator[PhotoOutcome]:
    """Every photo in this process (torch's thread count is restored afterwards)."""
    import torch

    threads = torch.get_num_threads()
    try:
        worker = BatchWorker(spec, models)
        yield _Started([worker.name])
        for task in tasks:
            if control.stop_requested:
                return
            outcome = yield from relay(worker.make(task, control),
                                       lambda step, path=task.path: _Step(path, step))
            yield outcome
            if outcome.status == "interrupted":
                return  # the inversion honoured (and cleared) the stop
    finally:
        torch.set_num_threads(threads)


@dataclass
class _Started:
    """First item of a runner: the workers are up (models loaded and checked)."""

    workers: list[str]


@dataclass
class _Retried:
    path: str


@dataclass
class _Step:
    """A step of the photo being made in this process (its inversion, ...)."""

    path: str
    progress: Progress


def _pool_main(connection, spec: WorkerSpec) -> None:
    """A local worker process: Ctrl-C is the coordinator's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        worker = BatchWorker(spec)
    except SemeditError as error:
        connection.send(("refused", str(error)))
        return
    connection.send(("ready", worker.name))
    while True:
        task = connection.recv()
        if task is None:
            return
        connection.send(("result", worker.process(task)))


@dataclass
class _Slot:
    process: Any
    connection: Any
    task: PhotoTask | None = None
    ready: bool = False
    name: str = ""


def local_pool(spec: WorkerSpec, tasks: Iterable[PhotoTask], control: JobControl,
               workers: int) -> Iterator[Any]:
    """`workers` spawned processes, each loading the models once."""
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("spawn")
    pending: deque[PhotoTask] = deque(tasks)
    attempts: dict[str, int] = {}
    slots: list[_Slot] = []

    def start() -> _Slot:
        parent, child = context.Pipe()
        process = context.Process(target=_pool_main, args=(child, spec), daemon=True)
        process.start()
        child.close()
        slot = _Slot(process, parent)
        slots.append(slot)
        return slot

    try:
        for _ in range(workers):
            start()
        announced = False
        while pending or any(s.task is not None for s in slots):
            if control.stop_requested:
                for slot in slots:
                    if slot.task is not None:
                        yield PhotoOutcome(slot.task.path, "interrupted",
                                           message="Stopped before it finished.")
                return
            for slot in slots:
                if slot.ready and slot.task is None and pending:
                    slot.task = pending.popleft()
                    # A process that died meanwhile: its sentinel says so below, and the
                    # photo is given out again.
                    with contextlib.suppress(OSError):
                        slot.connection.send(slot.task)
            watched = {s.connection: s for s in slots} | {s.process.sentinel: s for s in slots}
            for ready in wait(list(watched), timeout=0.2):
                slot = watched[ready]
                if slot not in slots:
                    continue
                if ready is slot.connection:
                    try:
                        kind, value = slot.connection.recv()
                    except (EOFError, OSError):
                        kind, value = "died", None
                else:
                    kind, value = "died", None
                if kind == "refused":
                    raise InvalidInputError(value)
                if kind == "ready":
                    slot.ready, slot.name = True, value
                    if not announced and all(s.ready for s in slots):
                        announced = True
                        yield _Started([s.name for s in slots])
                elif kind == "result":
                    slot.task = None
                    yield value
                elif kind == "died":
                    if not slot.ready:
                        raise InvalidInputError("A batch worker process ended while loading "
                                                "the models (out of memory?).")
                    slots.remove(slot)
                    slot.process.join(1)
                    if slot.task is not None:
                        yield from _retry(slot.task, attempts, pending, slot.name)
                    if pending or any(s.task is not None for s in slots):
                        start()
    finally:
        for slot in slots:
            with contextlib.suppress(OSError, ValueError):
                if slot.task is None:
                    slot.connection.send(None)
        for slot in slots:
            slot.process.join(timeout=1 if slot.task is None else 0)
            if slot.process.is_alive():
                slot.process.terminate()
                slot.process.join(5)


def _retry(task: PhotoTask, attempts: dict[str, int], pending: deque[PhotoTask],
           worker: str) -> Iterator[Any]:
    attempts[task.path] = attempts.get(task.path, 0) + 1
    if attempts[task.path] > RETRIES:
        yield PhotoOutcome(task.path, "failed", worker=worker, message=(
            f"The worker making it died {attempts[task.path]} times (out of memory?)."))
    else:
        pending.appendleft(task)
        yield _Retried(task.path)


class _RayActor:
    """A Ray actor around one BatchWorker."""

    def __init__(self, spec: WorkerSpec):
        self.worker = BatchWorker(spec)

    def name(self) -> str:
        return self.worker.name

    def pid(self) -> int:
        return os.getpid()

    def process(self, task: PhotoTask) -> PhotoOutcome:
        return self.worker.process(task)


def ray_pool(spec: WorkerSpec, tasks: Iterable[PhotoTask], control: JobControl, *,
             address: str, workers: int | None) -> Iterator[Any]:
    """Ray actors: one per GPU of the cluster (CPU actors, `workers` or one per CPU,
    without GPUs). `address` "auto" starts a local Ray; anything else joins that cluster."""
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        if address == "auto":
            cpus = max(workers or 1, os.cpu_count() or 1)
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    actors: list[Any] = []
    try:
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        # One actor per GPU (never more: each holds one); CPU actors otherwise.
        count = min(workers or gpus, gpus) if gpus else \
            workers or max(1, int(resources.get("CPU", 1)))
        options = {"num_gpus": 1, "num_cpus": 0} if gpus else {"num_cpus": 1}
        remote = ray.remote(_RayActor).options(max_restarts=RETRIES, max_task_retries=0,
                                               **options)
        blob = ()
        given = Path(spec.choice.generator) if spec.choice.generator else None
        if given is not None and given.is_file() \
                and hash_file(given).sha256 == spec.recipe.generator_sha256:
            blob = (ray.put(given.read_bytes()),)  # for workers without the file
        if blob:
            spec = replace(spec, generator_blob=blob,
                           generator_suffix=Path(spec.choice.generator).suffix)
        actors = [remote.remote(spec) for _ in range(count)]
        try:
            names = ray.get([a.name.remote() for a in actors])
        except ray.exceptions.RayActorError as error:
            raise InvalidInputError(f"A Ray worker could not start: {_ray_cause(error)}") \
                from error
        yield _Started(names)
        pending: deque[PhotoTask] = deque(tasks)
        attempts: dict[str, int] = {}
        running: dict[Any, tuple[int, PhotoTask]] = {}
        probes: dict[Any, int] = {}  # an actor whose worker died: asked its name once back
        load = [0] * len(actors)
        usable = set(range(len(actors)))
        while pending or running:
            if control.stop_requested:
                for _, task in running.values():  # their actors are killed below
                    yield PhotoOutcome(task.path, "interrupted",
                                       message="Stopped before it finished.")
                return
            if not usable and not probes:
                raise InvalidInputError("Every Ray worker died; the photos not recorded in "
                                        "the manifest can be made with --resume.")
            for i in sorted(usable, key=lambda i: load[i]):
                while load[i] < RAY_IN_FLIGHT and pending:
                    task = pending.popleft()
                    if task.data is None:
                        task = _with_bytes(task)
                    if isinstance(task, PhotoOutcome):  # unreadable here: no worker needed
                        yield task
                        continue
                    running[actors[i].process.remote(task)] = (i, task)
                    load[i] += 1
            if not running and not probes:
                continue
            done, _ = ray.wait([*running, *probes], num_returns=1, timeout=0.2)
            for ref in done:
                if ref in probes:  # restarted (models loaded again), or gone for good
                    i = probes.pop(ref)
                    with contextlib.suppress(ray.exceptions.RayActorError):
                        ray.get(ref)
                        usable.add(i)
                    continue
                i, task = running.pop(ref)
                load[i] -= 1
                try:
                    yield ray.get(ref)
                except ray.exceptions.RayActorError:
                    # Its other photos fail too; they go to the other actors meanwhile.
                    if i in usable:
                        usable.discard(i)
                        probes[actors[i].name.remote()] = i
                    yield from _retry(task, attempts, pending, f"ray actor {i}")
    finally:
        for actor in actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        if started_here:
            ray.shutdown()


def import_ray():
    try:
        import ray
    except ImportError as error:
        raise InvalidInputError("--ray needs Ray: pip install 'semedit[cluster]' (or pip "
                                "install 'ray[default]'), or use --workers N for local "
                                "processes.") from error
    return ray


def _ray_cause(error: Exception) -> str:
    text = str(error)
    for line in reversed(text.splitlines()):
        if "Error:" in line:
            return line.strip()
    return text.strip().splitlines()[-1] if text.strip() else type(error).__name__


def _with_bytes(task: PhotoTask) -> PhotoTask | PhotoOutcome:
    from core.imageio import read_image_file

    try:
        return replace(task, data=read_image_file(task.path))
    except (ImageError, OSError) as error:
        return PhotoOutcome(task.path, "skipped", "unreadable", str(error))


# ----------------------------------------------------------------- the coordinator


class Manifest:
    """The per-photo record of a batch in its output folder, rewritten atomically."""

    def __init__(self, folder: Path, recipe_sha256: str):
        self.path = Path(folder) / MANIFEST_NAME
        self.recipe_sha256 = recipe_sha256
        self.photos: dict[str, dict] = {}

    @classmethod
    def read(cls, folder: Path) -> dict:
        path = Path(folder) / MANIFEST_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InvalidInputError(f"{path} cannot be read ({error}); move it away to start "
                                    "the batch again.") from error
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT \
                or not isinstance(data.get("photos"), dict):
            raise InvalidInputError(f"{path} is not a SemEdit batch manifest.")
        return data

    def record(self, outcome: PhotoOutcome, outputs: list[str]) -> None:
        entry: dict[str, Any] = {"status": outcome.status, "seconds": round(outcome.seconds, 3),
                                 "worker": outcome.worker}
        if outcome.reason:
            entry["reason"] = outcome.reason
        if outcome.message:
            entry["message"] = outcome.message
        if outputs:
            entry["outputs"] = outputs
        if outcome.notes:
            entry["notes"] = outcome.notes
        if outcome.metrics:
            entry["metrics"] = outcome.metrics
        self.photos[outcome.path] = entry
        self.write()

    def write(self) -> None:
        data = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION,
                "recipe_sha256": self.recipe_sha256, "photos": self.photos}
        text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
        write_atomically(self.path, lambda stream: stream.write(text.encode("utf-8")))


def photo_tasks(paths: Iterable[str | Path]) -> list[PhotoTask]:
    """Photos given as files or folders (a folder's photos by name, not recursive); each
    gets an output stem of its own."""
    files: list[str] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            files += [str(p) for p in photos_in_folder(path)]
        else:
            files.append(str(path))
    files = list(dict.fromkeys(files))
    taken: set[str] = set()
    tasks = []
    for file in files:
        stem, n = Path(file).stem, 2
        candidate = stem
        while candidate.lower() in taken:
            candidate, n = f"{stem}-{n}", n + 1
        taken.add(candidate.lower())
        tasks.append(PhotoTask(file, candidate))
    return tasks


def batch(spec: WorkerSpec, photos: Iterable[str | Path], output: str | Path, *,
          workers: int = 1, ray_address: str | None = None, resume: bool = False,
          control: JobControl | None = None, extra_inputs: Iterable[str | Path] = (),
          models: LoadedModels | None = None) -> Generator[BatchProgress, None, BatchSummary]:
    """Make every photo with `spec.recipe`; yields a BatchProgress per finished photo.

    `models`: in one process, make the photos with this provider (the app's worker's).

    `output` is created when missing; its manifest says what happened to each photo.
    Without `resume` a folder that already holds a manifest is refused; with it, photos
    recorded as done (outputs present) are not made again.
    """
    control = control_or_new(control)
    output = Path(output)
    tasks = photo_tasks(photos)
    if not tasks:
        raise InvalidInputError("No photos to make: give photo files or folders holding "
                                f"{', '.join(PHOTO_SUFFIXES)} files.")
    guard = OutputGuard(inputs=[*(t.path for t in tasks), *extra_inputs])
    names = [f"{t.stem}{spec.recipe.export.extension}" for t in tasks]
    if spec.projects:
        names += [f"{t.stem}.semedit" for t in tasks]
    guard.check_folder(output, names, option="-o")
    output.mkdir(exist_ok=True)
    manifest = Manifest(output, spec.recipe.sha256())
    counts = dict.fromkeys(STATUSES, 0)
    counts["already_done"] = 0
    if (output / MANIFEST_NAME).exists():
        if not resume:
            raise InvalidInputError(f"{output} already holds a batch ({MANIFEST_NAME}); use "
                                    "--resume to finish it, or choose another folder.")
        previous = Manifest.read(output)
        if previous.get("recipe_sha256") != manifest.recipe_sha256:
            raise InvalidInputError(f"The batch in {output} was made with another recipe; "
                                    "choose another folder.")
        manifest.photos = dict(previous["photos"])
        finished = {path for path, entry in manifest.photos.items()
                    if entry.get("status") == "done"
                    and all((output / name).is_file() for name in entry.get("outputs", []))}
        counts["already_done"] = sum(t.path in finished for t in tasks)
        tasks = [t for t in tasks if t.path not in finished]
    total = len(tasks)
    start = time.perf_counter()
    if ray_address is not None:
        runner = ray_pool(spec, tasks, control, address=ray_address,
                          workers=workers if workers > 1 else None)
    elif workers > 1:
        runner = local_pool(spec, tasks, control, min(workers, max(total, 1)))
    else:
        runner = serial(spec, tasks, control, models)
    finished_count, retried, names_of_workers = 0, 0, []
    yield BatchProgress("batch", 0, total, "Starting the workers", counts=dict(counts))
    with contextlib.closing(runner):
        for item in runner:
            if isinstance(item, _Started):
                names_of_workers = item.workers
                continue
            if isinstance(item, _Retried):
                retried += 1
                continue
            if isinstance(item, _Step):
                inner = item.progress
                part = inner.fraction if inner.stage in ("invert", "pti") else 0.0
                yield BatchProgress("batch", finished_count, total, inner.label,
                                    overall=(finished_count + min(part, 1.0)) / max(total, 1),
                                    counts=dict(counts), photo=item.path)
                continue
            outputs = _write(output, guard, item) if item.status == "done" else []
            manifest.record(item, outputs)
            counts[item.status] += 1
            finished_count += item.status != "interrupted"
            yield BatchProgress("batch", finished_count, total, "Photos", outcome=item,
                                counts=dict(counts), stopped=item.status == "interrupted")
    stopped = counts["interrupted"] > 0 or finished_count < total
    if not manifest.path.exists():
        manifest.write()
    return BatchSummary(output, manifest.path, counts, retried, stopped,
                        time.perf_counter() - start, names_of_workers)


def _write(output: Path, guard: OutputGuard, outcome: PhotoOutcome) -> list[str]:
    for name, data in outcome.files.items():
        target = guard.check(output / name, option="-o")
        write_atomically(target, lambda stream, data=data: stream.write(data))
    return list(outcome.files)

