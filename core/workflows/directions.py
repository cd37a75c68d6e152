"""Edit directions of the current generator: listing them, fitting the built-in ones, and
the published direction packs."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass

from core.edit.directions import Direction
from core.edit.packs import (
    DirectionPack,
    PackMismatchError,
    download_pack,
    find_pack,
    install_pack,
    load_packs,
    pack_folder,
)
from core.errors import InvalidInputError
from core.jobs import JobControl, control_or_new
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
    names = {d.name for d in library.imported()}
    offers = []
    for pack in packs:
        folder = pack_folder(models.store.root, pack)
        downloaded = all((folder / f.filename).is_file() for f in pack.files)
        installed = bool(pack.directions) and all(
            any(n == d.id or n.startswith(d.id + "_") for n in names) for d in pack.directions)
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
