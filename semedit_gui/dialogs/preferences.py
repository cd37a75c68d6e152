"""The Preferences dialog: edits a copy of `AppSettings`; `result_settings()` is the outcome."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.device import DEVICE_CHOICES
from core.errors import SemeditError
from core.invert import COVERAGES, LOSS_KINDS
from core.invert.engine import AUTOCASTS
from core.invert.memory import GRADIENT_MODES
from core.models import Manifest, ManifestError, ModelStore, load_manifest, models_dir
from core.models.store import read_user_models
from semedit_gui.panels import inversion_words as words
from semedit_gui.panels.inversion_panel import tip_items
from semedit_gui.settings import PRECISIONS, SPACES, THEMES, AppSettings
from semedit_gui.theme import apply_theme

__all__ = ["BROWSE_ITEM", "PreferencesDialog", "apply_theme", "device_availability"]

BROWSE_ITEM = "Browse for a file…"
MODEL_KINDS = {
    "generator": "Generator",
    "sam": "Segment Anything (SAM)",
    "vgg": "LPIPS network (VGG)",
}
PRECISION_LABELS = {"auto": "auto (half precision where safe on CUDA)", "fp32": "fp32 (full)"}
INVERSION_MEMORY_LABELS = {
    "auto": "automatic",
    "batched": "all chunks at once (fastest, most memory)",
    "per_chunk": "one chunk at a time (least memory)",
}
INVERSION_MEMORY_TIP = (
    "How many chunks an inversion step computes at once. All at once keeps every chunk's "
    "intermediate images in memory (about 5 GB per chunk for a 1024² generator on the "
    "CPU); one at a time keeps one chunk's (about 6-7 GB in all, whatever the chunk count) "
    "but computes each chunk's image once more, so a step takes longer. Automatic puts as "
    "many chunks in a pass as the free memory holds. The result is the same either way.")
MIXED_PRECISION_LABELS = {"off": "off", "bf16": "bf16", "fp16": "fp16 (GPU only)"}
MIXED_PRECISION_TIP = (
    "Runs the generator in 16-bit floats during inversion: bf16 (CPU and recent GPUs) or "
    "fp16 (GPU only). Needs about half the memory and less time (1024², 3 chunks, CPU: "
    "3.8 instead of 6.4 GB, 30 % faster), but the result differs slightly from full "
    "precision (about 5 % higher reconstruction error in a test). Off gives the exact "
    "result.")
_ERROR_STYLE = "color: #c62828;"
_MAX_STEPS = 100_000
_MAX_PTI_STEPS = 5_000  # as the Inversion panel allows
_MAX_AUTOSAVE_S = 86_400


def device_availability() -> dict[str, bool]:
    """Which of DEVICE_CHOICES this machine has (torch only answers, nothing is allocated)."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    found = {"auto": True, "cpu": True, "cuda": torch.cuda.is_available(),
             "mps": bool(mps is not None and mps.is_available())}
    return {choice: found.get(choice, True) for choice in DEVICE_CHOICES}


