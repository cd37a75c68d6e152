"""The inversion workflow without widgets: Run, Stop, Continue, progress, the outcome.

Run optimises the open document's chunks on the GPU worker (`jobs.invert`); Stop asks the
job to stop after its current step (the state is "stopping" at once, so the view can say
so) and keeps the partial result; Continue optimises the current codes further. Progress
counts steps across Stop and Continue: a continued run's steps and losses follow the
previous run's instead of starting from zero again. The outcome is applied to the live
document on the UI thread (`apply_inversion`, one undo step per run); its metrics are
the run's own figures plus the whole run's (`run_totals`: steps and seconds across Stop
and Continue, and the loss curve), so a reopened project shows what it showed when saved
and a Continue after reopening counts on. A run that fails or never starts leaves the
counts as they were.

Quick (with an encoder installed) gives every chunk the encoder's code at once, as one
undo step, so editing can start right away; a photo just opened gets it automatically
(one whole-image chunk when it has none). Run then refines from those codes (ChunkyGAN
starts from the encoder's guess when one is installed). Without an encoder, Quick is
off and `encoder_benefit` says what installing one would give.

While a run goes on, Undo and Redo wait (`history_paused` says why): the run fits the
chunks as they were when it started, and stepping back past a chunk's creation would
take away a chunk it is fitting (the result could not be applied, the run's work lost).
Strokes painted meanwhile are kept and marked (`masks_changed_since_inversion`).

The panel's settings belong to the document: an opened project shows what it was last
inverted with (inversion.json `settings`, with the loss and PTI steps), or what the panel
held when it was saved (`next_run`: kept in the document as the user changes a setting,
not an undoable edit, so it alone does not make the project unsaved); a new photo shows
the Preferences defaults. `panel_values` says what to show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QObject, Signal

from core.errors import SemeditError
from core.invert import COVERAGES, LOSS_KINDS
from core.latents import SPACES
from core.models.loaded import ModelChoice, encoder_installed
from core.workflows import apply_inversion
from core.workflows.encoder_init import ENCODER_BENEFIT
from semedit_gui import jobs
from semedit_gui.controllers.documents import DocumentController
from semedit_gui.controllers.job_registry import JobRegistry
from semedit_gui.session import EditorSession
from semedit_gui.worker import Task

KIND = "inversion"
QUICK_LABEL = "Quick reconstruction (encoder)"
NEXT_RUN = "next_run"  # inversion.json: the panel's settings when the project was saved
# The panel's settings (InversionPanel.values) and what each may hold.
PANEL_CHOICES = {"space": SPACES, "loss": LOSS_KINDS, "coverage": COVERAGES}
PANEL_NUMBERS = {"steps": (1, 100_000), "pti_steps": (0, 100_000), "lambda_reg": (0.0, 1e6)}
# inversion.json metrics the app adds to the last run's own figures (`run_totals`)
TOTAL_STEPS, TOTAL_SECONDS, LOSS_CURVE = "total_steps", "total_seconds", "loss_curve"
CURVE_POINTS = 500  # a long run's curve is thinned to this many points when saved
HISTORY_PAUSED = ("Undo and Redo are paused while the inversion runs: they would change the "
                  "chunks it is fitting. Stop it first (what it reached is kept).")


class InversionController(QObject):
    state_changed = Signal(str)  # "idle", "running" or "stopping"
    started = Signal(int, bool)  # the total steps shown so far, is it a Continue
    progress = Signal(str, int, int, object)  # stage, step and total (cumulative), loss
    preview = Signal(object)  # uint8 image in the aligned frame
    finished = Signal(dict, bool)  # metrics of the run, was it stopped
    # After a run is applied: the chunks painted on while it ran (they keep the newer mask,
    # their codes fit the old one until a Continue); [] when the run saw every mask.
    masks_changed_since_inversion = Signal(list)
    message = Signal(str, bool)
    encoder_changed = Signal(bool)  # is an encoder installed (Quick possible)
    panel_values = Signal(dict)  # the settings the panel should show (`panel_values_for`)

    def __init__(self, registry: JobRegistry, documents: DocumentController, *,
                 force_fp32: Callable[[], bool] = lambda: False,
                 engine_settings: Callable[[], dict[str, str]] = dict,
                 model_choice: Callable[[], ModelChoice] | None = None,
                 defaults: Callable[[], dict] = dict,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.registry = registry
        self.documents = documents
        self._force_fp32 = force_fp32
        self._engine_settings = engine_settings  # the Preferences' gradient mode, autocast
        self._model_choice = model_choice
        self._defaults = defaults  # the Preferences' panel settings for a new photo
        self.encoder_benefit = ENCODER_BENEFIT
        self._state = "idle"
        self.steps_done = 0  # optimisation steps of this document's runs, across Continue
        self.seconds_done = 0.0  # and the seconds they took
        self.losses: list[tuple[int, float]] = []  # (cumulative step, total loss)
        self._offset = 0  # steps done before the running run
        self._seconds_offset = 0.0
        self._before: RunTotals | None = None  # the counts to go back to if the run fails
        self._total = 0
        documents.session_changed.connect(self._on_session_changed)

    @property
    def state(self) -> str:
        return self._state

    @property
    def history_paused(self) -> str:
        """Why Undo and Redo must wait now, or "" when they need not."""
        return HISTORY_PAUSED if self._state != "idle" else ""

    @property
    def task(self) -> Task | None:
        return self.registry.active(KIND)

    def remember(self, values: dict) -> None:
        """The user changed the panel: the document keeps its settings (saved with it)."""
        session = self.documents.session
        if session is not None:  # a new dict: undo keeps the old one intact
            session.doc.inversion = {**session.doc.inversion, NEXT_RUN: dict(values)}

    def defaults_changed(self) -> None:
        """The Preferences changed: with no document open the panel shows them at once."""
        if self.documents.session is None:
            self.panel_values.emit(self._defaults())

    def run(self, settings, loss_kind: str, pti_steps: int, *,
            resume: bool = False, init: str | None = None) -> Task | None:
        """Invert the document's chunks (`resume`: from their current codes; else `init`:
        "e4e", "mean" or None for the encoder's guess when one is installed)."""
        session = self.documents.session
        if session is None or self.task is not None:
            return None
        if not session.doc.chunks:
            self.message.emit("Add chunks first (Auto Chunks, or paint one).", True)
            return None
        if resume and not session.inverted:
            resume = False
        settings = replace(settings, force_fp32=self._force_fp32(), **self._engine_settings())
        self._begin(resume)
        # PTI follows a continued run too (it tunes around the new codes): count its steps
        self._total = self._offset + settings.steps + pti_steps
        chunks = list(session.doc.chunks)
        self.started.emit(self._total, resume)
        task = self.registry.submit(
            KIND, "Inverting", jobs.invert(session.doc.snapshot(), settings,
                                           loss_kind=loss_kind, pti_steps=pti_steps,
                                           resume=resume, init=init),
            on_success=lambda outcome: self._apply(session, chunks, outcome),
            on_progress=self._on_progress, reason="Inversion")
        return self._watch(task)

    def encoder_available(self) -> bool:
        """Whether an encoder file is installed for the chosen models (nothing is loaded)."""
        return self._model_choice is not None and encoder_installed(self._model_choice())

    def quick(self, settings) -> Task | None:
        """Every chunk's code from the encoder (one whole-image chunk when there are none),
        applied as one undo step; no optimisation."""
        session = self.documents.session
        if session is None or self.task is not None:
            return None
        if not self.encoder_available():
            self.message.emit(self.encoder_benefit, True)
            return None
        if not session.doc.chunks:
            size = session.doc.resolution
            session.chunk_set.add(np.ones((size, size), np.float32), name="all",
                                  label="Whole-image chunk")
        settings = replace(settings, steps=0, force_fp32=self._force_fp32(),
                           **self._engine_settings())
        self._begin(resume=False)
        self._total = 0
        chunks = list(session.doc.chunks)
        self.started.emit(0, False)
        task = self.registry.submit(
            KIND, "Quick reconstruction", jobs.invert(session.doc.snapshot(), settings,
                                                      loss_kind="l2", init="e4e"),
            on_success=lambda outcome: self._apply(session, chunks, outcome, quick=True),
            on_progress=self._on_progress, reason="Quick reconstruction")
        return self._watch(task)

    def quick_on_open(self, settings) -> Task | None:
        """After a document opens: Quick, when an encoder is installed and no chunk has a
        code yet."""
        session = self.documents.session
        if (session is None or any(c.code is not None for c in session.doc.chunks)
                or not self.encoder_available()):
            return None
        return self.quick(settings)

    def stop(self) -> None:
        """Stop after the current step; the partial result is kept ("stopping" until then)."""
        task = self.task
        if task is not None and not task.finished:
            task.stop()
            self._set_state("stopping")

    # ----------------------------------------------------------------- job events

    def _begin(self, resume: bool) -> None:
        """A run starts: a Continue counts on from the counts so far, a new run from 0."""
        self._before = RunTotals(self.steps_done, self.seconds_done, list(self.losses))
        if not resume:
            self.steps_done, self.seconds_done, self.losses = 0, 0.0, []
        self._offset, self._seconds_offset = self.steps_done, self.seconds_done

    def _watch(self, task: Task) -> Task:
        if task.finished:
            self._ended()
        else:
            task.ended.connect(self._ended)
            self._set_state("running")
        return task

    def _ended(self) -> None:
        if self._before is not None:  # not applied (failed, never started): as before it
            self.steps_done, self.seconds_done, self.losses = (
                self._before.steps, self._before.seconds, list(self._before.curve or []))
            self._before = None
        self._set_state("idle")

    def _on_progress(self, update: jobs.InversionUpdate) -> None:
        progress = update.progress
        loss = progress.losses.get("total") if progress.losses else None
        if update.stage == "invert":
            step = self._offset + progress.step
            self.steps_done = max(self.steps_done, step)
            if loss is not None:
                if self.losses and self.losses[-1][0] == step:  # the run's closing report
                    self.losses.pop()
                self.losses.append((step, float(loss)))
        else:  # pivotal tuning after the inversion steps
            step = self._total - progress.total + progress.step
        self.progress.emit(update.stage, step, self._total, loss)
        image = getattr(progress, "preview", None)
        if image is not None:
            self.preview.emit(image)

    def _apply(self, session: EditorSession, chunks, outcome: jobs.InversionOutcome, *,
               quick: bool = False) -> None:
        if self.documents.session is not session or self.registry.closing:
            return
        before = session.doc.inversion
        steps = self._offset + int(outcome.metrics.get("steps") or 0)
        seconds = self._seconds_offset + float(outcome.metrics.get("seconds") or 0.0)
        metrics = {**outcome.metrics, TOTAL_STEPS: steps, TOTAL_SECONDS: round(seconds, 3),
                   LOSS_CURVE: thinned(self.losses)}
        try:
            changed = apply_inversion(session.doc, chunks, outcome.result, outcome.settings,
                                      metrics=metrics, generator_id=outcome.generator_id,
                                      generator_sha256=outcome.generator_sha256,
                                      pti_weights=outcome.pti_weights,
                                      label=QUICK_LABEL if quick else
                                      "Inversion (stopped)" if outcome.stopped else "Inversion",
                                      generator_name=outcome.generator_name,
                                      generator_path=outcome.generator_path,
                                      loss_kind=None if quick else outcome.loss_kind,
                                      pti_steps=None if quick else outcome.pti_steps)
        except SemeditError as error:
            self.message.emit(str(error), True)
            return
        session.changed_elsewhere()
        self.steps_done, self.seconds_done, self._before = steps, seconds, None
        self.finished.emit(metrics, outcome.stopped)
        if quick and NEXT_RUN in before:  # Quick ran no steps: the panel's choice stays
            session.doc.inversion = {**session.doc.inversion, NEXT_RUN: before[NEXT_RUN]}
        if quick:
            text = ("Quick reconstruction from the encoder: edit now, or Refine to optimise "
                    "the chunks from it.")
        elif outcome.stopped:
            text = "Inversion stopped; Continue optimises further."
        else:
            text = "Inversion done. Add edits in the Edits panel."
        self.message.emit(" ".join([text, *outcome.notes]), False)
        self.masks_changed_since_inversion.emit(changed)  # after the message: it stays
        self.documents.load_directions()

    def _on_session_changed(self, session) -> None:
        self.stop()  # its result would be for a document no longer open
        totals = run_totals(None if session is None else session.doc.inversion.get("metrics"))
        self.steps_done, self.seconds_done = totals.steps, totals.seconds  # Continue counts on
        self.losses, self._offset, self._before = list(totals.curve or []), 0, None
        self.panel_values.emit(self._defaults() if session is None else
                               panel_values_for(session.doc.inversion, self._defaults()))
        self.encoder_changed.emit(self.encoder_available())

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)


