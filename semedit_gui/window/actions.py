"""The main window's actions, menus and toolbars; each entry is one call into a
controller or a view."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QToolBar, QWidget

from core.segment.brush import MAX_BRUSH_SIZE
from semedit_gui.controllers.photo_view import PhotoViewController
from semedit_gui.window.folders import remember_folder, start_folder
from semedit_gui.window.recipe_actions import apply_recipe_to_photos, save_edits_as_recipe
from semedit_gui.window.shortcuts import ShortcutsFirst

TOOLS = (("brush", "Brush", "P"), ("eraser", "Eraser", "E"), ("fill", "Fill", "G"),
         ("sam", "Select (SAM)", "S"), ("pan", "Pan", "H"))


class WindowActions:
    """Every QAction of the window, by name (`actions.save`, `actions.tools["sam"]`)."""

    def __init__(self, window):
        w, docs, canvas = window, window.documents, window.canvas
        std = QKeySequence.StandardKey
        def a(text, slot, key=None, **options) -> QAction:
            return _action(w, text, slot, key, **options)

        self.open = a("&Open…", w.choose_and_open, std.Open,
                      tip="Open a photo or a .semedit project")
        self.save = a("&Save", lambda: docs.save(), std.Save)
        self.save_as = a("Save &As…", lambda: docs.save_as(), std.SaveAs)
        self.export = a("&Export Image…", lambda: export_image(w), "Ctrl+E")
        self.export_masks = a("Export &Masks…", lambda: export_masks(w))
        self.save_recipe = a("Save Edits as &Recipe…", lambda: save_edits_as_recipe(w),
                             tip="This project's inversion settings and edits, to make "
                             "on other photos")
        self.apply_recipe = a("Apply Recipe to &Photos…", lambda: apply_recipe_to_photos(w),
                              tip="Make a recipe's edits on many photos")
        self.close = a("&Close Project", docs.close_document, std.Close)
        self.quit = a("&Quit", w.close, std.Quit)
        self.undo = a("&Undo", w.undo, std.Undo)
        self.redo = a("&Redo", w.redo, "Ctrl+Shift+Z")
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.preferences = a("&Preferences…", w.open_preferences, std.Preferences)
        self.models = a("&Model Manager…", w.models.open_manager)
        self.directions = a("&Directions…", lambda: open_directions(w),
                            tip="Name, compute, import and download edit directions")
        self.choose_face = a("Choose &Face…", lambda: choose_face(w),
                             tip="Edit another face of the photo, the whole image, or a "
                             "square you place")
        self.auto_chunks = a("Auto &Chunks", w.selection.auto_chunks, "Ctrl+Shift+A",
                             tip="Face, eyes, mouth, hair and background chunks from the face")
        self.zoom_in = a("Zoom &In", lambda: canvas.zoom_in(), std.ZoomIn)
        self.zoom_out = a("Zoom &Out", lambda: canvas.zoom_out(), std.ZoomOut)
        self.zoom_fit = a("&Fit", lambda: canvas.zoom_to_fit(), "Ctrl+0")
        self.zoom_actual = a("&100%", lambda: canvas.zoom_actual(), "Ctrl+1")
        self.messages = a("&Messages…", lambda: w.messages.open_list(), "Ctrl+Shift+M",
                          tip="Every message of this session, in full")
        self.before_after = a("&Before / After", canvas.set_show_before, "B", toggled=True,
                              tip="Show the photo before editing")
        self.split = a("&Split View", lambda on: canvas.set_split(0.5 if on else None),
                       "Ctrl+\\", toggled=True,
                       tip="Before on the left, after on the right; drag the divider")
        self.difference = a("&Differences", lambda on: w.preview.set_mode(
            "difference" if on else "edited"), "D", toggled=True,
            tip="A heat map of what the edits changed")
        self.whole_photo = PhotoViewController(w.jobs, w.documents, force_fp32=lambda: (
            w.settings.render_force_fp32), parent=w)  # what Whole Photo shows
        self.whole_photo.view_changed.connect(canvas.show_photo_view)
        self.whole_photo.message.connect(w.show_message)
        self.photo_view = a("&Whole Photo", lambda on: toggle_photo_view(w, on), "W",
                            toggled=True,
                            tip="The whole photo as Export writes it, the edit pasted back")
        # One view mode at a time (or none): choosing one leaves the one before.
        self.view_modes = QActionGroup(w)
        self.view_modes.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        for action in (self.before_after, self.split, self.difference, self.photo_view):
            self.view_modes.addAction(action)
        self.overlays = a("Chunk &Overlays", canvas.set_overlays_visible, "O", checkable=True)
        self.overlays.setChecked(True)
        self.about = a("&About SemEdit", lambda: show_about(w))
        self.tutorial = a("&Tutorial", lambda: show_tutorial(w), std.HelpContents,
                          tip="The bundled step-by-step tutorial (works offline)")
        self.shortcuts = a("&Keyboard Shortcuts", lambda: show_shortcuts(w), "Ctrl+/")
        self.smaller_brush = a("Smaller Brush", canvas.shrink_brush, "[")
        self.larger_brush = a("Larger Brush", canvas.grow_brush, "]")
        for action in (self.smaller_brush, self.larger_brush):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self._canvas, self._window = canvas, window
        self.tool_group = QActionGroup(w)
        self.tools: dict[str, QAction] = {}
        for name, text, key in TOOLS:
            action = a(text, lambda _=False, n=name: w.set_tool(n), key, checkable=True,
                       tip=canvas.tools[name].tip)
            self.tool_group.addAction(action)
            self.tools[name] = action
        self.tools["brush"].setChecked(True)
        hair = w.hair  # its images are not the document's: say so, hide its chunk outlines
        hair.running_changed.connect(lambda running: show_hair_on_canvas(
            w, running or hair.outcome is not None))
        hair.outcome_changed.connect(lambda outcome: show_hair_on_canvas(
            w, hair.running or outcome is not None))
        # The brush keeps its size relative to the image (32 px was meant for 1024²).
        self._brush_resolution = 1024
        docs.session_changed.connect(lambda session: session is not None
                                     and self.fit_brush(session.doc.resolution))
        # Docks that do not apply before a photo is open take no space meanwhile.
        self._docks = list(window.docks.values())
        self._docks_closed: set = set()  # the ones the user closed, kept closed
        self._build_chunk_and_inversion_actions(window, a)
        self.shortcuts_first = ShortcutsFirst(w)  # Ctrl+E exports from a text field too
        self.document_actions = (self.save, self.save_as, self.export, self.export_masks,
                                 self.save_recipe, self.close, self.auto_chunks,
                                 self.choose_face, self.zoom_in, self.zoom_out, self.zoom_fit,
                                 self.zoom_actual, self.before_after, self.split,
                                 self.difference, self.photo_view, self.overlays,
                                 self.smaller_brush, self.larger_brush,
                                 *self.tools.values())
        self.brush_bar = None  # made with the toolbars (build_menus_and_toolbars)

    def _build_chunk_and_inversion_actions(self, window, a) -> None:
        """Menu entries (with shortcuts) for the Chunks panel's buttons and the Inversion
        panel's Run, Stop, Continue and Quick, enabled exactly when those are."""
        panel = window.chunks_panel
        self.chunk_actions = []
        for text, source, key in (("&New Chunk", panel.add_action, "Ctrl+Shift+N"),
                                  ("&Duplicate Chunk", panel.duplicate_action, "Ctrl+J"),
                                  ("De&lete Chunk", panel.delete_action, "Shift+Del"),
                                  ("Move Chunk &Up", panel.move_up_action, "Ctrl+]"),
                                  ("Move Chunk Do&wn", panel.move_down_action, "Ctrl+[")):
            action = a(text, lambda _=False, s=source: s.trigger(), key, tip=source.toolTip())
            follow_enabled(action, source)
            self.chunk_actions.append(action)
        inversion = window.inversion_panel
        self.inversion_actions = []
        for text, button, key, tip in (
                ("&Run Inversion", inversion.run_button, "Ctrl+R",
                 "Optimise the chunks' codes (Refine when it starts from the encoder's)"),
                ("&Stop Inversion", inversion.stop_button, "Ctrl+.",
                 "Stop after the current step, keeping the result so far"),
                ("&Continue Inversion", inversion.continue_button, "Ctrl+Shift+R",
                 "Optimise the current codes for more steps"),
                ("&Quick Reconstruction", inversion.quick_button, None,
                 "The encoder's reconstruction at once (needs the e4e encoder)")):
            action = a(text, lambda _=False, b=button: b.click(), key, tip=tip)
            follow_enabled(action, button)
            self.inversion_actions.append(action)

    def fit_brush(self, resolution: int) -> None:
        """Scale the brush with the image: the same share of a 64² image as of a 1024² one."""
        canvas, old = self._canvas, self._brush_resolution
        if resolution != old:
            size = min(max(canvas.brush.size * resolution / old, 1.0), MAX_BRUSH_SIZE)
            canvas.set_brush(replace(canvas.brush, size=float(round(size))))
            self._brush_resolution = resolution

    def set_has_document(self, has: bool) -> None:
        """Commands that need a document are off on the welcome page, and the brush bar
        and the last render time say nothing there."""
        for action in self.document_actions:
            action.setEnabled(has)
        if self.brush_bar is not None:
            self.brush_bar.set_document_open(has)
        if not has:
            self._window.render_label.setText("")
            for action in self.view_modes.actions():
                action.setChecked(False)
        if not has and any(not dock.isHidden() for dock in self._docks):
            self._docks_closed = {dock for dock in self._docks if dock.isHidden()}
        for dock in self._docks:
            dock.setVisible(has and dock not in self._docks_closed)
        self.photo_view.setChecked(False)

    def show_history(self, history) -> None:
        """Undo / Redo enabled and named after the steps they would undo and redo."""
        self.undo.setEnabled(bool(history and history.can_undo))
        self.redo.setEnabled(bool(history and history.can_redo))
        labels = history.labels if history is not None else []
        self.undo.setText(f"&Undo {labels[history.index - 1]}"
                          if history is not None and history.can_undo else "&Undo")
        self.redo.setText(f"&Redo {labels[history.index]}"
                          if history is not None and history.can_redo else "&Redo")


