"""The Export dialog: where and how to save the edited image; it never targets the source photo.

The format starts as the one last exported (the window remembers it in the settings),
else the photo's own format for a full-photo export, else PNG. The size is the full
size, half of it, or a longest side in pixels; core shrinks the image after the
paste-back (`core.project.export.export_size`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.fileio import same_file
from core.imageio import SAVE_FORMATS
from core.project.export import export_size

# (Pillow's format name, label, suffix written when the user picks the format)
EXPORT_FORMATS = (
    ("PNG", "PNG", ".png"),
    ("JPEG", "JPEG", ".jpg"),
    ("WEBP", "WebP", ".webp"),
    ("TIFF", "TIFF", ".tif"),
)
FORMATS_WITH_QUALITY = frozenset({"JPEG", "WEBP"})
DEFAULT_QUALITY = 95
_SUFFIX_FOR = {name: suffix for name, _, suffix in EXPORT_FORMATS}
_OFFERED = frozenset(_SUFFIX_FOR)
_ERROR_STYLE = "color: #c62828;"
# (key, label, scale): the size choices; "longest" takes the pixels from the spin box
SIZE_CHOICES = (("full", "Full size", None), ("half", "50 %", 0.5),
                ("longest", "Longest side", None))
DEFAULT_LONGEST_SIDE = 2048


@dataclass(frozen=True)
class ExportOptions:
    path: Path
    format: str  # Pillow's name: PNG, JPEG, WEBP or TIFF
    full_photo: bool  # True: edits pasted back into the photo; False: the aligned face crop
    quality: int  # 1..100, used by JPEG and WebP
    keep_metadata: bool  # copy the photo's EXIF and colour profile
    scale: float | None = None  # shrink by this (0.5 = half size); None = full size
    max_side: int | None = None  # shrink until the longer side is at most this


def format_for_suffix(path: Path) -> str | None:
    """The offered format a file name asks for, or None (no suffix or one not offered)."""
    name = SAVE_FORMATS.get(path.suffix.lower())
    return name if name in _OFFERED else None


def starting_format(last_format: str | None, photo: Path | None, default_path: Path) -> str:
    """The format the dialog opens with: the last one exported, else the photo's own
    (`photo`: given for a full-photo export), else the default path's, else PNG."""
    if last_format in _OFFERED:
        return last_format
    for path in (photo, default_path):
        fmt = format_for_suffix(path) if path is not None else None
        if fmt is not None:
            return fmt
    return "PNG"


