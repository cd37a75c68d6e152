"""Inversion settings belong to the project and to the Preferences (issue #19): a project
reopens with the panel settings it was inverted (or saved) with, a new photo gets the
Preferences defaults, settings.json is read forgivingly, and every loss, coverage and
space has words that say what it does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.invert import COVERAGES, LOSS_KINDS
from core.latents import SPACES
from core.project import load_project
from core.project.schema import check_inversion
from semedit_gui.controllers.inversion import NEXT_RUN, panel_values_for
from semedit_gui.dialogs import PreferencesDialog
from semedit_gui.main_window import MainWindow
from semedit_gui.panels import inversion_words as words
from semedit_gui.panels.inversion_panel import InversionPanel
from semedit_gui.settings import AppSettings
from tests.gui.controller_fixtures import WAIT_MS
from tests.gui.test_editor_workflow import make_window as editor_window
from tests.gui.test_editor_workflow import open_photo

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CHOSEN = {"steps": 3, "space": "w", "lambda_reg": 0.25, "loss": "l2",
          "coverage": "whole_image", "optimise_masks": True, "pti_steps": 2}


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(path)
    return path


def make_window(qtbot, tmp_path, **settings) -> MainWindow:
    """The editor tests' window, with the Preferences' own default steps."""
    window = editor_window(qtbot, tmp_path,
                           **{"default_steps": AppSettings.default_steps, **settings})
    window.ask_unsaved_changes = lambda: "discard"
    return window


def save(qtbot, window: MainWindow, path: Path) -> None:
    task = window.documents.save_to(path)
    qtbot.waitUntil(lambda: task.finished, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.session.path == path, timeout=WAIT_MS)


def test_a_project_reopens_with_the_settings_it_was_inverted_with(qtbot, tmp_path, photo):
    window = make_window(qtbot, tmp_path)
    panel = window.inversion_panel
    open_photo(qtbot, window, photo)
    assert panel.values() == AppSettings().inversion_defaults()  # a new photo
    window.session.chunk_set.add(np.ones((32, 32), np.float32), name="all")
    panel.set_values(CHOSEN)
    assert panel.values() == CHOSEN
    task = window.inversion.run(panel.settings(), panel.loss_kind, panel.pti, init="mean")
    qtbot.waitUntil(lambda: task.finished, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.session.inverted, timeout=WAIT_MS)
    project = tmp_path / "inverted.semedit"
    save(qtbot, window, project)

    stored = load_project(project).inversion
    assert stored["settings"]["loss"] == "l2" and stored["settings"]["pti_steps"] == 2
    assert (stored["settings"]["space"], stored["settings"]["steps"]) == ("w", 3)
    assert stored["metrics"]["steps"] == 3

    open_photo(qtbot, window, photo)  # another document shows the defaults again
    assert panel.values() == AppSettings().inversion_defaults()
    open_photo(qtbot, window, project)
    assert panel.values() == CHOSEN
    # Continue uses what the panel shows: the project's 3 more steps, its loss, its PTI
    shown = []
    window.inversion.progress.connect(lambda stage, step, total, _loss: shown.append(
        (stage, step, total)))
    panel.continue_button.click()
    qtbot.waitUntil(lambda: window.inversion.state == "idle", timeout=WAIT_MS)
    assert window.session.doc.inversion["settings"]["loss"] == "l2"
    # it counts on from the saved run's 3 steps (test_stale_state: bar, summary, curve)
    assert window.inversion.steps_done == 6 and window.session.doc.pti_weights is not None
    assert [s for s in shown if s[0] == "pti"][-1] == ("pti", 8, 8)  # 3 + 3 steps + 2 PTI
    window.close()


def test_a_setting_changed_before_any_run_is_saved_with_the_project(qtbot, tmp_path, photo):
    window = make_window(qtbot, tmp_path)
    panel = window.inversion_panel
    open_photo(qtbot, window, photo)
    assert not window.session.dirty
    panel.loss.setCurrentIndex(panel.loss.findData("lpips+l2"))  # as the user does
    panel.pti_steps.setValue(350)
    assert not window.session.dirty  # a setting is not an edit (nothing to undo)
    assert window.session.doc.inversion[NEXT_RUN] == panel.values()
    project = tmp_path / "planned.semedit"
    save(qtbot, window, project)
    assert load_project(project).inversion[NEXT_RUN]["loss"] == "lpips+l2"

    open_photo(qtbot, window, photo)
    assert panel.loss_kind == "lpips"
    open_photo(qtbot, window, project)
    assert (panel.loss_kind, panel.pti) == ("lpips+l2", 350)
    window.close()


def test_preferences_defaults_apply_to_a_new_photo_and_at_once_without_one(
        qtbot, tmp_path, photo):
    window = make_window(qtbot, tmp_path)
    panel = window.inversion_panel
    dialog = PreferencesDialog(window.settings, window, available_devices={"cpu": True})
    dialog.loss_combo.setCurrentIndex(dialog.loss_combo.findData("l2"))
    dialog.coverage_combo.setCurrentIndex(dialog.coverage_combo.findData("whole_image"))
    dialog.pti_spin.setValue(120)
    dialog.steps_spin.setValue(42)
    chosen = dialog.result_settings()
    dialog.deleteLater()
    assert (chosen.default_loss, chosen.default_coverage, chosen.default_pti_steps,
            chosen.default_steps) == ("l2", "whole_image", 120, 42)
    window.apply_settings(chosen)
    assert (panel.loss_kind, panel.coverage.currentData(), panel.pti,
            panel.steps.value()) == ("l2", "whole_image", 120, 42)  # no document: at once
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved["default_loss"] == "l2" and saved["default_pti_steps"] == 120

    open_photo(qtbot, window, photo)
    panel.loss.setCurrentIndex(panel.loss.findData("lpips"))  # this photo only
    window.apply_settings(window.settings)  # Preferences OK again: the document keeps its own
    assert panel.loss_kind == "lpips"
    open_photo(qtbot, window, photo)  # a new photo: the defaults
    assert (panel.loss_kind, panel.pti, panel.steps.value()) == ("l2", 120, 42)
    window.close()


def test_settings_json_bad_inversion_defaults_fall_back_with_a_warning(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"default_loss": "ssim", "default_coverage": 3,
                                "default_pti_steps": -5, "default_steps": 77}))
    settings, warnings = AppSettings.load(path)
    assert (settings.default_loss, settings.default_coverage,
            settings.default_pti_steps) == ("lpips", "edit_regions", 0)
    assert settings.default_steps == 77  # the good value is kept
    assert len(warnings) == 3 and "'default_loss'" in warnings[0] and "ssim" in warnings[0]
    settings.default_loss = "lpips+l2"
    settings.save(path)
    assert AppSettings.load(path) == (settings, [])


def test_an_older_or_hand_edited_project_falls_back_per_setting():
    defaults = AppSettings().inversion_defaults()
    older = {"settings": {"space": "s", "steps": 500, "lambda_reg": 2.0,
                          "coverage": "edit_regions", "optimise_masks": False}}
    assert panel_values_for(older, defaults) == {**defaults, "space": "s", "steps": 500,
                                                 "lambda_reg": 2.0}
    quick = {"settings": {**older["settings"], "steps": 0}}  # Quick ran no steps
    assert panel_values_for(quick, defaults)["steps"] == defaults["steps"]
    broken = {NEXT_RUN: {"loss": "ssim", "steps": 1.5, "pti_steps": True, "lambda_reg": -1,
                         "space": "wplus"},
              "settings": {"loss": "l2", "steps": 9, "space": "w"}}
    assert panel_values_for(broken, defaults) == {**defaults, "loss": "l2", "steps": 9,
                                                  "space": "wplus"}
    assert panel_values_for({}, defaults) == defaults
    assert panel_values_for(None, defaults) == defaults


def test_project_schema_checks_the_stored_loss_and_pti_steps():
    check_inversion({"settings": {"loss": "lpips+l2", "pti_steps": 350}, NEXT_RUN: {}})
    check_inversion({"settings": {"space": "wplus"}})  # older projects have neither
    for bad, said in (({"settings": {"loss": "ssim"}}, "settings.loss"),
                      ({"settings": {"pti_steps": -1}}, "pti_steps"),
                      ({"settings": {"pti_steps": "350"}}, "pti_steps"),
                      ({NEXT_RUN: [1]}, NEXT_RUN)):
        with pytest.raises(ValueError, match=said):
            check_inversion(bad)


def test_every_loss_coverage_and_space_item_has_a_tooltip(qtbot):
    from PySide6.QtCore import Qt

    panel = InversionPanel()
    qtbot.addWidget(panel)
    dialog = PreferencesDialog(AppSettings(), available_devices={"cpu": True})
    qtbot.addWidget(dialog)
    for combo, choices, tips in ((panel.loss, LOSS_KINDS, words.LOSS_TIPS),
                                 (panel.coverage, COVERAGES, words.COVERAGE_TIPS),
                                 (panel.space, SPACES, words.SPACE_TIPS),
                                 (dialog.loss_combo, LOSS_KINDS, words.LOSS_TIPS),
                                 (dialog.coverage_combo, COVERAGES, words.COVERAGE_TIPS),
                                 (dialog.space_combo, SPACES, words.SPACE_TIPS)):
        assert [combo.itemData(i) for i in range(combo.count())] == list(choices)
        for i in range(combo.count()):
            tip = combo.itemData(i, Qt.ItemDataRole.ToolTipRole)
            assert tip == tips[choices[i]] and len(tip) > 40
        combo.setCurrentIndex(combo.count() - 1)  # the combo's own tip follows the choice
        assert combo.toolTip().endswith(tips[choices[-1]])
    assert "VGG16" in words.LOSS_TIPS["lpips"] and "VGG16" in words.LOSS_TIPS["lpips+l2"]
    for widget in (panel.steps, panel.lambda_reg, panel.pti_steps, panel.optimise_masks,
                   dialog.steps_spin, dialog.lambda_spin, dialog.pti_spin):
        assert len(widget.toolTip()) > 60
    assert panel.pti_steps.toolTip() == dialog.pti_spin.toolTip() == words.PTI_TIP
