"""`evaluate`: the paper's reconstruction comparison on the user's own photos.

For every photo and method it records LPIPS, L2, identity distance, steps and wall time,
and after every row writes the tables (atomically) to the output folder:

- `eval.csv`: one row per photo × method, the record a later run resumes from (rows done
  with the same settings are kept and not run again; skipped or failed rows are retried);
- `eval-summary.csv`: per method, the mean of each figure over the photos it ran on;
- `eval.md`: both tables in Markdown.

The methods, as in ChunkyGAN's Table 1 (W+ optimisation, e4e, ChunkyGAN, PTI):
- `mean_wplus`    W+ optimisation of the whole image from the mean face;
- `encoder`       the encoder's code alone (no optimisation);
- `encoder_wplus` W+ optimisation of the whole image from the encoder's code;
- `chunky_wplus`  ChunkyGAN: one W+ code per chunk (automatic face chunks, or N bands),
                  from the mean face as in the paper;
- `chunky_pti`    the same, then pivotal tuning of the generator around the codes.
A method whose model is missing is recorded as "skipped: <model> not installed".
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError, JobCancelled, ModelMissingError, SemeditError
from core.fileio import write_atomically
from core.invert.engine import InversionSettings
from core.jobs import JobControl, control_or_new
from core.models.loaded import LoadedModels
from core.project import Document
from core.workflows.encoder_init import encoder_mismatch
from core.workflows.inversion import InversionOutcome, apply_inversion, invert
from core.workflows.photos import auto_chunks, open_photo
from core.workflows.progress import Progress

METHODS = ("mean_wplus", "encoder", "encoder_wplus", "chunky_wplus", "chunky_pti")
METHOD_LABELS = {"mean_wplus": "W+ (mean init)", "encoder": "Encoder (e4e) only",
                 "encoder_wplus": "W+ (encoder init)",
                 "chunky_wplus": "ChunkyGAN W+", "chunky_pti": "ChunkyGAN + PTI"}
FIGURES = ("lpips", "l2", "identity", "seconds", "steps")
COLUMNS = ("photo", "method", "status", *FIGURES, "settings")
DONE = "done"
TABLE, SUMMARY, MARKDOWN = "eval.csv", "eval-summary.csv", "eval.md"
_ENCODER_METHODS = ("encoder", "encoder_wplus")


@dataclass(frozen=True)
class EvalSettings:
    steps: int = 300  # optimisation steps of every method that optimises
    pti_steps: int = 350
    chunks: int | str = "auto"  # "auto": the face chunks; N: N horizontal bands
    loss: str = "lpips"
    lambda_reg: float = 1.0
    align: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.chunks != "auto" and (not isinstance(self.chunks, int) or self.chunks < 1):
            raise InvalidInputError(f"--chunks must be 'auto' or a positive number, not "
                                    f"{self.chunks!r}.")
        if self.steps < 0 or self.pti_steps < 0:
            raise InvalidInputError("The number of steps cannot be negative.")

    def key(self) -> str:
        """What makes two runs' rows comparable (rows of other settings are run again)."""
        return (f"steps={self.steps} pti={self.pti_steps} chunks={self.chunks} "
                f"loss={self.loss} reg={self.lambda_reg:g} align={int(self.align)} "
                f"seed={self.seed}")


@dataclass
class EvalRow:
    photo: str
    method: str
    status: str  # "done", "skipped: …" or "failed: …"
    lpips: float | None = None
    l2: float | None = None
    identity: float | None = None
    seconds: float | None = None
    steps: int | None = None
    settings: str = ""

    @property
    def done(self) -> bool:
        return self.status == DONE


@dataclass
class EvalReport:
    rows: list[EvalRow]  # photo-major, in METHODS order
    summary: dict[str, dict[str, float | int | None]]  # method -> mean figures, "photos"
    files: list[Path]
    ran: int  # rows computed by this run (the others were kept from the CSV)


