"""The Inversion dock: settings, Quick / Run / Stop / Continue, a live loss curve and the metrics.

Quick (enabled when an encoder is installed) gives every chunk the encoder's code at
once; Run then refines from it and is labelled "Refine". Without an encoder a line says
what installing one would give. The panel only collects settings and shows progress;
`InversionController` runs the job and the window feeds its signals to `show_started` /
`show_progress` / `show_finished`. The bar, the summary and the curve describe the same
run: steps across Stop and Continue, the seconds of them all (`run_totals`). A run that
ends without a result (it failed, or never started) leaves them as they were before it.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.invert import COVERAGES, LOSS_KINDS, InversionSettings
from core.latents import SPACES
from semedit_gui.controllers.inversion import run_totals
from semedit_gui.panels import inversion_words as words
from semedit_gui.settings import AppSettings

CURVE_EMPTY, CURVE_NOT_KEPT = "loss curve", "curve not kept"
CURVE_TIP = ("The total loss the optimiser lowers: the reconstruction loss plus λ times "
             "how far the codes are from the mean face. The summary below measures the "
             "result alone (L2, LPIPS), so its figures are smaller.")


class LossCurve(QWidget):
    """The total loss over the steps, drawn on a log scale (losses fall by decades)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumHeight(90)
        self.setToolTip(CURVE_TIP)
        self.points: list[tuple[int, float]] = []
        self.note = CURVE_EMPTY  # said while there is no curve to draw

    def clear(self, note: str = CURVE_EMPTY) -> None:
        self.points, self.note = [], note
        self.update()

    def set_points(self, points: list[tuple[int, float]]) -> None:
        self.clear()
        for step, loss in points:
            self.add(step, loss)

    @property
    def label(self) -> str:
        """The figure written at the top right: which loss, and its latest value."""
        return f"total loss {self.points[-1][1]:.4f}" if self.points else ""

    def add(self, step: int, loss: float) -> None:
        """A step's loss; a step reported again (a run's closing report) replaces it."""
        if math.isfinite(loss) and loss > 0:
            if self.points and self.points[-1][0] == step:
                self.points.pop()
            self.points.append((step, loss))
            self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(6, 6, -6, -6)
        painter.setPen(QPen(self.palette().mid().color()))
        painter.drawRect(rect)
        if len(self.points) < 2:  # the note in a colour meant to be read on any palette
            painter.setPen(QPen(self.palette().placeholderText().color()))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.note)
            return
        steps = [p[0] for p in self.points]
        logs = [math.log10(p[1]) for p in self.points]
        s0, s1 = min(steps), max(max(steps), min(steps) + 1)
        lo, hi = min(logs), max(logs)
        hi = hi if hi > lo else lo + 1e-6
        path = QPainterPath()
        for i, (s, v) in enumerate(zip(steps, logs, strict=True)):
            point = QPointF(rect.left() + (s - s0) / (s1 - s0) * rect.width(),
                            rect.bottom() - (v - lo) / (hi - lo) * rect.height())
            path.moveTo(point) if i == 0 else path.lineTo(point)
        painter.setPen(QPen(QColor(64, 160, 255), 1.5))
        painter.drawPath(path)
        painter.setPen(QPen(self.palette().text().color()))
        painter.drawText(rect.adjusted(4, 2, -4, -2),
                         Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight, self.label)


