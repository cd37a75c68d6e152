"""The Hair dock: choose the hair photo, run the transfer, blend A→B live, apply.

The transfer runs in `HairController` (on the GPU worker); its previews and the blend
slider's renders go to the canvas. Apply opens the result as a new, unsaved project
whose chunks (the new hair too) stay editable; the current project is left as it was.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.hair import HairTransferSettings
from core.invert import LOSS_KINDS

BLEND_STEPS = 100


class HairPanel(QWidget):
    transfer_requested = Signal(object, object)  # Path of the hair photo, settings
    stop_requested = Signal()
    blend_changed = Signal(float)  # 0 = A's own hair, 1 = the transferred hair
    apply_requested = Signal()
    paint_mask_requested = Signal(object)  # Path of the hair photo: paint its hair in the app

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.hair_photo: Path | None = None
        # Its hair instead of Segment Anything's: a mask file, or painted in the app.
        self.hair_mask_b: Path | np.ndarray | None = None
        self.choose_button = QPushButton("Hair photo…")
        self.choose_button.setToolTip("The photo whose hairstyle you want")
        self.choose_button.clicked.connect(self._choose)
        self.photo_label = QLabel("No hair photo chosen.")
        self.photo_label.setWordWrap(True)
        self.mask_button = QPushButton("Its hair mask…")
        self.mask_button.setToolTip("Optional: the hair photo's hair painted in the aligned "
                                    "frame (else Segment Anything finds it). Your own hair "
                                    "comes from a chunk called 'hair' when there is one.")
        self.mask_button.clicked.connect(self._choose_mask)
        self.mask_label = QLabel("found automatically")
        self.paint_button = QPushButton("Paint its hair…")
        self.paint_button.setToolTip("Open the hair photo, aligned as the transfer uses it, "
                                     "and paint its hair with the brush")
        self.paint_button.clicked.connect(lambda: self.hair_photo is not None and
                                          self.paint_mask_requested.emit(self.hair_photo))
        self.pose_match = QCheckBox("Match head pose")
        self.pose_match.setChecked(True)
        self.lighting = QCheckBox("Match lighting")
        self.lighting.setChecked(True)
        self.steps = QSpinBox(minimum=1, maximum=10_000, value=100)
        self.steps.setToolTip("Inversion steps per photo")
        self.refine_steps = QSpinBox(minimum=0, maximum=10_000, value=40)
        self.loss = QComboBox()
        for kind in LOSS_KINDS:
            self.loss.addItem(kind, kind)
        self.loss.setCurrentIndex(self.loss.findData("lpips+l2"))
        form = QFormLayout()
        form.addRow(self.choose_button, self.photo_label)
        form.addRow(self.mask_button, self.mask_label)
        form.addRow("", self.paint_button)
        form.addRow("", self.pose_match)
        form.addRow("", self.lighting)
        form.addRow("Steps", self.steps)
        form.addRow("Refinement", self.refine_steps)
        form.addRow("Loss", self.loss)
        self.run_button = QPushButton("Transfer")
        self.stop_button = QPushButton("Stop")
        self.run_button.clicked.connect(self._request)
        self.stop_button.clicked.connect(self.stop_requested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setToolTip(
            "Identity distance: how far the face recognition model finds the result from "
            "your photo (dlib; under 0.6 is the same person).\nLPIPS: perceptual "
            "difference, 0 = identical, about 0.1 hard to notice, 0.4 clearly different."
            "\nRest of the photo: how much outside the hair changed (0 = untouched).")
        self.blend = QSlider(Qt.Orientation.Horizontal)
        self.blend.setRange(0, BLEND_STEPS)
        self.blend.setValue(BLEND_STEPS)
        self.blend.setToolTip("From your own hair (left) to the new hair (right)")
        self.blend.valueChanged.connect(lambda v: self.blend_changed.emit(v / BLEND_STEPS))
        self.apply_button = QPushButton("Open as new project")
        self.apply_button.setToolTip("Every chunk of the result, the new hair too, stays "
                                     "editable")
        self.apply_button.clicked.connect(self.apply_requested)
        blend_row = QHBoxLayout()
        blend_row.addWidget(QLabel("Own"))
        blend_row.addWidget(self.blend, 1)
        blend_row.addWidget(QLabel("New"))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(blend_row)
        layout.addWidget(self.apply_button)
        layout.addStretch(1)
        self.set_state(running=False, has_document=False, has_result=False)

    def set_hair_photo(self, path: Path | None) -> None:
        if path != self.hair_photo:
            self.set_hair_mask(None)  # a mask belongs to one photo
        self.hair_photo = path
        self.photo_label.setText(path.name if path else "No hair photo chosen.")
        self.run_button.setEnabled(self._can_run)
        self.paint_button.setEnabled(self._can_paint)

    def set_hair_mask(self, mask: Path | np.ndarray | None) -> None:
        self.hair_mask_b = mask
        if isinstance(mask, np.ndarray):
            text = f"painted here ({float(np.mean(mask > 0.5)):.0%} of the frame)"
        else:
            text = mask.name if mask else "found automatically"
        self.mask_label.setText(text)

    def settings(self) -> HairTransferSettings:
        return HairTransferSettings(inversion_steps=self.steps.value(),
                                    refine_steps=self.refine_steps.value(),
                                    pose_match=self.pose_match.isChecked(),
                                    lighting=self.lighting.isChecked(),
                                    loss=self.loss.currentData())

    def set_state(self, *, running: bool, has_document: bool, has_result: bool) -> None:
        self._running, self._has_document = running, has_document
        self.run_button.setEnabled(self._can_run)
        self.stop_button.setEnabled(running)
        self.choose_button.setEnabled(not running)
        self.paint_button.setEnabled(self._can_paint)
        self.blend.setEnabled(has_result and not running)
        self.apply_button.setEnabled(has_result and not running)

    @property
    def _can_paint(self) -> bool:
        return self._has_document and not self._running and self.hair_photo is not None

    @property
    def _can_run(self) -> bool:
        return self._has_document and not self._running and self.hair_photo is not None

    def show_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(round(fraction * 1000))
        self.status.setText(text)

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose the hair photo", "",
                                              "Photos (*.jpg *.jpeg *.png *.webp *.tif "
                                              "*.tiff *.bmp)")
        if path:
            self.set_hair_photo(Path(path))

    def _choose_mask(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "The hair photo's hair mask", "",
                                              "Masks (*.png *.tif *.tiff)")
        self.set_hair_mask(Path(path) if path else None)

    def _request(self) -> None:
        if self.hair_photo is not None:
            self.transfer_requested.emit(self.hair_photo, self.settings())