def evaluate(models: LoadedModels, photos: list[Path], out_dir: Path,
             settings: EvalSettings = EvalSettings(), *,
             methods: tuple[str, ...] = METHODS, control: JobControl | None = None
             ) -> Generator[Progress, None, EvalReport]:
    """Run every method on every photo (see the module notes), writing the tables after
    each row. A stop ends it after the current row's step (JobCancelled); the finished
    rows are already in the tables."""
    control = control_or_new(control)
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise InvalidInputError(f"The output folder {out_dir} does not exist.")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InvalidInputError(f"Unknown methods {unknown}; use some of {list(METHODS)}.")
    names = [Path(p).name for p in photos]
    if not photos:
        raise InvalidInputError("There are no photos to evaluate.")
    if len(set(names)) != len(names):
        raise InvalidInputError("Two photos have the same file name; the tables name photos "
                                "by file name, so rename one.")
    key = settings.key()
    kept = {(r.photo, r.method): r for r in read_table(out_dir / TABLE)
            if r.done and r.settings == key}
    rows: dict[tuple[str, str], EvalRow] = {(n, m): kept.get((n, m)) or EvalRow(n, m, "pending")
                                            for n in names for m in methods}
    todo = [(p, n, m) for p, n in zip(photos, names, strict=True) for m in methods
            if (n, m) not in kept]
    files = write_tables(out_dir, list(rows.values()))
    models.generator()  # a missing generator stops the run before any row
    photo_state: dict[str, _PhotoState] = {}
    for index, (path, name, method) in enumerate(todo):
        label = f"{name}: {METHOD_LABELS[method]}"
        yield Progress("eval", index, len(todo), label, overall=index / len(todo))
        state = photo_state.get(name)
        if state is None:
            photo_state.clear()  # keep one photo's intermediate results at a time
            state = photo_state[name] = _PhotoState()
        runner = _run_method(models, path, method, settings, state, control)
        row = yield from _relayed(runner, label, index, len(todo))
        rows[(name, method)] = dataclasses.replace(row, photo=name, method=method,
                                                   settings=key)
        files = write_tables(out_dir, list(rows.values()))
    yield Progress("eval", len(todo), len(todo), "Evaluated", overall=1.0)
    ordered = list(rows.values())
    return EvalReport(ordered, summarise(ordered), files, len(todo))


@dataclass
class _PhotoState:
    """What the methods of one photo share: the opened document and ChunkyGAN's result
    (PTI tunes around it, so its time is counted on top of it)."""

    opened: object | None = None
    open_error: str | None = None
    chunk_masks: dict[str, np.ndarray] | None = None
    chunky: tuple[Document, float] | None = None  # inverted document, its seconds


def _relayed(runner, label: str, index: int, total: int):
    """The method's own steps as progress within its row."""
    while True:
        try:
            p = next(runner)
        except StopIteration as finished:
            return finished.value
        fraction = p.step / max(p.total, 1)
        yield Progress("eval", index, total, f"{label} ({p.label} {p.step}/{p.total})",
                       overall=(index + fraction) / total, losses=p.losses)