@dataclass(frozen=True)
class RunTotals:
    """What an inversion's metrics say about the whole run, across Stop and Continue."""

    steps: int
    seconds: float
    curve: list[tuple[int, float]] | None  # (step, total loss); None: not kept


def run_totals(metrics: dict | None) -> RunTotals:
    """The whole run's figures in inversion metrics: the app's `total_steps`,
    `total_seconds` and `loss_curve`; else (a project made by the CLI, one run, or an
    older one) its `steps` and `seconds`, with no curve kept. A hair transfer counts
    its steps per stage ({"inversion": n, "refine": m})."""
    metrics = metrics if isinstance(metrics, dict) else {}
    steps = metrics.get(TOTAL_STEPS, metrics.get("steps")) or 0
    if isinstance(steps, dict):
        steps = sum(n for n in steps.values() if _number(n))
    seconds = metrics.get(TOTAL_SECONDS, metrics.get("seconds")) or 0.0
    curve = metrics.get(LOSS_CURVE)
    if isinstance(curve, list):
        curve = [(int(p[0]), float(p[1])) for p in curve
                 if isinstance(p, list | tuple) and len(p) == 2 and all(map(_number, p))]
    else:
        curve = None
    return RunTotals(int(steps) if _number(steps) else 0,
                     float(seconds) if _number(seconds) else 0.0, curve)