class ExportDialog(QDialog):
    """OK is disabled, with the reason shown, while the path cannot be written safely."""

    def __init__(self, parent: QWidget | None = None, *, has_full_photo: bool,
                 default_path: Path, source_photo: Path | None,
                 last_format: str | None = None,
                 photo_size: tuple[int, int] | None = None, crop_size: int | None = None):
        """`last_format`: the format of the previous export (Pillow's name) or None;
        `photo_size` (width, height) and `crop_size` (pixels a side) show what a size
        choice writes."""
        super().__init__(parent)
        self.setObjectName("ExportDialog")
        self.setWindowTitle("Export image")
        self.setMinimumWidth(520)  # room for a full path
        self._source_photo = Path(source_photo) if source_photo is not None else None
        self._sizes = {True: photo_size, False: (crop_size, crop_size) if crop_size else None}
        self._syncing = False  # set while one of path/format updates the other
        self._build(has_full_photo)
        start = Path(default_path)
        fmt = starting_format(last_format, self._source_photo if has_full_photo else None,
                              start)
        if format_for_suffix(start) != fmt and start.name:
            start = start.with_suffix(_SUFFIX_FOR[fmt])
        self.path_edit.setText(str(start))
        self._set_format(fmt)
        self._show_size()
        self._validate()

    # ----------------------------------------------------------------- public

    def options(self) -> ExportOptions:
        fmt = self.format_combo.currentData()
        return ExportOptions(
            path=self._target_path(),
            format=fmt,
            full_photo=self.full_photo_radio.isChecked(),
            quality=self.quality_spin.value(),
            keep_metadata=self.metadata_check.isChecked(),
            **self._size_choice(),
        )

    def problem(self) -> str:
        """Why the path is refused ("" when it is fine)."""
        text = self.path_edit.text().strip()
        if not text:
            return "Choose where to save the image."
        path = self._target_path()
        if Path(text).suffix and format_for_suffix(Path(text)) is None:
            offered = ", ".join(suffix for _, _, suffix in EXPORT_FORMATS)
            return f"SemEdit cannot save '{Path(text).suffix}' files; use {offered}."
        if self._source_photo is not None and (
            path.resolve() == self._source_photo.resolve() or same_file(path, self._source_photo)
        ):
            return "That is your original photo; SemEdit never overwrites it. Choose another name."
        typed = Path(text).expanduser()
        if typed.is_dir() or path.is_dir():  # before the suffix is added, "out" may be a folder
            return f"{typed} is a folder; add a file name."
        if not path.parent.is_dir():
            return f"The folder {path.parent} does not exist."
        return ""

    def accept(self) -> None:
        if self._validate():
            super().accept()

    # ----------------------------------------------------------------- building

    def _build(self, has_full_photo: bool) -> None:
        layout = QVBoxLayout(self)
        form = QFormLayout()
        layout.addLayout(form)

        path_row = QHBoxLayout()
        self.path_edit = QLineEdit(self)
        self.path_edit.textChanged.connect(self._path_edited)
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.setAutoDefault(False)
        self.browse_button.clicked.connect(self._browse)
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        form.addRow("File:", path_row)

        self.format_combo = QComboBox(self)
        for name, label, _ in EXPORT_FORMATS:
            self.format_combo.addItem(label, name)
        self.format_combo.currentIndexChanged.connect(self._format_chosen)
        form.addRow("Format:", self.format_combo)

        self.full_photo_radio = QRadioButton("Full photo (edits pasted back)", self)
        self.crop_radio = QRadioButton("Aligned face crop", self)
        self.what_group = QButtonGroup(self)
        self.what_group.addButton(self.full_photo_radio)
        self.what_group.addButton(self.crop_radio)
        self.full_photo_radio.setEnabled(has_full_photo)
        if has_full_photo:
            self.full_photo_radio.setChecked(True)
        else:
            self.full_photo_radio.setToolTip("This project has no full photo to paste into.")
            self.crop_radio.setChecked(True)
        what = QVBoxLayout()
        what.addWidget(self.full_photo_radio)
        what.addWidget(self.crop_radio)
        form.addRow("Export:", what)

        self.size_combo = QComboBox(self)
        for key, label, _ in SIZE_CHOICES:
            self.size_combo.addItem(label, key)
        self.side_spin = QSpinBox(self)
        self.side_spin.setRange(16, 100_000)
        self.side_spin.setValue(DEFAULT_LONGEST_SIDE)
        self.side_spin.setSuffix(" px")
        self.side_spin.setToolTip("The longer side of the image written; a smaller image is "
                                  "not enlarged")
        self.size_label = QLabel(self)  # what will be written, in pixels
        size_row = QHBoxLayout()
        size_row.addWidget(self.size_combo)
        size_row.addWidget(self.side_spin)
        size_row.addWidget(self.size_label, 1)
        form.addRow("Size:", size_row)
        self.size_combo.currentIndexChanged.connect(self._show_size)
        self.side_spin.valueChanged.connect(self._show_size)
        self.what_group.buttonToggled.connect(lambda *_args: self._show_size())

        self.quality_spin = QSpinBox(self)
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(DEFAULT_QUALITY)
        form.addRow("Quality:", self.quality_spin)

        self.metadata_check = QCheckBox("Keep EXIF and colour profile", self)
        self.metadata_check.setChecked(True)
        form.addRow("", self.metadata_check)

        self.message_label = QLabel(self)
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    # ----------------------------------------------------------------- behaviour

    @property
    def ok_button(self) -> QPushButton:
        return self.buttons.button(QDialogButtonBox.StandardButton.Save)

    def _target_path(self) -> Path:
        """The typed path, given the chosen format's suffix when it has none."""
        path = Path(self.path_edit.text().strip()).expanduser()
        if path.name and not path.suffix:
            path = path.with_name(path.name + _SUFFIX_FOR[self.format_combo.currentData()])
        return path

    def _size_choice(self) -> dict:
        """The ExportOptions `scale` and `max_side` the size choice sets."""
        key = self.size_combo.currentData()
        scale = next(scale for k, _, scale in SIZE_CHOICES if k == key)
        return {"scale": scale,
                "max_side": self.side_spin.value() if key == "longest" else None}

    def _show_size(self, *_args) -> None:
        self.side_spin.setEnabled(self.size_combo.currentData() == "longest")
        size = self._sizes[self.full_photo_radio.isChecked()]
        if size is None:
            self.size_label.setText("")
            return
        width, height = export_size(*size, **self._size_choice())
        self.size_label.setText(f"{width} × {height} px")

    def _set_format(self, fmt: str) -> None:
        self._syncing = True
        try:
            self.format_combo.setCurrentIndex(self.format_combo.findData(fmt))
        finally:
            self._syncing = False
        self.quality_spin.setEnabled(fmt in FORMATS_WITH_QUALITY)

    def _path_edited(self, text: str) -> None:
        if self._syncing:
            return
        fmt = format_for_suffix(Path(text.strip()))
        if fmt is not None and fmt != self.format_combo.currentData():
            self._set_format(fmt)
        self._validate()

    def _format_chosen(self, _index: int) -> None:
        fmt = self.format_combo.currentData()
        self.quality_spin.setEnabled(fmt in FORMATS_WITH_QUALITY)
        if self._syncing:
            return
        text = self.path_edit.text().strip()
        if text and format_for_suffix(Path(text)) != fmt:
            path = Path(text)
            renamed = path.with_suffix(_SUFFIX_FOR[fmt]) if path.suffix else path.with_name(
                path.name + _SUFFIX_FOR[fmt])
            self._syncing = True
            try:
                self.path_edit.setText(str(renamed))
            finally:
                self._syncing = False
        self._validate()

    def _browse(self) -> None:
        filters = ";;".join(f"{label} (*{suffix})" for _, label, suffix in EXPORT_FORMATS)
        current = next(f for f in filters.split(";;")
                       if f.startswith(self.format_combo.currentText()))
        path, _ = QFileDialog.getSaveFileName(self, "Export image", str(self._target_path()),
                                              filters, current)
        if path:
            self.path_edit.setText(path)

    def _validate(self) -> bool:
        problem = self.problem()
        if problem:
            self.message_label.setStyleSheet(_ERROR_STYLE)
            self.message_label.setText(problem)
        else:
            self.message_label.setStyleSheet("")
            target = self._target_path()
            self.message_label.setText(f"{target.name} exists and will be replaced."
                                       if target.exists() else "")
        self.ok_button.setEnabled(not problem)
        return not problem
