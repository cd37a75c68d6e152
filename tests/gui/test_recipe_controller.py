"""Save edits as recipe / Apply recipe to photos, without a window: the app's batch makes
the project's own pixels, records bad photos, and stops when asked."""

from __future__ import annotations

import json

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core import workflows
from core.invert import InversionSettings
from core.models.loaded import LoadedModels, ModelChoice
from core.workflows.batch import MANIFEST_NAME
from core.workflows.recipe import load_recipe
from semedit_gui.controllers import InversionController
from semedit_gui.controllers.recipes import RecipeController
from tests.gui.controller_fixtures import (
    GEN,
    WAIT_MS,
    controller_stack,
    wait_ended,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def setup(qtbot, tmp_path):
    with controller_stack(qtbot, tmp_path) as (registry, documents):
        yield registry, documents, RecipeController(registry, documents, registry.parent())


def edited_project(qtbot, registry, documents, tmp_path):
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    with qtbot.waitSignal(documents.document_opened, timeout=WAIT_MS):
        documents.open_path(photo)
    session = documents.session
    mask = np.zeros((32, 32), np.float32)
    mask[8:26, 8:24] = 1
    session.chunk_set.add(mask, name="cheeks")
    wait_ended(qtbot, InversionController(registry, documents).run(
        InversionSettings(steps=4), "l2", 0))
    session.edit_stacks.add("cheeks", "pc0", 1.5)
    return photo, session


def test_save_then_apply_makes_the_projects_pixels(qtbot, setup, tmp_path):
    registry, documents, recipes = setup
    photo, session = edited_project(qtbot, registry, documents, tmp_path)
    path = tmp_path / "look.json"
    with qtbot.waitSignal(recipes.recipe_saved, timeout=WAIT_MS) as saved:
        recipes.save(path, loss_kind="l2", pti_steps=0)
    assert saved.args == [path]
    recipe = load_recipe(path)
    assert recipe.chunk_source == "masks" and list(recipe.masks) == ["cheeks"]
    assert [(e.direction, e.strength) for e in recipe.edits["cheeks"]] == [("pc0", 1.5)]
    assert json.loads(path.read_text())["inversion"]["steps"] == 4

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    out = tmp_path / "out"
    shown, running = [], []
    recipes.progress.connect(lambda done, total, line: shown.append((done, total, line)))
    recipes.running_changed.connect(running.append)
    with qtbot.waitSignal(recipes.finished, timeout=WAIT_MS) as finished:
        task = recipes.apply(path, [photo, broken], out)
        assert recipes.apply(path, [photo], out) is None  # one batch at a time
    wait_ended(qtbot, task)
    summary = finished.args[0]
    assert not summary.stopped and summary.counts["done"] == 1
    assert summary.counts["skipped"] == 1 and running == [True, False]
    assert shown[-1][:2] == (2, 2) and {line for *_, line in shown} >= {
        "astronaut.png: done", "broken.jpg: skipped (unreadable)",
        "astronaut.png: Inverting"}  # the photo's own steps show while it is made
    # The app's own export of the project: the same bits.
    models = LoadedModels(ModelChoice(generator=GEN, models_dir=str(tmp_path / "models"),
                                      device="cpu"))
    workflows.run(workflows.export(models, session.doc.snapshot(), tmp_path / "app.png",
                                   full_photo=True, source_path=photo))
    assert np.array_equal(np.asarray(Image.open(out / "astronaut.png")),
                          np.asarray(Image.open(tmp_path / "app.png")))


def test_stop_ends_the_batch_and_says_so(qtbot, setup, tmp_path):
    registry, documents, recipes = setup
    photo, _ = edited_project(qtbot, registry, documents, tmp_path)
    path = tmp_path / "look.json"
    with qtbot.waitSignal(recipes.recipe_saved, timeout=WAIT_MS):
        recipes.save(path, loss_kind="l2", pti_steps=0)
    data = json.loads(path.read_text())
    data["inversion"]["steps"] = 100_000
    path.write_text(json.dumps(data))
    messages = []
    recipes.message.connect(lambda text, error: messages.append(text))
    with qtbot.waitSignal(recipes.finished, timeout=WAIT_MS) as finished:
        with qtbot.waitSignal(recipes.progress, timeout=WAIT_MS):  # the batch has begun
            recipes.apply(path, [photo, photo.with_name("b.png")], tmp_path / "out")
        recipes.stop()
    summary = finished.args[0]
    assert summary.stopped and summary.counts["done"] == 0
    assert messages[-1].startswith("The recipe stopped: 0 made")
    assert not (tmp_path / "out" / "astronaut.png").exists()
    assert (tmp_path / "out" / MANIFEST_NAME).exists()


def test_the_window_applies_a_recipe_with_a_progress_dialog(qtbot, tmp_path):
    from core.edit.stack import EditStacks
    from core.workflows.recipe import recipe_from_document, save_recipe
    from semedit_gui.main_window import MainWindow
    from semedit_gui.settings import AppSettings
    from semedit_gui.window.recipe_actions import recipe_controller, run_with_progress

    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    models = LoadedModels(ModelChoice(generator=GEN, device="cpu"))
    doc = workflows.run(workflows.open_photo(models, photo)).document
    doc.add_chunk(np.ones((32, 32), np.float32), name="all")
    outcome = workflows.run(workflows.invert(models, doc, InversionSettings(steps=2),
                                             loss_kind="l2"))
    workflows.apply_inversion(doc, list(doc.chunks), outcome.result, outcome.settings,
                              metrics=outcome.metrics, generator_id=outcome.generator_id,
                              generator_sha256=outcome.generator_sha256)
    EditStacks(doc).add("all", "pc0", 1.0)
    recipe = save_recipe(recipe_from_document(doc, directions=models.directions().get,
                                              loss="l2"), tmp_path / "look.json")

    window = MainWindow(AppSettings(generator=GEN, device="cpu", autosave_seconds=0))
    qtbot.addWidget(window)
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    texts = [a.text() for a in menu.actions()]
    assert "Save Edits as &Recipe…" in texts and "Apply Recipe to &Photos…" in texts
    assert not window.commands.save_recipe.isEnabled()  # no project open
    controller = recipe_controller(window)
    assert recipe_controller(window) is controller
    with qtbot.waitSignal(controller.finished, timeout=WAIT_MS) as finished:
        dialog = run_with_progress(window, controller, recipe, [photo], tmp_path / "out")
        assert dialog is not None and dialog.isVisible()
    assert finished.args[0].counts["done"] == 1
    assert window.recipe_progress is None and (tmp_path / "out" / "astronaut.png").is_file()
    window.close()
