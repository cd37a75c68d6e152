"""One answer to "which model is in use" in the welcome page, the model manager and About;
and the missing-VGG notice: it offers L2 and goes away once an L2 run succeeded or the
loss no longer uses LPIPS (issue #19). Real window, offscreen, a tiny generator on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QPushButton

from semedit_gui.dialogs import ModelManagerDialog, PreferencesDialog
from semedit_gui.dialogs.help_dialogs import about_text
from semedit_gui.dialogs.model_words import L2_WITHOUT_VGG
from tests.gui.test_editor_workflow import WAIT_MS, finish, make_window
from tests.sam_writers import write_tiny_sam

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def buttons_of(layout) -> list[str]:
    texts = []
    for index in range(layout.count()):
        item = layout.itemAt(index)
        if isinstance(item.widget(), QPushButton):
            texts.append(item.widget().text())
        elif item.layout() is not None:
            texts += buttons_of(item.layout())
    return texts


def test_a_sam_file_chosen_by_path_is_in_use_everywhere(qtbot, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    sam_file = write_tiny_sam(tmp_path / "elsewhere" / "my_sam.pth")
    window = make_window(qtbot, tmp_path, sam=str(sam_file))
    store = window.models.store()
    assert not store.is_installed("sam-vit-b")

    welcome = window.welcome
    sam = welcome.in_use["sam"]
    assert sam.usable and sam.path == sam_file
    row = welcome.model_rows["sam"].text()
    assert row.startswith("✔ <b>my_sam.pth</b> (your file)")
    assert f"Your file {sam_file} is used." in row and "sam-vit-b" not in row
    # Download buttons only for the VGG the page says is missing, none for SAM
    assert buttons_of(welcome.models_layout) == ["Download", "I already have the file…"]
    assert not welcome.in_use["vgg"].usable and welcome.in_use["vgg"].installable

    manager = ModelManagerDialog(window.models.store, window, choice=window.models.choice)
    qtbot.addWidget(manager)
    assert manager.row_texts("my_sam.pth") | {"Size": ""} == {
        "Model": "my_sam.pth", "Kind": "sam", "Needed for": "Automatic chunks and click "
        "selection", "Size": "", "Licence": "the file's own", "State": "found",
        "In use": "✔ file chosen in Preferences"}
    assert manager.row_texts("sam-vit-b")["State"] == "missing"
    assert manager.row_texts("sam-vit-b")["In use"] == ""  # not what the app uses
    assert manager.row_texts("vgg16-imagenet")["In use"] == "✘ default, not usable"
    assert f"Your file {sam_file} is used." in manager.in_use_label.text()
    manager.table.selectRow(manager.table.rowCount() - 1)  # the chosen files come last
    assert manager.details_label.text() == (
        f"<b>my_sam.pth</b> — a file chosen in Preferences<br>File: {sam_file}<br>"
        f"In use: Your file {sam_file} is used.")
    assert not manager.download_button.isEnabled()  # nothing to download for it
    # the same sentences on both pages, and in About
    for kind in ("generator", "sam", "vgg"):
        assert manager.in_use[kind] == welcome.in_use[kind]
    assert f"your file {sam_file} (its licence is the file's own) — Your file {sam_file} " \
        "is used." in about_text(window.settings)
    manager.close()
    preferences = PreferencesDialog(window.settings, window)
    qtbot.addWidget(preferences)
    for kind in ("generator", "sam", "vgg"):
        assert preferences.model_status[kind].toolTip() == welcome.in_use[kind].status
    assert preferences.model_status["sam"].text() == f"✔ Your file {sam_file} is used."
    preferences.sam_combo.setEditText("sam-vit-l")  # says what the new choice would mean
    assert preferences.model_status["sam"].text().startswith(
        "✘ Not usable now: sam-vit-l is chosen but is not installed: ")
    preferences.close()
    window.close_discarding()


def test_a_missing_file_is_not_usable_on_either_page(qtbot, tmp_path):
    gone = tmp_path / "gone" / "sam_vit_b.pth"
    window = make_window(qtbot, tmp_path, sam=str(gone))
    row = window.welcome.model_rows["sam"].text()
    assert row.startswith("• <b>sam_vit_b.pth</b>") and str(gone) in row
    assert "Change it in Preferences." in row
    manager = ModelManagerDialog(window.models.store, window, choice=window.models.choice)
    qtbot.addWidget(manager)
    assert manager.row_texts("sam_vit_b.pth")["State"] == "missing"
    assert manager.row_texts("sam_vit_b.pth")["In use"] == "✘ file chosen in Preferences, " \
        "not usable"
    manager.close()
    window.close_discarding()


def start_lpips_run(qtbot, window, coffee):
    """A document with one whole-image chunk, and a Run with LPIPS that fails: no VGG."""
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.documents.open_photo(coffee, align=False)
    size = window.session.doc.resolution
    window.session.chunk_set.add(np.ones((size, size), np.float32), name="all")
    panel = window.inversion_panel
    panel.steps.setValue(3)
    panel.loss.setCurrentIndex(panel.loss.findData("lpips"))
    panel.run_button.click()
    qtbot.waitUntil(lambda: window.models.notice is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: bool(window.findChildren(ModelManagerDialog)), timeout=WAIT_MS)
    return panel, window.findChildren(ModelManagerDialog)[0]


def close_dialog(dialog) -> None:
    dialog.close()  # deletes itself (WA_DeleteOnClose)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_missing_vgg_offers_l2_and_the_notice_goes_after_the_l2_run(qtbot, tmp_path, coffee):
    window = make_window(qtbot, tmp_path)
    panel, dialog = start_lpips_run(qtbot, window, coffee)
    bar = window.message_bar
    assert bar.isVisible() and "The L2 loss works without them" in bar.text()
    assert bar.action_button.isVisible() and bar.action_button.text() == "Run with L2"
    assert dialog.offer_label.text().endswith(L2_WITHOUT_VGG)
    assert dialog.offer_alternative_button.text() == "Run with L2 instead"
    assert not window.session.inverted

    dialog.offer_alternative_button.click()  # closes the dialog, runs with L2
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not window.findChildren(ModelManagerDialog)
    assert panel.loss.currentData() == "l2" and not bar.isVisible()  # no LPIPS: no notice
    task = window.inversion.task
    assert task is not None
    finish(qtbot, task)
    assert window.session.inverted and not bar.isVisible()
    window.close_discarding()


def test_the_vgg_notice_stays_until_an_l2_run_has_succeeded(qtbot, tmp_path, coffee):
    window = make_window(qtbot, tmp_path)
    panel, dialog = start_lpips_run(qtbot, window, coffee)
    close_dialog(dialog)
    bar = window.message_bar
    # an L2 run started without touching the panel's Loss (a controller call)
    task = window.inversion.run(panel.settings(), "l2", 0)
    assert task is not None and bar.isVisible()  # not yet: the run may still fail
    finish(qtbot, task)
    assert window.session.inverted
    assert not bar.isVisible() and window.models.notice is None
    window.close_discarding()


def test_the_vgg_notice_goes_when_the_loss_is_no_longer_lpips(qtbot, tmp_path, coffee):
    window = make_window(qtbot, tmp_path)
    panel, dialog = start_lpips_run(qtbot, window, coffee)
    close_dialog(dialog)
    bar = window.message_bar
    panel.loss.setCurrentIndex(panel.loss.findData("lpips+l2"))  # still needs VGG
    assert bar.isVisible()
    panel.loss.setCurrentIndex(panel.loss.findData("l2"))
    assert not bar.isVisible() and window.models.notice is None
    # another error shown since is not hidden by a later change of loss
    panel.loss.setCurrentIndex(panel.loss.findData("lpips"))
    panel.run_button.click()
    qtbot.waitUntil(lambda: window.models.notice is not None, timeout=WAIT_MS)
    close_dialog(window.findChildren(ModelManagerDialog)[0])
    window.show_message("Something else went wrong.", error=True)
    panel.loss.setCurrentIndex(panel.loss.findData("l2"))
    assert bar.text() == "Something else went wrong."
    window.close_discarding()