def _action(window, text: str, slot, shortcut=None, *, checkable: bool = False,
            toggled: bool = False, tip: str = "") -> QAction:
    """`toggled`: checkable, and `slot` also hears being switched off by its group."""
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setCheckable(checkable or toggled)
    if tip:
        action.setStatusTip(tip)
        action.setToolTip(tip)
    (action.toggled if toggled else action.triggered).connect(slot)
    return action


def build_menus_and_toolbars(window, actions: WindowActions, sam_actions, docks) -> None:
    """The menu bar, the tools toolbar and the brush bar of `window`."""
    from semedit_gui.brush_bar import BrushBar

    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(actions.open)
    window.recent_menu = file_menu.addMenu("Open &Recent")
    window.recent_menu.aboutToShow.connect(lambda: fill_recent_menu(window))
    file_menu.addSeparator()
    _add(file_menu, actions.save, actions.save_as, actions.export, actions.export_masks,
         None, actions.save_recipe, actions.apply_recipe, None,
         actions.close, None, actions.quit)
    _add(bar.addMenu("&Edit"), actions.undo, actions.redo, None, actions.choose_face,
         actions.auto_chunks,
         *sam_actions, None, actions.directions, actions.preferences)
    view_menu = bar.addMenu("&View")
    _add(view_menu, actions.zoom_in, actions.zoom_out, actions.zoom_fit, actions.zoom_actual,
         None, actions.before_after, actions.split, actions.difference, actions.photo_view,
         actions.overlays, None, *(dock.toggleViewAction() for dock in docks), None,
         actions.messages)
    _add(bar.addMenu("&Chunk"), *actions.chunk_actions)
    _add(bar.addMenu("&Inversion"), *actions.inversion_actions)
    _add(bar.addMenu("&Tools"), *actions.tools.values(), actions.smaller_brush,
         actions.larger_brush)
    _add(bar.addMenu("&Models"), actions.models, actions.directions)  # packs are there
    _add(bar.addMenu("&Help"), actions.tutorial, actions.shortcuts, actions.about)

    tools = QToolBar("Tools", window)
    tools.setObjectName("toolsToolbar")
    _add(tools, *actions.tools.values(), None, actions.auto_chunks, *sam_actions[:2], None,
         actions.before_after, actions.split, actions.difference, actions.photo_view)
    window.addToolBar(tools)
    actions.brush_bar = BrushBar(window.canvas, window)
    window.addToolBar(actions.brush_bar)
    restore_layout(window)


