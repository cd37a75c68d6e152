"""The Inversion dock: settings, Quick / Run / Stop / Continue, a live loss curve and the metrics.

Quick (enabled when an encoder is installed) gives every chunk the encoder's code at
once; Run then refines from it and is labelled "Refine". Without an encoder a line says
what installing one would give. The panel only collects settings and shows progress;
`InversionController` runs the job and the window feeds its signals to `show_started` /
`show_progress` / `show_finished`.
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

SPACE_LABELS = {"w": "W (one code, most editable)", "wplus": "W+ (per layer, balanced)",
                "s": "S (style channels, most faithful)"}
COVERAGE_LABELS = {"edit_regions": "Only the chunks (rest stays the photo)",
                   "whole_image": "Chunks cover the whole image"}


class LossCurve(QWidget):
    """The total loss over the steps, drawn on a log scale (losses fall by decades)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumHeight(90)
        self.points: list[tuple[int, float]] = []

    def clear(self) -> None:
        self.points = []
        self.update()

    def add(self, step: int, loss: float) -> None:
        if math.isfinite(loss) and loss > 0:
            self.points.append((step, loss))
            self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(6, 6, -6, -6)
        painter.setPen(QPen(self.palette().mid().color()))
        painter.drawRect(rect)
        if len(self.points) < 2:
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "loss curve")
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
                         Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignRight,
                         f"{self.points[-1][1]:.4f}")


class InversionPanel(QWidget):
    run_requested = Signal(object, str, int)  # InversionSettings, loss kind, PTI steps
    continue_requested = Signal(object, str, int)  # same, starting from the current codes
    stop_requested = Signal()
    quick_requested = Signal(object)  # InversionSettings: the encoder's codes, no steps

    def __init__(self, parent: QWidget | None = None, *, default_steps: int = 300,
                 default_space: str = "wplus", lambda_reg: float = 1.0):
        super().__init__(parent)
        form = QFormLayout()
        self.steps = QSpinBox(maximum=100_000, minimum=1, value=default_steps)
        self.steps.setToolTip("Optimisation steps; 300 is a good start, more is sharper.")
        self.space = QComboBox()
        for space in SPACES:
            self.space.addItem(SPACE_LABELS.get(space, space), space)
        self.space.setCurrentIndex(max(self.space.findData(default_space), 0))
        self.lambda_reg = QDoubleSpinBox(minimum=0.0, maximum=1000.0, decimals=3,
                                         singleStep=0.1, value=lambda_reg)
        self.lambda_reg.setToolTip("Keeps codes near the average face: higher = more "
                                   "editable, lower = more faithful.")
        self.loss = QComboBox()
        for kind in LOSS_KINDS:
            self.loss.addItem(kind, kind)
        self.optimise_masks = QCheckBox("Optimise chunk borders")
        self.coverage = QComboBox()
        for coverage in COVERAGES:
            self.coverage.addItem(COVERAGE_LABELS.get(coverage, coverage), coverage)
        self.start = QComboBox()
        for label, init in (("Encoder's guess (e4e)", "e4e"), ("Mean face", "mean")):
            self.start.addItem(label, init)
        self.start.setToolTip("Where Run starts every chunk: the encoder's code for this "
                              "face (needs an installed encoder), or the average face.")
        self.start.setCurrentIndex(self.start.findData("mean"))
        self.start.currentIndexChanged.connect(lambda _index: self._label_run())
        self.pti_steps = QSpinBox(maximum=5000, minimum=0, value=0)
        self.pti_steps.setToolTip("Pivotal tuning afterwards (about 350 steps): finer detail, "
                                  "the generator is tuned for this photo only.")
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
        self.set_encoder(False)
        self.set_state(running=False, can_run=False, can_continue=False)

    # ----------------------------------------------------------------- values

    def settings(self) -> InversionSettings:
        return InversionSettings(space=self.space.currentData(), steps=self.steps.value(),
                                 lambda_reg=self.lambda_reg.value(),
                                 coverage=self.coverage.currentData(),
                                 optimise_masks=self.optimise_masks.isChecked())

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

    def reset(self, metrics: dict | None = None) -> None:
        """A document is shown (`metrics`: its last inversion's): no curve yet; the bar says
        how many steps its codes had (or that it was never inverted), never "0 / 1 steps"."""
        steps_done = steps_in(metrics)
        self.curve.clear()
        self.metrics.setText("")
        self.progress.setFormat("%v steps done" if steps_done else "Not run yet")
        self.progress.setRange(0, max(steps_done, 1))
        self.progress.setValue(steps_done)

    def show_started(self, total_steps: int, resume: bool = False) -> None:
        """A run starts; a Continue (`resume`) extends the curve instead of clearing it."""
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

    def show_finished(self, metrics: dict, stopped: bool) -> None:
        parts = []
        for key, label in (("lpips", "LPIPS"), ("l2", "L2"), ("identity", "identity")):
            value = metrics.get(key)
            if value is not None:
                parts.append(f"{label} {value:.4f}")
        parts.append(f"{steps_in(metrics)} steps in {metrics.get('seconds') or 0:.1f} s")
        self.metrics.setText(("Stopped: " if stopped else "Done: ") + ", ".join(parts))


def steps_in(metrics: dict | None) -> int:
    """The steps an inversion's metrics record: a count, or counts per stage (a hair
    transfer's {"inversion": n, "refine": m})."""
    steps = (metrics or {}).get("steps") or 0
    if isinstance(steps, dict):
        return sum(int(n) for n in steps.values() if isinstance(n, int | float))
    return int(steps) if isinstance(steps, int | float) else 0