class InversionPanel(QWidget):
    run_requested = Signal(object, str, int)  # InversionSettings, loss kind, PTI steps
    continue_requested = Signal(object, str, int)  # same, starting from the current codes
    stop_requested = Signal()
    quick_requested = Signal(object)  # InversionSettings: the encoder's codes, no steps
    values_changed = Signal(dict)  # the user changed a setting: `values()`

    def __init__(self, parent: QWidget | None = None, *, defaults: dict | None = None):
        super().__init__(parent)
        form = QFormLayout()
        self.steps = QSpinBox(maximum=100_000, minimum=1)
        self.steps.setToolTip(words.STEPS_TIP)
        self.space = QComboBox()
        for space in SPACES:
            self.space.addItem(words.SPACE_LABELS.get(space, space), space)
        tip_items(self.space, words.SPACE_TIP, words.SPACE_TIPS)
        self.lambda_reg = QDoubleSpinBox(minimum=0.0, maximum=1000.0, decimals=3,
                                         singleStep=0.1)
        self.lambda_reg.setToolTip(words.LAMBDA_TIP)
        self.loss = QComboBox()
        for kind in LOSS_KINDS:
            self.loss.addItem(words.LOSS_LABELS.get(kind, kind), kind)
        tip_items(self.loss, words.LOSS_TIP, words.LOSS_TIPS)
        self.optimise_masks = QCheckBox("Optimise chunk borders")
        self.optimise_masks.setToolTip(words.OPTIMISE_MASKS_TIP)
        self.coverage = QComboBox()
        for coverage in COVERAGES:
            self.coverage.addItem(words.COVERAGE_LABELS.get(coverage, coverage), coverage)
        tip_items(self.coverage, words.COVERAGE_TIP, words.COVERAGE_TIPS)
        self.start = QComboBox()
        for label, init in (("Encoder's guess (e4e)", "e4e"), ("Mean face", "mean")):
            self.start.addItem(label, init)
        self.start.setToolTip(words.START_TIP)
        self.start.setCurrentIndex(self.start.findData("mean"))
        self.start.currentIndexChanged.connect(lambda _index: self._label_run())
        self.pti_steps = QSpinBox(maximum=5000, minimum=0, value=0)
        self.pti_steps.setSpecialValueText("off")  # shown at 0
        self.pti_steps.setToolTip(words.PTI_TIP)
        form.addRow("Steps", self.steps)
        form.addRow("Latent space", self.space)
        form.addRow("λ regulariser", self.lambda_reg)
        form.addRow("Loss", self.loss)
        form.addRow("Coverage", self.coverage)
        form.addRow("", self.optimise_masks)
        form.addRow("PTI steps", self.pti_steps)
        form.addRow("Start from", self.start)

        self.run_button = QPushButton("Run")
        self.stop_button = QPushButton("Stop")
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("Optimise the current codes for more steps.")
        self.run_button.clicked.connect(
            lambda: self.run_requested.emit(self.settings(), self.loss_kind, self.pti))
        self.continue_button.clicked.connect(
            lambda: self.continue_requested.emit(self.settings(), self.loss_kind, self.pti))
        self.stop_button.clicked.connect(self.stop_requested)
        self.quick_button = QPushButton("Quick")
        self.quick_button.setToolTip("The encoder's reconstruction at once: every chunk "
                                     "starts from its code, ready to edit (no optimisation).")
        self.quick_button.clicked.connect(lambda: self.quick_requested.emit(self.settings()))
        self.encoder_hint = QLabel("")
        self.encoder_hint.setObjectName("encoderHint")
        self.encoder_hint.setWordWrap(True)
        self.encoder_available = False
        buttons = QHBoxLayout()
        for b in (self.quick_button, self.run_button, self.stop_button, self.continue_button):
            buttons.addWidget(b)
        self.progress = QProgressBar()
        self.progress.setFormat("Not run yet")  # not "0 / 1 steps" before any run
        self.progress.setValue(0)
        self.curve = LossCurve()
        self.metrics = QLabel("")
        self.metrics.setObjectName("inversionMetrics")
        self.metrics.setWordWrap(True)
        self.metrics.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.encoder_hint)
        layout.addWidget(self.progress)
        layout.addWidget(self.curve)
        layout.addWidget(self.metrics)
        layout.addStretch(1)
        self._can_run = self._running = False
        self._before_run: tuple | None = None  # what a run that ends without result restores
        self._restoring = False  # set_values is not the user changing a setting
        self.set_values(defaults or AppSettings().inversion_defaults())
        for signal in (self.steps.valueChanged, self.space.currentIndexChanged,
                       self.lambda_reg.valueChanged, self.loss.currentIndexChanged,
                       self.coverage.currentIndexChanged, self.optimise_masks.toggled,
                       self.pti_steps.valueChanged):
            signal.connect(self._on_value_changed)
        self.set_encoder(False)
        self.set_state(running=False, can_run=False, can_continue=False)

    # ----------------------------------------------------------------- values

    def settings(self) -> InversionSettings:
        return InversionSettings(space=self.space.currentData(), steps=self.steps.value(),
                                 lambda_reg=self.lambda_reg.value(),
                                 coverage=self.coverage.currentData(),
                                 optimise_masks=self.optimise_masks.isChecked())

    def values(self) -> dict:
        """Every setting shown, as plain JSON (what a project and the Preferences keep)."""
        return {"steps": self.steps.value(), "space": self.space.currentData(),
                "lambda_reg": self.lambda_reg.value(), "loss": self.loss.currentData(),
                "coverage": self.coverage.currentData(),
                "optimise_masks": self.optimise_masks.isChecked(),
                "pti_steps": self.pti_steps.value()}

    def set_values(self, values: dict) -> None:
        """Show `values` (keys of `values()`; missing keys and unknown choices leave a
        control as it is, numbers are clamped to its range). Not a user change:
        `values_changed` stays quiet."""
        self._restoring = True
        try:
            for key, combo in (("space", self.space), ("loss", self.loss),
                               ("coverage", self.coverage)):
                index = combo.findData(values.get(key))
                if index >= 0:
                    combo.setCurrentIndex(index)
            for key, spin in (("steps", self.steps), ("lambda_reg", self.lambda_reg),
                              ("pti_steps", self.pti_steps)):
                value = values.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool) \
                        and math.isfinite(value):
                    spin.setValue(value if isinstance(spin, QDoubleSpinBox) else round(value))
            if isinstance(values.get("optimise_masks"), bool):
                self.optimise_masks.setChecked(values["optimise_masks"])
        finally:
            self._restoring = False

    def _on_value_changed(self, *_args) -> None:
        if not self._restoring:
            self.values_changed.emit(self.values())

    @property
    def loss_kind(self) -> str:
        return self.loss.currentData()

    @property
    def pti(self) -> int:
        return self.pti_steps.value()

    @property
    def init(self) -> str:
        """Where Run starts: "e4e" only when an encoder is installed."""
        return self.start.currentData() if self.encoder_available else "mean"

    # ----------------------------------------------------------------- state

    def set_encoder(self, available: bool, benefit: str = "") -> None:
        """Whether an encoder is installed: Quick, Run from its codes ("Refine"); without
        one, `benefit` says what installing one would give."""
        if available != self.encoder_available:  # a choice the user made stays otherwise
            self.start.setCurrentIndex(self.start.findData("e4e" if available else "mean"))
        self.encoder_available = available
        self.encoder_hint.setText("" if available else benefit)
        self.encoder_hint.setVisible(not available and bool(benefit))
        self.start.setEnabled(available and not self._running)
        self.quick_button.setEnabled(available and self._can_run and not self._running)
        self._label_run()

    def _label_run(self) -> None:
        refine = self.init == "e4e"
        self.run_button.setText("Refine" if refine else "Run")
        self.run_button.setToolTip("ChunkyGAN inversion starting from the encoder's codes"
                                   if refine else "ChunkyGAN inversion from the mean face")

    def set_state(self, *, running: bool, can_run: bool, can_continue: bool,
                  stopping: bool = False) -> None:
        """`stopping`: Stop was pressed and the job finishes its current step."""
        self._can_run, self._running = can_run, running
        self.run_button.setEnabled(can_run and not running)
        self.quick_button.setEnabled(self.encoder_available and can_run and not running)
        self.continue_button.setEnabled(can_continue and not running)
        self.stop_button.setEnabled(running and not stopping)
        self.stop_button.setText("Stopping…" if stopping else "Stop")
        for widget in (self.steps, self.space, self.lambda_reg, self.loss, self.coverage,
                       self.optimise_masks, self.pti_steps):
            widget.setEnabled(not running)
        self.start.setEnabled(self.encoder_available and not running)
        if not running and self._before_run is not None:  # ended without a result
            self._restore(self._before_run)

    def reset(self, metrics: dict | None = None) -> None:
        """A document is shown (`metrics`: its last inversion's): the bar says how many
        steps its codes had (or that it was never inverted), never "0 / 1 steps"; the curve
        is the one saved with it, or says it was not kept."""
        totals = run_totals(metrics)
        self._before_run = None
        self.curve.set_points(totals.curve or [])
        if totals.steps and totals.curve is None:
            self.curve.clear(CURVE_NOT_KEPT)
        self.metrics.setText("")
        self.progress.setFormat("%v steps done" if totals.steps else "Not run yet")
        self.progress.setRange(0, max(totals.steps, 1))
        self.progress.setValue(totals.steps)

    def show_started(self, total_steps: int, resume: bool = False) -> None:
        """A run starts; a Continue (`resume`) extends the curve instead of clearing it."""
        self._before_run = (self.progress.format(), self.progress.maximum(),
                            self.progress.value(), list(self.curve.points), self.curve.note,
                            self.metrics.text())
        if not resume:
            self.curve.clear()
        self.metrics.setText("")
        self.progress.setFormat("%v / %m steps")
        self.progress.setRange(0, max(total_steps, 1))
        self.progress.setValue(0)

    def show_progress(self, stage: str, step: int, total: int, loss: float | None) -> None:
        self.progress.setFormat("%v / %m steps" if stage == "invert" else "PTI %v / %m")
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(step)
        if stage == "invert" and loss is not None:
            self.curve.add(step, loss)

    def _restore(self, shown: tuple) -> None:
        text_format, maximum, value, points, note, summary = shown
        self._before_run = None
        self.progress.setFormat(text_format)
        self.progress.setRange(0, maximum)
        self.progress.setValue(value)
        self.curve.set_points(points)
        self.curve.note = note
        self.metrics.setText(summary)

    def show_finished(self, metrics: dict, stopped: bool) -> None:
        """The summary of the run (all of it, across Stop and Continue: `run_totals`)."""
        self._before_run = None
        totals = run_totals(metrics)
        parts = []
        for key, label in (("lpips", "LPIPS"), ("l2", "L2"), ("identity", "identity")):
            value = metrics.get(key)
            if value is not None:
                parts.append(f"{label} {value:.4f}")
        parts.append(f"{totals.steps} steps in {totals.seconds:.1f} s")
        self.metrics.setText(("Stopped: " if stopped else "Done: ") + ", ".join(parts))


def tip_items(combo: QComboBox, tip: str, item_tips: dict[str, str]) -> None:
    """Each item's own tooltip (shown in the open list), and the combo's: the setting's
    purpose and what the chosen item does."""
    for index in range(combo.count()):
        combo.setItemData(index, item_tips.get(combo.itemData(index), ""),
                          Qt.ItemDataRole.ToolTipRole)

    def show(index: int) -> None:
        chosen = item_tips.get(combo.itemData(index), "")
        combo.setToolTip(f"{tip}\n\n{combo.itemText(index)}: {chosen}" if chosen else tip)

    combo.currentIndexChanged.connect(show)
    show(combo.currentIndex())