def restore_layout(window) -> None:
    """The window's size, place, docks and toolbars as the user left them."""
    from PySide6.QtCore import QByteArray

    settings = window.settings
    if settings.window_geometry:
        window.restoreGeometry(QByteArray.fromBase64(settings.window_geometry.encode()))
    if settings.window_state:
        window.dock_layout.restore(settings.window_state)  # not one of an older version


def save_layout(window) -> None:
    """Remember the layout for the next start (the docks only while a photo is open:
    before that they are hidden on purpose)."""
    settings = window.settings
    settings.window_geometry = bytes(window.saveGeometry().toBase64()).decode()
    if window.session is not None:
        settings.window_state = window.dock_layout.save()
    window._save_settings()


class _EnabledFollower(QObject):
    """Keeps an action enabled exactly when a widget is (Qt has no signal for that)."""

    def __init__(self, action: QAction, widget: QWidget):
        super().__init__(action)
        self._action = action
        widget.installEventFilter(self)
        action.setEnabled(widget.isEnabled())

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.EnabledChange:
            self._action.setEnabled(watched.isEnabled())
        return False


def follow_enabled(action: QAction, source: QAction | QWidget) -> None:
    """`action` is enabled whenever `source` (another action, or a button) is."""
    if isinstance(source, QAction):
        source.changed.connect(lambda: action.setEnabled(source.isEnabled()))
        action.setEnabled(source.isEnabled())
    else:
        _EnabledFollower(action, source)


