"""File ▸ Save Edits as Recipe… and File ▸ Apply Recipe to Photos…: the dialogs around
`RecipeController` (one per window, made on first use)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QProgressDialog

from core.imageio import PHOTO_SUFFIXES
from core.workflows.batch import MANIFEST_NAME
from semedit_gui.controllers.recipes import RecipeController
from semedit_gui.window.folders import remember_folder, start_folder


def recipe_controller(window) -> RecipeController:
    controller = getattr(window, "recipes", None)
    if controller is None:
        controller = window.recipes = RecipeController(window.jobs, window.documents, window)
        controller.message.connect(window.show_message)
    return controller


def save_edits_as_recipe(window) -> None:
    session = window.session
    if session is None:
        return
    stem = (session.path or session.photo_path or Path("look")).stem
    path, _ = QFileDialog.getSaveFileName(window, "Save Edits as Recipe",
                                          str(start_folder(window, "recipe")
                                              / f"{stem}-recipe.json"),
                                          "SemEdit recipes (*.json)")
    if not path:
        return
    remember_folder(window, "recipe", path)
    panel = window.inversion_panel  # the loss and PTI steps are not stored in a project
    recipe_controller(window).save(
        Path(path), loss_kind=panel.loss_kind,
        pti_steps=panel.pti if session.doc.pti_weights is not None else 0)


def apply_recipe_to_photos(window) -> None:
    controller = recipe_controller(window)
    if controller.running:
        window.show_message("A recipe is being applied already.")
        return
    recipe, _ = QFileDialog.getOpenFileName(window, "Apply Which Recipe?",
                                            str(start_folder(window, "recipe")),
                                            "SemEdit recipes (*.json)")
    if not recipe:
        return
    remember_folder(window, "recipe", recipe)
    patterns = " ".join(f"*{suffix}" for suffix in PHOTO_SUFFIXES)
    photos, _ = QFileDialog.getOpenFileNames(window, "Photos to Make with the Recipe",
                                             str(start_folder(window, "photos")),
                                             f"Photos ({patterns})")
    if not photos:
        return
    remember_folder(window, "photos", photos[0])
    output = QFileDialog.getExistingDirectory(window, "Write the Edited Photos To",
                                              str(start_folder(window, "output")))
    if not output:
        return
    remember_folder(window, "output", output)
    run_with_progress(window, controller, Path(recipe), [Path(p) for p in photos],
                      Path(output))


def run_with_progress(window, controller: RecipeController, recipe: Path,
                      photos: list[Path], output: Path) -> QProgressDialog | None:
    """Apply the recipe with a progress dialog whose Stop button stops the batch."""
    dialog = QProgressDialog("Starting…", "Stop", 0, len(photos), window)
    dialog.setWindowTitle("Applying the Recipe")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setAutoReset(False)
    dialog.setAutoClose(False)
    dialog.setMinimumDuration(0)

    def progress(done: int, total: int, line: str) -> None:
        dialog.setMaximum(max(total, 1))
        dialog.setValue(done)
        dialog.setLabelText(f"{done} of {total} photos" + (f"\n{line}" if line else ""))

    def stop() -> None:
        dialog.setLabelText("Stopping after the current step…")
        controller.stop()

    def finished(_summary) -> None:
        controller.progress.disconnect(progress)
        controller.finished.disconnect(finished)
        dialog.canceled.disconnect(stop)
        dialog.close()
        dialog.deleteLater()
        window.recipe_progress = None

    controller.progress.connect(progress)
    controller.finished.connect(finished)
    dialog.canceled.connect(stop)
    window.recipe_progress = dialog
    task = controller.apply(recipe, photos, output)
    if task is None:
        finished(None)
        return None
    dialog.show()
    window.show_message(f"Applying the recipe to {len(photos)} photos; {MANIFEST_NAME} in "
                        f"{output} records each one.")
    return dialog
