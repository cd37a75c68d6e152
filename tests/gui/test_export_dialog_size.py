"""The Export dialog starts on the last format exported, else the photo's own; it offers
full size, 50 % or a longest side, shows the pixels that will be written, and the
window's export writes that size and remembers the format for the next time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from semedit_gui.dialogs import ExportDialog
from semedit_gui.dialogs.export_dialog import starting_format
from tests.gui.test_editor_workflow import finish, make_window, open_photo, photo  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def dialog_for(qtbot, tmp_path: Path, **kwargs) -> ExportDialog:
    arguments = {"has_full_photo": True, "default_path": tmp_path / "photo-edited.png",
                 "source_photo": tmp_path / "photo.jpg", **kwargs}
    dialog = ExportDialog(**arguments)
    qtbot.addWidget(dialog)
    return dialog


def test_the_format_starts_as_last_exported_else_as_the_photo(qtbot, tmp_path):
    jpeg_source = dialog_for(qtbot, tmp_path)
    assert jpeg_source.format_combo.currentData() == "JPEG"
    assert jpeg_source.options().path == tmp_path / "photo-edited.jpg"
    assert jpeg_source.quality_spin.isEnabled()
    remembered = dialog_for(qtbot, tmp_path, last_format="WEBP")
    assert remembered.options().format == "WEBP"
    assert remembered.options().path == tmp_path / "photo-edited.webp"
    crop_only = dialog_for(qtbot, tmp_path, has_full_photo=False)  # no photo to match
    assert crop_only.options().format == "PNG"
    assert starting_format("BMP", None, tmp_path / "x.heic") == "PNG"  # nothing offered
    assert starting_format(None, tmp_path / "p.TIFF", tmp_path / "x.png") == "TIFF"


def test_size_choices_show_and_set_the_pixels_written(qtbot, tmp_path):
    dialog = dialog_for(qtbot, tmp_path, photo_size=(6000, 4000), crop_size=1024)
    assert dialog.size_label.text() == "6000 × 4000 px"
    assert (dialog.options().scale, dialog.options().max_side) == (None, None)
    assert not dialog.side_spin.isEnabled()
    dialog.size_combo.setCurrentIndex(dialog.size_combo.findData("half"))
    assert dialog.size_label.text() == "3000 × 2000 px"
    assert (dialog.options().scale, dialog.options().max_side) == (0.5, None)
    dialog.crop_radio.setChecked(True)
    assert dialog.size_label.text() == "512 × 512 px"
    dialog.full_photo_radio.setChecked(True)
    dialog.size_combo.setCurrentIndex(dialog.size_combo.findData("longest"))
    assert dialog.side_spin.isEnabled()
    dialog.side_spin.setValue(1000)
    assert dialog.size_label.text() == "1000 × 667 px"
    assert (dialog.options().scale, dialog.options().max_side) == (None, 1000)
    dialog.side_spin.setValue(9000)  # larger than the photo: not enlarged
    assert dialog.size_label.text() == "6000 × 4000 px"


def test_the_window_exports_at_the_chosen_size_and_remembers_the_format(
        qtbot, tmp_path, photo, monkeypatch):  # noqa: F811
    from semedit_gui.window import actions

    window = make_window(qtbot, tmp_path)
    window.ask_unsaved_changes = lambda: "discard"
    open_photo(qtbot, window, photo)  # astronaut.png, 512²
    started: list[str] = []
    target = tmp_path / "small.jpg"

    def choose(dialog: ExportDialog) -> int:
        started.append(dialog.format_combo.currentData())
        dialog.path_edit.setText(str(target))  # JPEG
        dialog.size_combo.setCurrentIndex(dialog.size_combo.findData("half"))
        assert dialog.size_label.text() == "256 × 256 px"
        return 1

    monkeypatch.setattr(ExportDialog, "exec", choose)
    submitted = []
    real_export = window.documents.export_to
    monkeypatch.setattr(window.documents, "export_to",
                        lambda options: submitted.append(real_export(options)))
    actions.export_image(window)
    finish(qtbot, submitted[0])
    assert Image.open(target).size == (256, 256)
    assert window.settings.export_format == "JPEG"
    saved = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))
    assert saved["export_format"] == "JPEG"
    assert Path(photo).exists() and Image.open(photo).size == (512, 512)  # untouched
    actions.export_image(window)  # the next export starts on JPEG, not the photo's PNG
    assert started == ["PNG", "JPEG"]
    finish(qtbot, submitted[1])
    window.close_discarding()