def _run_method(models: LoadedModels, path: Path, method: str, settings: EvalSettings,
                state: _PhotoState, control: JobControl) -> Generator[Progress, None, EvalRow]:
    name = path.name
    missing = _missing_model(models, method, settings)
    if missing:
        return EvalRow(name, method, f"skipped: {missing}")
    try:
        if state.opened is None and state.open_error is None:
            try:
                state.opened = yield from open_photo(models, path, align=settings.align,
                                                     control=control)
            except JobCancelled:
                raise
            except SemeditError as error:
                state.open_error = str(error)
        if state.open_error is not None:
            return EvalRow(name, method, f"failed: {state.open_error}")
        opened = state.opened
        inversion = InversionSettings(space="wplus", steps=settings.steps,
                                      lambda_reg=settings.lambda_reg, coverage="whole_image",
                                      seed=settings.seed, preview_every_steps=10**9,
                                      preview_every_seconds=math.inf)
        if method in ("mean_wplus", "encoder", "encoder_wplus"):
            doc = opened.document.snapshot()
            doc.add_chunk(np.ones((doc.resolution, doc.resolution), np.float32), name="all")
            if method == "encoder":
                inversion = dataclasses.replace(inversion, steps=0)
            started = time.perf_counter()
            # the encoder alone optimises nothing: its loss (and VGG) is never used
            loss = "l2" if method == "encoder" else settings.loss
            outcome = yield from invert(models, doc, inversion, loss_kind=loss,
                                        faces=opened.face_found,
                                        init="mean" if method == "mean_wplus" else "e4e",
                                        control=control)
            return _row(name, method, outcome, time.perf_counter() - started)
        if state.chunk_masks is None:
            state.chunk_masks = yield from _chunk_masks(models, opened.document, settings,
                                                        control)
        if method == "chunky_pti" and state.chunky is not None:
            doc, chunky_seconds = state.chunky
        else:
            doc = opened.document.snapshot()
            for chunk_name, mask in state.chunk_masks.items():
                doc.add_chunk(mask, name=chunk_name)
            started = time.perf_counter()
            outcome = yield from invert(models, doc, inversion, loss_kind=settings.loss,
                                        faces=opened.face_found, init="mean",
                                        control=control)
            chunky_seconds = time.perf_counter() - started
            apply_inversion(doc, list(doc.chunks), outcome.result, outcome.settings,
                            metrics=outcome.metrics, generator_id=outcome.generator_id,
                            generator_sha256=outcome.generator_sha256,
                            loss_kind=outcome.loss_kind, pti_steps=outcome.pti_steps)
            state.chunky = (doc, chunky_seconds)
            if method == "chunky_wplus":
                return _row(name, method, outcome, chunky_seconds)
        # PTI around ChunkyGAN's codes: resumed with no further code steps
        started = time.perf_counter()
        outcome = yield from invert(models, doc.snapshot(),
                                    dataclasses.replace(inversion, steps=0),
                                    loss_kind=settings.loss, pti_steps=settings.pti_steps,
                                    resume=True, faces=opened.face_found, control=control)
        row = _row(name, method, outcome, chunky_seconds + time.perf_counter() - started)
        row.steps = settings.steps + settings.pti_steps
        return row
    except JobCancelled:
        raise
    except ModelMissingError as error:
        return EvalRow(name, method, f"skipped: {error}")
    except SemeditError as error:
        return EvalRow(name, method, f"failed: {error}")


def _missing_model(models: LoadedModels, method: str, settings: EvalSettings) -> str | None:
    """Why `method` cannot run here ("<model> not installed"), None when it can."""
    if method in _ENCODER_METHODS:
        try:
            encoder = models.encoder()
        except ModelMissingError:
            return f"{models.choice.encoder or 'e4e-ffhq-encode'} not installed"
        problem = encoder_mismatch(encoder, models.generator())
        if problem:
            return problem
    if "lpips" in settings.loss and method != "encoder":
        try:
            models.lpips()
        except ModelMissingError:
            return f"{models.choice.vgg or 'vgg16-imagenet'} not installed (the LPIPS loss " \
                   "needs it; --loss l2 runs without it)"
    return None


def _chunk_masks(models: LoadedModels, doc: Document, settings: EvalSettings,
                 control: JobControl) -> Generator[Progress, None, dict[str, np.ndarray]]:
    if settings.chunks == "auto":
        found = yield from auto_chunks(models, doc, control=control)
        return found.masks
    return band_masks(doc.resolution, int(settings.chunks))


def band_masks(resolution: int, count: int) -> dict[str, np.ndarray]:
    """`count` horizontal bands of (nearly) equal height that cover the image."""
    if count > resolution:
        raise InvalidInputError(f"{count} chunks do not fit in {resolution} rows.")
    edges = np.linspace(0, resolution, count + 1).round().astype(int)
    masks = {}
    for i in range(count):
        mask = np.zeros((resolution, resolution), np.float32)
        mask[edges[i]:edges[i + 1]] = 1.0
        masks[f"band{i + 1}"] = mask
    return masks


def _row(photo: str, method: str, outcome: InversionOutcome, seconds: float) -> EvalRow:
    m = outcome.metrics
    status = DONE if not outcome.stopped else "failed: stopped before the end"
    return EvalRow(photo, method, status, lpips=_number(m.get("lpips")), l2=_number(m.get("l2")),
                   identity=_number(m.get("identity")), seconds=round(seconds, 3),
                   steps=int(m.get("steps") or 0))


