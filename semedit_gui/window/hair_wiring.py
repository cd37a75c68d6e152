"""The Hair panel wired to its controller and to the window: the transfer's inputs
(your hair's chunk, the hair photo, its face and mask), what is missing before Transfer
with Segment Anything's download, and the transfer's progress, result and blend."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject

from semedit_gui.controllers.hair import default_hair_chunk
from semedit_gui.window.folders import remember_folder, start_folder


def connect_hair(window) -> None:
    panel, hair = window.hair_panel, window.hair
    hair.model_choice = lambda: window.settings.model_choice()
    # The hair photo's dialog starts where File ▸ Open does (and leads it), a mask's where
    # masks were last chosen or exported.
    panel.start_folder = lambda kind: start_folder(window, kind)
    panel.remember_folder = lambda kind, path: remember_folder(window, kind, path)

    def judge(*_args) -> None:
        reason = hair.blocker(panel.hair_photo, panel.hair_chunk_name, panel.hair_mask_b)
        panel.set_blocker(reason, offer_download=reason is not None)

    def download() -> None:
        dialog = window.models.download(hair.sam_asset_id())
        dialog.models_changed.connect(judge)

    def face_chosen(path, choice) -> None:
        if path != panel.hair_photo:
            return
        if choice.face_index is None:
            window.show_message(f"The hair is taken from a face of {path.name}: click one of "
                                "its numbered faces.")
            return
        panel.set_face(choice.face_index)

    def choose_face(path, boxes) -> None:
        from semedit_gui.dialogs.face_dialog import ask_face

        ask_face(window, path, boxes, lambda choice: face_chosen(path, choice), no_face=False)

    def faces_found(path, boxes) -> None:
        panel.set_face_boxes(path, boxes)
        if len(boxes) > 1 and path == panel.hair_photo:
            window.show_message(f"{path.name} has {len(boxes)} faces; the hair of the largest "
                                "is used (Its face… picks another).")

    panel.transfer_requested.connect(lambda photo, settings: hair.run(
        photo, settings, hair_mask_b=panel.hair_mask_b, hair_chunk=panel.hair_chunk_name,
        face_b=panel.face_b))
    panel.stop_requested.connect(hair.stop)
    panel.paint_mask_requested.connect(lambda photo: hair.paint_hair_photo(photo,
                                                                           face=panel.face_b))
    panel.inputs_changed.connect(judge)
    panel.download_requested.connect(download)
    panel.choose_face_requested.connect(choose_face)
    panel.hair_photo_changed.connect(lambda path: path is not None and hair.find_faces(path))
    hair.reset.connect(panel.reset)
    hair.chunk_names_changed.connect(
        lambda names: panel.set_chunk_names(names, default_hair_chunk(names)))
    hair.faces_found.connect(faces_found)
    hair.hair_photo_ready.connect(lambda ready, p: _paint_mask(window, ready, p))
    panel.blend_changed.connect(hair.blend)
    panel.apply_requested.connect(hair.open_result)
    hair.running_changed.connect(window._update_hair_panel)
    hair.outcome_changed.connect(window._update_hair_panel)
    hair.progress.connect(panel.show_progress)
    hair.preview.connect(window.show_aligned)
    # Models may be installed or chosen elsewhere (Model Manager, Preferences): judge again
    # whenever the window comes back to the front, as it does when such a dialog closes.
    window.installEventFilter(_OnActivate(judge, window))
    judge()


class _OnActivate(QObject):
    def __init__(self, react, parent: QObject):
        super().__init__(parent)
        self._react = react

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.WindowActivate:
            self._react()
        return False


def _paint_mask(window, ready, path) -> None:
    from semedit_gui.window import actions

    actions.paint_hair_mask(window, ready, path)