def _add(menu_or_bar, *actions) -> None:
    """Add actions in order; None is a separator."""
    for action in actions:
        if action is None:
            menu_or_bar.addSeparator()
        else:
            menu_or_bar.addAction(action)


# ===================================================================== handlers with a dialog

def export_image(window) -> None:
    session = window.session
    if session is None:
        return
    from semedit_gui.dialogs import ExportDialog

    doc = session.doc
    dialog = ExportDialog(window, has_full_photo=doc.photo_bytes is not None,
                          default_path=window.documents.default_export_path(),
                          source_photo=session.photo_path,
                          last_format=window.settings.export_format or None,
                          photo_size=tuple(doc.transform["photo_size"]) if doc.transform
                          else None, crop_size=doc.resolution)
    if dialog.exec():
        options = dialog.options()
        window.settings.export_format = options.format  # the next export starts on it
        window._save_settings()
        window.documents.export_to(options)
    dialog.deleteLater()


def face_needed(window, photo_path: Path) -> None:
    """Opening found no face: the whole image, or a square placed by hand."""
    from semedit_gui.dialogs.face_dialog import ask_face

    ask_face(window, photo_path, (), lambda choice: window.documents.open_photo(
        photo_path, **choice.open_options()), no_face=True)


def choose_face(window) -> None:
    """Another face of the open photo, the whole image, or a square placed by hand."""
    from semedit_gui.dialogs.face_dialog import ask_face

    session = window.session
    if session is None or session.photo_path is None:
        window.show_message("Choose Face works on a photo opened in this session; open "
                            "the photo again to choose another face.")
        return
    ask_face(window, session.photo_path, session.face_boxes, lambda choice:
             window.documents.choose_face(**choice.open_options()),
             no_face=not session.face_boxes)


