"""Edit directions of the current generator: listing them, fitting the built-in ones, and
the published direction packs."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.edit.directions import Direction
from core.edit.packs import (
    DirectionPack,
    PackFile,
    PackMismatchError,
    find_pack,
    install_pack,
    load_packs,
)
from core.edit.supervised import SupervisedDirectionJob
from core.errors import InvalidInputError
from core.jobs import JobControl, control_or_new
from core.models.download import DownloadProgress, download
from core.models.loaded import LoadedModels
from core.workflows.progress import FittingProgress, Progress, drive


def list_directions(models: LoadedModels, control: JobControl | None = None
                    ) -> list[Direction]:
    """The directions the current generator has (GANSpace ones computed on first use;
    a stop then raises JobCancelled)."""
    return models.directions().list(control)


def compute_directions(models: LoadedModels, *, supervised: bool = False, hair: bool = False,
                       samples: int = 1000, control: JobControl | None = None
                       ) -> Generator[Progress, None, list[Direction]]:
    """Fit the built-in directions now: GANSpace always; with `supervised` the
    landmark-labelled ones (yaw, pitch, ...), with `hair` hair_volume and hair_length
    (labels from Segment Anything). A stop fits on the faces labelled so far."""
    from core.hair.directions import hair_direction_job, sam_hair_segmenter, store_hair_directions

    control = control_or_new(control)
    library = models.directions()
    segmenter = models.sam() if hair else None  # a missing SAM is said before any work
    yield Progress("ganspace", 0, 1, "Principal components")
    directions = library.builtin(control=control)
    if (supervised or hair) and samples < 1:
        raise InvalidInputError("--samples must be at least 1.")
    stopped = False
    if supervised:
        fitted, stopped = yield from _fitted(
            library.supervised_job(samples=samples, control=control), control)
        names = {d.name for d in fitted}  # keep the others (hair) that were fitted before
        library.store_supervised(fitted + [d for d in library.supervised()
                                           if d.name not in names])
        directions = directions + fitted
    if hair and not stopped:
        job = hair_direction_job(library, sam_hair_segmenter(segmenter), samples=samples,
                                 control=control)
        fitted, _ = yield from _fitted(job, control)
        directions = directions + store_hair_directions(library, fitted)
    return directions


def _fitted(job, control: JobControl
            ) -> Generator[Progress, None, tuple[list[Direction], bool]]:
    """The job's directions, fitted on the faces labelled until the end or a stop; and
    whether it was stopped."""
    stopped = yield from drive(job, lambda p: FittingProgress(
        "labelling", p.done, p.total, "Labelling faces", faces=p.faces, stopped=p.stopped))
    return job.result(), stopped


# --- direction packs ----------------------------------------------------------------------

PACKS_FOLDER = "direction-packs"


def pack_folder(models_root: Path, pack: DirectionPack) -> Path:
    return Path(models_root) / PACKS_FOLDER / pack.id


def download_pack(pack: DirectionPack, models_root: Path, *, control: JobControl | None = None,
                  stall_timeout: float = 30.0, backoff: float = 1.0
                  ) -> Generator[tuple[PackFile, DownloadProgress], None, Path]:
    """Fetch the pack's files that are not there yet (each resumable and sha256-checked);
    returns the folder holding them. A stop keeps the `.part` files for a later resume."""
    folder = pack_folder(models_root, pack)
    folder.mkdir(parents=True, exist_ok=True)
    for f in pack.files:
        dest = folder / f.filename
        if dest.is_file() and dest.stat().st_size == f.size:
            continue  # checked when it was downloaded; install() checks it again
        steps = download(f.url, dest, size=f.size, sha256=f.sha256, control=control,
                         stall_timeout=stall_timeout, backoff=backoff)
        while True:
            try:
                progress = next(steps)
            except StopIteration:
                break
            yield f, progress
    return folder


@dataclass(frozen=True)
class PackOffer:
    """A pack as the current generator sees it: `refusal` is None when it fits."""

    pack: DirectionPack
    refusal: str | None
    downloaded: bool
    installed: bool


def direction_packs(models: LoadedModels, packs: Sequence[DirectionPack] | None = None
                    ) -> list[PackOffer]:
    """Every pack of the manifest, with whether it fits the current generator, is
    downloaded and is installed in its library. Reads the generator (to know its sha256)."""
    from core.edit.library import generator_key

    packs = load_packs() if packs is None else packs
    library = models.directions()
    sha = generator_key(library.generator)
    origins = library.origins()
    offers = []
    for pack in packs:
        folder = pack_folder(models.store.root, pack)
        downloaded = all((folder / f.filename).is_file() for f in pack.files)
        installed = f"pack:{pack.id}" in origins
        offers.append(PackOffer(pack, pack.refusal(models.generator_id, sha), downloaded,
                                installed))
    return offers


def install_direction_pack(models: LoadedModels, pack_id: str, *,
                           packs: Sequence[DirectionPack] | None = None,
                           control: JobControl | None = None, **download_options
                           ) -> Generator[Progress, None, list[Direction]]:
    """Download a pack (resuming what an earlier try left) and install it into the current
    generator's library. A pack made for another generator is refused before anything is
    fetched (PackMismatchError, one sentence saying which generator it needs)."""
    from core.edit.library import generator_key

    control = control_or_new(control)
    pack = find_pack(load_packs() if packs is None else packs, pack_id)
    library = models.directions()
    reason = pack.refusal(models.generator_id, generator_key(library.generator))
    if reason:
        raise PackMismatchError(reason)
    total = pack.size
    done_before = 0
    current = None
    steps = download_pack(pack, models.store.root, control=control, **download_options)
    while True:
        try:
            f, p = next(steps)
        except StopIteration as finished:
            folder = finished.value
            break
        if current is not f:
            if current is not None:
                done_before += current.size
            current = f
        yield Progress("download", done_before + p.done_bytes, total,
                       f"Downloading {pack.title}")
    yield Progress("install", 0, 1, f"Installing {pack.title}")
    directions = install_pack(pack, folder, library, generator_id=models.generator_id)
    yield Progress("install", 1, 1, f"Installing {pack.title}")
    return directions


# --- supervised fitting that can be stopped and resumed (the app) ------------------------


@dataclass
class SupervisedFit:
    """Where a supervised fitting stands: `job` keeps the faces labelled so far, so a stopped
    fit resumes where it stopped (`fit_supervised(resume=...)`); `directions` are the ones
    fitted and stored when it ran to its end (empty when stopped)."""

    job: SupervisedDirectionJob
    directions: list[Direction]
    stopped: bool


def fit_supervised(models: LoadedModels, *, samples: int = 1000, hair: bool = False,
                   labeller=None, resume: SupervisedFit | None = None,
                   control: JobControl | None = None
                   ) -> Generator[Progress, None, SupervisedFit]:
    """Label generated faces and fit the landmark-supervised directions (and, with `hair`,
    the hair ones from Segment Anything's masks), storing them in the library once every
    face is labelled. A stop returns the job unfinished, to be passed back as `resume`;
    `labeller(image) -> {measurement: value} | None` replaces the landmark measurements."""
    control = control_or_new(control)
    library = models.directions()
    segmenter = models.sam() if hair else None  # a missing SAM is said before any work
    if resume is not None and resume.job.generator is library.generator and resume.stopped:
        job = resume.job
        job.control = control  # the new run's stop flag
    else:
        if samples < 1:
            raise InvalidInputError("The number of faces must be at least 1.")
        options = {"labeller": labeller} if labeller is not None else {}
        job = library.supervised_job(samples=samples, control=control, **options)
    stopped = yield from drive(job, lambda p: FittingProgress(
        "labelling", p.done, p.total, "Labelling faces", faces=p.faces, stopped=p.stopped))
    if stopped or job.done < job.total:
        return SupervisedFit(job, [], True)
    fitted = job.result()
    names = {d.name for d in fitted}
    library.store_supervised(fitted + [d for d in library.supervised() if d.name not in names])
    if hair:
        from core.hair.directions import (
            hair_direction_job,
            sam_hair_segmenter,
            store_hair_directions,
        )

        hair_job = hair_direction_job(library, sam_hair_segmenter(segmenter),
                                      samples=job.total, control=control)
        hair_fitted, _ = yield from _fitted(hair_job, control)
        fitted = fitted + store_hair_directions(library, hair_fitted)
    return SupervisedFit(job, fitted, False)