def thinned(points: list[tuple[int, float]], limit: int = CURVE_POINTS) -> list[list]:
    """At most `limit` points of a loss curve, evenly spread, the last one kept (JSON)."""
    keep = points if len(points) <= limit else \
        [points[round(i * (len(points) - 1) / (limit - 1))] for i in range(limit)]
    return [[int(step), float(f"{loss:.6g}")] for step, loss in keep]


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and value == value and abs(value) != float("inf")


def panel_values_for(inversion: dict | None, defaults: dict) -> dict:
    """The panel settings for a document with this inversion.json: each from `next_run`
    (what the panel held at the last save), else from the last run's `settings` (a Quick
    reconstruction's 0 steps do not count), else from `defaults`. Values a hand-edited or
    older project gets wrong fall back the same way."""
    inversion = inversion if isinstance(inversion, dict) else {}
    sources = [inversion.get(NEXT_RUN), inversion.get("settings")]
    sources = [source for source in sources if isinstance(source, dict)]
    values = dict(defaults)
    for key in values:
        found = [source[key] for source in sources if key in source and _fits(key, source[key])]
        if found:
            values[key] = found[0]
    return values


def _fits(key: str, value) -> bool:
    if key in PANEL_CHOICES:
        return value in PANEL_CHOICES[key]
    if key in PANEL_NUMBERS:
        low, high = PANEL_NUMBERS[key]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return number and (isinstance(value, int) or isinstance(low, float)) \
            and low <= value <= high
    return isinstance(value, bool)  # optimise_masks