def paint_hair_mask(window, ready, photo_path: Path) -> None:
    """The hair photo, aligned, in a canvas of its own: paint its hair for the transfer."""
    from PySide6.QtWidgets import QDialog

    from semedit_gui.dialogs.hair_mask_dialog import HairMaskDialog

    dialog = HairMaskDialog(ready.document, ready.hair, title=photo_path.name,
                            notes=ready.notes, parent=window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.hair_mask_dialog = dialog

    def finished(result: int) -> None:
        window.hair_mask_dialog = None
        if result == QDialog.DialogCode.Accepted and window.hair_panel.hair_photo == photo_path:
            window.hair_panel.set_hair_mask(dialog.mask())
            window.show_message(f"The hair of {photo_path.name} you painted will be used.")

    dialog.finished.connect(finished)
    dialog.open()


def open_directions(window) -> None:
    """The Directions dialog of the current generator (one, reused; it reads the library
    again each time it is shown)."""
    from semedit_gui.dialogs.directions_dialog import DirectionsDialog

    if window.directions_dialog is None:
        name = Path(str(window.settings.model_choice().generator or "default generator")).name
        window.directions_dialog = DirectionsDialog(window.directions, name, parent=window)
    window.directions.refresh()
    window.directions_dialog.show()
    window.directions_dialog.raise_()


HAIR_ON_CANVAS = ("The canvas shows the hair transfer, not your project (its chunk outlines "
                  "are hidden): blend with the slider, or open it as a new project.")


def show_hair_on_canvas(window, showing: bool) -> None:
    """While a transfer runs or its result is shown, the canvas shows an image that is not
    the document: no chunk outlines on it, and a status line that says what it is; then
    back to the document."""
    canvas, session, bar = window.canvas, window.session, window.statusBar()
    canvas.set_overlays_visible(not showing and window.commands.overlays.isChecked())
    if showing:
        bar.showMessage(HAIR_ON_CANVAS)
        return
    if bar.currentMessage() == HAIR_ON_CANVAS:
        bar.clearMessage()
    if session is not None:
        last = window.preview.last_result
        canvas.set_image(last.image if session.inverted and last is not None
                         else session.doc.aligned)


def export_masks(window) -> None:
    folder = QFileDialog.getExistingDirectory(window, "Export chunk masks to",
                                              str(start_folder(window, "masks")))
    if folder:
        remember_folder(window, "masks", folder)
        window.documents.export_masks_to(Path(folder))


def toggle_photo_view(window, on: bool) -> None:
    """Whole Photo: the edit pasted back into the photo as a full-photo export writes it
    (rendered on the GPU worker), or back to the aligned crop; unchecked again when the
    project holds no original photo (the controller says so)."""
    if not window.commands.whole_photo.set_active(on) and on:
        window.commands.photo_view.setChecked(False)


def fill_recent_menu(window) -> None:
    menu, recent = window.recent_menu, window.settings.recent_files
    menu.clear()
    for path in recent:
        action = menu.addAction(Path(path).name)
        action.setToolTip(path)
        action.triggered.connect(lambda _=False, p=path: window.documents.open_recent(p))
    if not recent:
        menu.addAction("(none)").setEnabled(False)


def show_about(window) -> None:
    from semedit_gui.dialogs.help_dialogs import about_text

    QMessageBox.about(window, "About SemEdit", about_text(window.settings))


def show_tutorial(window) -> None:
    from semedit_gui.dialogs.help_dialogs import TutorialDialog

    TutorialDialog.show_for(window)


def show_shortcuts(window) -> None:
    from semedit_gui.dialogs.help_dialogs import ShortcutsDialog

    dialog = ShortcutsDialog(window)
    dialog.exec()
    dialog.deleteLater()