def _number(value) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


# ------------------------------------------------------------------------------ tables

def summarise(rows: list[EvalRow]) -> dict[str, dict[str, float | int | None]]:
    """Per method: the mean of each figure over the photos where it was computed, and
    how many photos ran."""
    summary = {}
    methods = [m for m in METHODS if any(r.method == m for r in rows)]
    for method in methods:
        done = [r for r in rows if r.method == method and r.done]
        entry: dict[str, float | int | None] = {"photos": len(done)}
        for figure in FIGURES:
            values = [getattr(r, figure) for r in done if getattr(r, figure) is not None]
            entry[figure] = float(np.mean(values)) if values else None
        summary[method] = entry
    return summary


def read_table(path: Path) -> list[EvalRow]:
    """The rows of an earlier run's eval.csv (none when there is no such file)."""
    if not path.is_file():
        return []
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            records = list(csv.DictReader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InvalidInputError(f"Cannot read the earlier results {path}: {error}; move it "
                                "away to start again.") from error
    rows = []
    for record in records:
        if set(COLUMNS) - set(record):
            raise InvalidInputError(f"{path} is not an eval table of this SemEdit (columns "
                                    f"{sorted(record)}); move it away to start again.")
        try:
            figures = {f: (None if record[f] in ("", None) else float(record[f]))
                       for f in FIGURES}
        except ValueError as error:
            raise InvalidInputError(f"{path} has a figure that is not a number ({error}); "
                                    "move it away to start again.") from error
        steps = figures.pop("steps")
        rows.append(EvalRow(record["photo"], record["method"], record["status"],
                            steps=None if steps is None else int(steps), settings=record[
                                "settings"], **figures))
    return rows


def write_tables(out_dir: Path, rows: list[EvalRow]) -> list[Path]:
    """eval.csv, eval-summary.csv and eval.md, each written atomically."""
    summary = summarise(rows)
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([r.photo, r.method, r.status, *(_cell(getattr(r, f)) for f in FIGURES),
                         r.settings])
    means = io.StringIO()
    writer = csv.writer(means, lineterminator="\n")
    writer.writerow(("method", "photos", *FIGURES))
    for method, entry in summary.items():
        writer.writerow([method, entry["photos"], *(_cell(entry[f]) for f in FIGURES)])
    files = [(out_dir / TABLE, table.getvalue()), (out_dir / SUMMARY, means.getvalue()),
             (out_dir / MARKDOWN, markdown(rows, summary))]
    for path, text in files:
        data = text.encode("utf-8")
        write_atomically(path, lambda stream, data=data: stream.write(data))
    return [path for path, _ in files]


def markdown(rows: list[EvalRow], summary: dict[str, dict]) -> str:
    settings = sorted({r.settings for r in rows if r.settings})
    lines = ["# Reconstruction on your photos", "",
             "Lower is better for every figure. LPIPS (VGG), L2 (mean squared error of [0, 1] "
             "pixels), identity (dlib face descriptor distance), seconds of wall time.", ""]
    if settings:
        lines += [f"Settings: {'; '.join(settings)}", ""]
    lines += ["## Averages", "", "| Method | Photos | LPIPS | L2 | Identity | Seconds | Steps |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for method, entry in summary.items():
        figures = " | ".join(_shown(entry[f], f) for f in FIGURES)
        lines.append(f"| {METHOD_LABELS[method]} | {entry['photos']} | {figures} |")
    lines += ["", "## Per photo", "",
              "| Photo | Method | LPIPS | L2 | Identity | Seconds | Steps | Status |",
              "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        figures = " | ".join(_shown(getattr(r, f), f) for f in FIGURES)
        status = r.status.replace("|", "/")
        lines.append(f"| {r.photo.replace('|', '/')} | {METHOD_LABELS[r.method]} | {figures} "
                     f"| {status} |")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if value is None:
        return ""
    return str(int(value)) if isinstance(value, int) else repr(float(value))


def _shown(value, figure: str) -> str:
    if value is None:
        return "–"
    if figure == "steps":
        return str(round(value))
    if figure == "seconds":
        return f"{value:.2f}"
    return f"{value:.4f}"