class PreferencesDialog(QDialog):
    """OK stays disabled while a value is refused; the reason is shown under the form."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None, *,
                 manifest: Manifest | None = None,
                 available_devices: dict[str, bool] | None = None):
        super().__init__(parent)
        self.setObjectName("PreferencesDialog")
        self.setWindowTitle("Preferences")
        self._original = copy.deepcopy(settings)
        self._manifest = manifest if manifest is not None else _shipped_manifest()
        self._available = available_devices or device_availability()
        self._last_model_text: dict[str, str] = {}
        self._build()
        self._load(self._original)
        self._validate()

    # ----------------------------------------------------------------- public

    def result_settings(self) -> AppSettings:
        """A new AppSettings: the edited values, everything else (recent files…) unchanged."""
        return dataclasses.replace(
            copy.deepcopy(self._original),
            device=self.device_combo.currentData(),
            precision=self.precision_combo.currentData(),
            default_steps=self.steps_spin.value(),
            default_space=self.space_combo.currentData(),
            lambda_reg=self.lambda_spin.value(),
            default_loss=self.loss_combo.currentData(),
            default_coverage=self.coverage_combo.currentData(),
            default_pti_steps=self.pti_spin.value(),
            inversion_memory=self.inversion_memory_combo.currentData(),
            mixed_precision=self.mixed_precision_combo.currentData(),
            models_dir=self.models_dir_edit.text().strip(),
            generator=self._model_text("generator"),
            sam=self._model_text("sam"),
            vgg=self._model_text("vgg"),
            theme=self.theme_combo.currentData(),
            autosave_seconds=self.autosave_spin.value(),
        )

    def problems(self) -> list[str]:
        """Why OK is disabled (empty: every value is acceptable)."""
        found = []
        folder = self.models_dir_edit.text().strip()
        if folder and Path(folder).expanduser().exists() and not Path(folder).expanduser().is_dir():
            found.append(f"The models folder {folder} is a file, not a folder.")
        for kind, label in MODEL_KINDS.items():
            text = self._model_text(kind)
            if text and text not in self._manifest_ids(kind):
                path = Path(text).expanduser()
                if text in self._manifest_ids(None):
                    found.append(f"{label}: '{text}' is not a {kind} model.")
                elif not path.is_file():
                    found.append(f"{label}: '{text}' is neither a known model nor an existing "
                                 "file.")
        return found

    def accept(self) -> None:
        if self._validate():
            super().accept()

    # ----------------------------------------------------------------- building

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)

        self.device_combo = QComboBox(self)
        for choice in DEVICE_CHOICES:
            shown = choice if self._available.get(choice, True) else f"{choice} (not available)"
            self.device_combo.addItem(shown, choice)
        form.addRow("Device:", self.device_combo)

        self.precision_combo = QComboBox(self)
        for choice in PRECISIONS:
            self.precision_combo.addItem(PRECISION_LABELS.get(choice, choice), choice)
        form.addRow("Precision:", self.precision_combo)

        form.addRow(self._inversion_defaults_group())

        self.inversion_memory_combo = QComboBox(self)
        for mode in GRADIENT_MODES:
            self.inversion_memory_combo.addItem(INVERSION_MEMORY_LABELS[mode], mode)
        self.inversion_memory_combo.setToolTip(INVERSION_MEMORY_TIP)
        form.addRow("Inversion memory:", self.inversion_memory_combo)

        self.mixed_precision_combo = QComboBox(self)
        for choice in AUTOCASTS:
            self.mixed_precision_combo.addItem(MIXED_PRECISION_LABELS[choice], choice)
        self.mixed_precision_combo.setToolTip(MIXED_PRECISION_TIP)
        form.addRow("Mixed precision:", self.mixed_precision_combo)

        folder_row = QHBoxLayout()
        self.models_dir_edit = QLineEdit(self)
        self.models_dir_edit.setPlaceholderText(f"default: {models_dir()}")
        self.models_dir_edit.textChanged.connect(self._validate)
        self.models_dir_browse = QPushButton("Browse…", self)
        self.models_dir_browse.setAutoDefault(False)
        self.models_dir_browse.clicked.connect(self._browse_models_dir)
        folder_row.addWidget(self.models_dir_edit, 1)
        folder_row.addWidget(self.models_dir_browse)
        form.addRow("Models folder:", folder_row)

        self.model_combos: dict[str, QComboBox] = {}
        self.model_status: dict[str, QLabel] = {}  # what each choice means now
        for kind, label in MODEL_KINDS.items():
            combo = self._model_combo(kind)
            self.model_combos[kind] = combo
            form.addRow(f"{label}:", combo)
            # One line, cut at the dialog's edge (the whole sentence is its tooltip): the
            # dialog is as tall as the screen allows already.
            self.model_status[kind] = QLabel(self)
            self.model_status[kind].setSizePolicy(QSizePolicy.Policy.Ignored,
                                                  QSizePolicy.Policy.Preferred)
            form.addRow("", self.model_status[kind])
        self.generator_combo = self.model_combos["generator"]
        self.sam_combo = self.model_combos["sam"]
        self.vgg_combo = self.model_combos["vgg"]

        self.theme_combo = QComboBox(self)
        for theme in THEMES:
            self.theme_combo.addItem(theme, theme)
        form.addRow("Theme:", self.theme_combo)

        self.autosave_spin = QSpinBox(self)
        self.autosave_spin.setRange(0, _MAX_AUTOSAVE_S)
        self.autosave_spin.setSuffix(" s")
        self.autosave_spin.setSpecialValueText("off")  # shown at 0
        form.addRow("Autosave every:", self.autosave_spin)

        self.device_note = QLabel(self)
        self.device_note.setWordWrap(True)
        self.device_combo.currentIndexChanged.connect(self._update_device_note)
        layout.addWidget(self.device_note)

        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(_ERROR_STYLE)
        layout.addWidget(self.error_label)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _inversion_defaults_group(self) -> QGroupBox:
        """What the Inversion panel shows for a new photo (a project keeps its own)."""
        group = QGroupBox("Inversion defaults (for new photos)", self)
        group.setToolTip("The Inversion panel starts a newly opened photo with these; a "
                         "project opens with the settings it was last inverted or saved "
                         "with.")
        form = QFormLayout(group)
        self.steps_spin = QSpinBox(self)
        self.steps_spin.setRange(1, _MAX_STEPS)
        self.steps_spin.setToolTip(words.STEPS_TIP)
        form.addRow("Steps:", self.steps_spin)
        self.space_combo = _combo(self, SPACES, words.SPACE_LABELS, words.SPACE_TIP,
                                  words.SPACE_TIPS)
        form.addRow("Latent space:", self.space_combo)
        self.lambda_spin = QDoubleSpinBox(self)
        self.lambda_spin.setRange(0.0, 999_999.0)
        self.lambda_spin.setDecimals(3)
        self.lambda_spin.setSingleStep(0.1)
        self.lambda_spin.setToolTip(words.LAMBDA_TIP)
        form.addRow("λ regulariser:", self.lambda_spin)
        self.loss_combo = _combo(self, LOSS_KINDS, words.LOSS_LABELS, words.LOSS_TIP,
                                 words.LOSS_TIPS)
        form.addRow("Loss:", self.loss_combo)
        self.coverage_combo = _combo(self, COVERAGES, words.COVERAGE_LABELS,
                                     words.COVERAGE_TIP, words.COVERAGE_TIPS)
        form.addRow("Coverage:", self.coverage_combo)
        self.pti_spin = QSpinBox(self)
        self.pti_spin.setRange(0, _MAX_PTI_STEPS)
        self.pti_spin.setSpecialValueText("off")  # shown at 0
        self.pti_spin.setToolTip(words.PTI_TIP)
        form.addRow("PTI steps:", self.pti_spin)
        return group

    def _model_combo(self, kind: str) -> QComboBox:
        combo = QComboBox(self)
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        combo.addItem("")  # empty: the manifest's default for this kind
        for asset_id in self._manifest_ids(kind):
            combo.addItem(asset_id)
        combo.addItem(BROWSE_ITEM)
        default = self._default_id(kind)
        combo.lineEdit().setPlaceholderText(f"default ({default})" if default else "default")
        combo.setToolTip("A model id from the model manager, or the path of a model file.")
        combo.activated.connect(lambda index, k=kind: self._model_chosen(k, index))
        combo.currentTextChanged.connect(lambda text, k=kind: self._model_text_changed(k, text))
        return combo

    def _load(self, settings: AppSettings) -> None:
        _select_data(self.device_combo, settings.device)
        _select_data(self.precision_combo, settings.precision)
        self.steps_spin.setValue(settings.default_steps)
        _select_data(self.space_combo, settings.default_space)
        self.lambda_spin.setValue(settings.lambda_reg)
        _select_data(self.loss_combo, settings.default_loss)
        _select_data(self.coverage_combo, settings.default_coverage)
        self.pti_spin.setValue(settings.default_pti_steps)
        _select_data(self.inversion_memory_combo, settings.inversion_memory)
        _select_data(self.mixed_precision_combo, settings.mixed_precision)
        self.models_dir_edit.setText(settings.models_dir)
        for kind, combo in self.model_combos.items():
            combo.setEditText(getattr(settings, kind))
        _select_data(self.theme_combo, settings.theme)
        self.autosave_spin.setValue(settings.autosave_seconds)
        self._update_device_note()

    # ----------------------------------------------------------------- behaviour

    def _model_text(self, kind: str) -> str:
        text = self.model_combos[kind].currentText().strip()
        return "" if text == BROWSE_ITEM else text

    def _model_text_changed(self, kind: str, text: str) -> None:
        if text != BROWSE_ITEM:
            self._last_model_text[kind] = text  # what "Browse" falls back to when cancelled
        self._validate()

    def _model_chosen(self, kind: str, index: int) -> None:
        combo = self.model_combos[kind]
        if combo.itemText(index) != BROWSE_ITEM:
            return
        before = self._last_model_text.get(kind, "")
        path, _ = QFileDialog.getOpenFileName(
            self, f"Choose a {MODEL_KINDS[kind]} file", str(Path.home()),
            "Model files (*.pkl *.pth *.pt);;All files (*)")
        combo.setEditText(path or before)

    def _browse_models_dir(self) -> None:
        start = self.models_dir_edit.text().strip() or str(models_dir())
        folder = QFileDialog.getExistingDirectory(self, "Choose the models folder", start)
        if folder:
            self.models_dir_edit.setText(folder)

    def _update_device_note(self) -> None:
        choice = self.device_combo.currentData()
        available = self._available.get(choice, True)
        self.device_note.setText("" if available else
                                 f"{choice} is not available on this machine: jobs will fail "
                                 "until you choose another device.")
        self.device_note.setVisible(not available)

    def _show_model_status(self) -> None:
        """Under each model choice, the sentence the welcome page and the model manager
        show for it (core.models.in_use)."""
        from core.models.in_use import model_in_use
        from core.models.loaded import ModelChoice

        if self._manifest is None:
            return
        store = ModelStore(self._manifest, models_dir(self.models_dir_edit.text().strip()
                                                      or None))
        choice = ModelChoice(**{kind: self._model_text(kind) or None
                                for kind in self.model_combos})
        for kind, label in self.model_status.items():
            model = model_in_use(choice, store, kind)
            label.setText(f"✔ {model.status}" if model.usable else
                          f"✘ Not usable now: {model.status}")
            label.setToolTip(model.status)

    def _validate(self) -> bool:
        self._show_model_status()
        found = self.problems()
        self.error_label.setText("\n".join(found))
        self.error_label.setVisible(bool(found))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not found)
        return not found

    def _manifest_ids(self, kind: str | None) -> tuple[str, ...]:
        if self._manifest is None:
            return ()
        assets = self._manifest.of_kind(kind) if kind else self._manifest.assets
        return tuple(asset.id for asset in assets) + self._user_model_names(kind)

    def _user_model_names(self, kind: str | None) -> tuple[str, ...]:
        """The user's own models (`semedit models add`), usable by name like the manifest's."""
        try:
            mine = read_user_models(models_dir(self._original.models_dir or None))
        except SemeditError:
            return ()
        return tuple(name for name, model in mine.items() if kind in (None, model.kind))

    def _default_id(self, kind: str) -> str:
        if self._manifest is None:
            return ""
        return next((a.id for a in self._manifest.of_kind(kind) if a.default), "")


def _shipped_manifest() -> Manifest | None:
    try:
        return load_manifest()
    except ManifestError:
        return None  # the model manager reports it; here the combos just list no ids


def _combo(parent: QWidget, choices, labels: dict[str, str], tip: str,
           item_tips: dict[str, str]) -> QComboBox:
    combo = QComboBox(parent)
    for choice in choices:
        combo.addItem(labels.get(choice, choice), choice)
    tip_items(combo, tip, item_tips)
    return combo


def _select_data(combo: QComboBox, value: object) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(max(index, 0))
