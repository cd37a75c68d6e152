"""The Hair dock: choose the hair photo, run the transfer, blend A→B live, apply.

Each photo's hair comes from what the user gives (a chunk of the open photo, chosen under
"This photo's hair"; the hair photo's mask, painted or from a file) or from Segment Anything.
Before Transfer the panel says what is missing and Transfer stays off until it can work
(`set_blocker`); a hair photo with several faces gets a face choice.

The transfer runs in `HairController` (on the GPU worker); its previews and the blend
slider's renders go to the canvas. Apply opens the result as a new, unsaved project
whose chunks (the new hair too) stay editable; the current project is left as it was.
"""

from __future__ import annotations

from collections.abc import Callable
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
from semedit_gui.controllers.hair import HAIR_CHUNK_LABEL

BLEND_STEPS = 100


class HairPanel(QWidget):
    transfer_requested = Signal(object, object)  # Path of the hair photo, settings
    stop_requested = Signal()
    blend_changed = Signal(float)  # 0 = A's own hair, 1 = the transferred hair
    apply_requested = Signal()
    paint_mask_requested = Signal(object)  # Path of the hair photo: paint its hair in the app
    # The hair photo, its mask or face, or the chunk that is your hair changed: the window
    # asks the controller whether a transfer can work now and calls `set_blocker`.
    inputs_changed = Signal()
    download_requested = Signal()  # download Segment Anything
    hair_photo_changed = Signal(object)  # Path or None: its faces are looked for
    choose_face_requested = Signal(object, tuple)  # the hair photo's Path, its face boxes

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.hair_photo: Path | None = None
        # Its hair instead of Segment Anything's: a mask file, or painted in the app.
        self.hair_mask_b: Path | np.ndarray | None = None
        self.face_boxes_b: tuple = ()  # the hair photo's faces, largest first
        self.face_b: int | None = None  # the one whose hair is taken (None: the largest)
        # Where its file dialogs start, by kind ("open": photos, "masks"), and what is kept
        # of a choice: the window gives its own rule (`semedit_gui.window.folders`).
        self.start_folder: Callable[[str], Path | str] = lambda _kind: ""
        self.remember_folder: Callable[[str, Path], None] = lambda _kind, _path: None
        self.hair_chunk = QComboBox()
        self.hair_chunk.setToolTip("Which chunk of the open photo is your own hair; "
                                   "“found automatically” needs Segment Anything")
        self.hair_chunk.addItem("found automatically", None)
        self.hair_chunk.currentIndexChanged.connect(lambda _i: self.inputs_changed.emit())
        self.choose_button = QPushButton("Hair photo…")
        self.choose_button.setToolTip("The photo whose hairstyle you want")
        self.choose_button.clicked.connect(self._choose)
        self.photo_label = QLabel("No hair photo chosen.")
        self.photo_label.setWordWrap(True)
        self.face_button = QPushButton("Its face…")
        self.face_button.setToolTip("The hair photo has several faces: choose whose hair")
        self.face_button.clicked.connect(
            lambda: self.hair_photo is not None and self.choose_face_requested.emit(
                self.hair_photo, self.face_boxes_b))
        self.face_label = QLabel("")
        self.face_label.setWordWrap(True)
        self.mask_button = QPushButton("Its hair mask…")
        self.mask_button.setToolTip("Optional: the hair photo's hair painted in the aligned "
                                    "frame (else Segment Anything finds it)")
        self.mask_button.clicked.connect(self._choose_mask)
        self.mask_label = QLabel("found automatically")
        self.mask_label.setWordWrap(True)  # long file names must not widen the dock
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
        self._form = form = QFormLayout()
        form.addRow(HAIR_CHUNK_LABEL, self.hair_chunk)
        form.addRow(self.choose_button, self.photo_label)
        form.addRow(self.face_button, self.face_label)
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
        self.blocker: str | None = None  # why Transfer cannot work now
        self.blocker_label = QLabel("")
        self.blocker_label.setWordWrap(True)
        self.download_button = QPushButton("Download Segment Anything")
        self.download_button.setToolTip("Segment Anything finds the hair of both photos")
        self.download_button.clicked.connect(self.download_requested)
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
        layout.addWidget(self.blocker_label)
        layout.addWidget(self.download_button)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(blend_row)
        layout.addWidget(self.apply_button)
        layout.addStretch(1)
        self._running = self._has_document = False
        self.set_blocker(None)
        self.set_face_boxes(None, ())
        self.set_state(running=False, has_document=False, has_result=False)

    # ----------------------------------------------------------------- inputs

    @property
    def hair_chunk_name(self) -> str | None:
        """The open photo's chunk that is its hair (None: found automatically)."""
        return self.hair_chunk.currentData()

    def set_chunk_names(self, names: list[str], default: str | None = None) -> None:
        """The open photo's chunks to choose the hair from; the current choice stays
        while its chunk exists, else `default` (e.g. a chunk named "hair")."""
        current = self.hair_chunk_name
        chosen = current if current in names else default
        self.hair_chunk.blockSignals(True)
        self.hair_chunk.clear()
        self.hair_chunk.addItem("found automatically", None)
        for name in names:
            self.hair_chunk.addItem(f"chunk: {name}", name)
        self.hair_chunk.setCurrentIndex(max(0, self.hair_chunk.findData(chosen)))
        self.hair_chunk.blockSignals(False)
        self.inputs_changed.emit()

    def set_hair_photo(self, path: Path | None) -> None:
        changed = path != self.hair_photo
        if changed:
            self.set_hair_mask(None)  # a mask belongs to one photo
        self.hair_photo = path
        if changed:
            self.set_face_boxes(None, ())
        self.photo_label.setText(path.name if path else "No hair photo chosen.")
        self.run_button.setEnabled(self._can_run)
        self.paint_button.setEnabled(self._can_paint)
        self.inputs_changed.emit()
        if changed:
            self.hair_photo_changed.emit(path)

    def set_hair_mask(self, mask: Path | np.ndarray | None) -> None:
        self.hair_mask_b = mask
        if isinstance(mask, np.ndarray):
            text = f"painted here ({float(np.mean(mask > 0.5)):.0%} of the frame)"
        else:
            text = mask.name if mask else "found automatically"
        self.mask_label.setText(text)
        self.inputs_changed.emit()

    def set_face_boxes(self, path: Path | None, boxes: tuple) -> None:
        """The faces found in the hair photo `path` (ignored once another photo is
        chosen); with several, the face row appears, the largest chosen."""
        if path is not None and path != self.hair_photo:
            return
        self.face_boxes_b = tuple(boxes)
        self.face_b = None
        several = len(self.face_boxes_b) > 1
        self._form.setRowVisible(self.face_button, several)  # one face: no row, no gap
        if several:
            self.face_label.setText(f"face 1 of {len(self.face_boxes_b)} (the largest)")

    def set_face(self, index: int) -> None:
        """Take the hair of the hair photo's face `index` (0 = the largest)."""
        if not 0 <= index < len(self.face_boxes_b) or index == (self.face_b or 0):
            return
        self.face_b = index
        self.set_hair_mask(None)  # a painted mask belongs to one face's frame
        largest = " (the largest)" if index == 0 else ""
        self.face_label.setText(f"face {index + 1} of {len(self.face_boxes_b)}{largest}")

    def set_blocker(self, reason: str | None, *, offer_download: bool = False) -> None:
        """Why Transfer cannot work now (None: it can), shown above it; with
        `offer_download`, Segment Anything's download is offered there too."""
        self.blocker = reason
        self.blocker_label.setText(reason or "")
        self.blocker_label.setVisible(bool(reason))
        self.download_button.setVisible(bool(reason) and offer_download)
        self.run_button.setEnabled(self._can_run)
        self.run_button.setToolTip(reason or "Put the hair photo's hairstyle on your photo")

    def reset(self) -> None:
        """Another document (or none): forget the hair photo, its mask and face, and the
        last transfer's progress; the settings stay."""
        self.set_hair_photo(None)
        self.progress.setValue(0)
        self.status.setText("")

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
        return (self._has_document and not self._running and self.hair_photo is not None
                and self.blocker is None)

    def show_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(round(fraction * 1000))
        self.status.setText(text)

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose the hair photo",
                                              str(self.start_folder("open")),
                                              "Photos (*.jpg *.jpeg *.png *.webp *.tif "
                                              "*.tiff *.bmp)")
        if path:
            self.remember_folder("open", Path(path))
            self.set_hair_photo(Path(path))

    def _choose_mask(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "The hair photo's hair mask",
                                              str(self.start_folder("masks")),
                                              "Masks (*.png *.tif *.tiff)")
        if path:
            self.remember_folder("masks", Path(path))
        self.set_hair_mask(Path(path) if path else None)

    def _request(self) -> None:
        if self.hair_photo is not None:
            self.transfer_requested.emit(self.hair_photo, self.settings())
