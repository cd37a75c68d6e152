"""The Directions dialog: the current generator's direction library, grouped by where each
came from, with import (by file dialog or drag and drop, with the CLI's options), fitting
the supervised directions (progress, time left, stop and resume), rename, describe, delete,
export, and the published direction packs. Every action is a `DirectionsController` call."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from semedit_gui.controllers.directions import DirectionsController, ImportOptions, Library

IMPORT_FILTER = "Direction files (*.npy *.npz *.pt *.pth *.json);;All files (*)"
_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SOURCE_TITLES = {"supervised": "Fitted to face measurements", "imported": "Imported",
                 "user": "Custom", "ganspace": "GANSpace components (unnamed)"}
SOURCE_ORDER = ("supervised", "pack", "imported", "user", "ganspace")
PACK_ROWS_SHOWN = 6  # the packs table is this many rows high (more scroll)


def fit_columns(tree: QTreeWidget) -> None:
    """Every column as wide as its widest entry; the last one takes the rest of the width."""
    header = tree.header()
    for column in range(tree.columnCount() - 1):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)


class DirectionsDialog(QDialog):
    """Non-modal: fitting and downloads go on while the user edits."""

    def __init__(self, controller: DirectionsController, generator_name: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Directions" + (f" — {generator_name}" if generator_name else ""))
        self.setAcceptDrops(True)
        self.ask_text = lambda title, label, text: QInputDialog.getText(
            self, title, label, QLineEdit.EchoMode.Normal, text)
        self.ask_import_path = lambda: QFileDialog.getOpenFileName(
            self, "Import a direction file", "", IMPORT_FILTER)[0]
        self.ask_export_path = lambda name: QFileDialog.getSaveFileName(
            self, "Export a direction", f"{name}.npz", "SemEdit direction (*.npz)")[0]

        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["Name", "Id", "Space", "Layers", "Description"])
        fit_columns(self.tree)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.rename_button = QPushButton("Rename…", self)
        self.rename_button.clicked.connect(self._rename)
        self.describe_button = QPushButton("Describe…", self)
        self.describe_button.clicked.connect(self._describe)
        self.delete_button = QPushButton("Delete", self)
        self.delete_button.clicked.connect(self._delete)
        self.export_button = QPushButton("Export…", self)
        self.export_button.clicked.connect(self._export)
        row = QHBoxLayout()
        for button in (self.rename_button, self.describe_button, self.delete_button,
                       self.export_button):
            row.addWidget(button)
        row.addStretch(1)

        # import, with the CLI's options
        self.name_edit = QLineEdit(self)
        self.name_edit.setPlaceholderText("from the file's name")
        self.layers_edit = QLineEdit(self)
        self.layers_edit.setPlaceholderText("all, or A-B (ws rows A to B-1)")
        self.scale_spin = QDoubleSpinBox(self)
        self.scale_spin.setRange(0.0, 1000.0)
        self.scale_spin.setDecimals(4)
        self.scale_spin.setSpecialValueText("from the generator")
        self.replace_box = QCheckBox("Replace an imported direction of the same name", self)
        self.import_button = QPushButton("Import file…", self)
        self.import_button.clicked.connect(self._import_by_dialog)
        import_box = QGroupBox("Import (or drop files here)", self)
        form = QFormLayout(import_box)
        form.addRow("Name", self.name_edit)
        form.addRow("Layers", self.layers_edit)
        form.addRow("Scale", self.scale_spin)
        form.addRow(self.replace_box)
        form.addRow(self.import_button)

        # supervised fitting
        self.samples_spin = QSpinBox(self)
        self.samples_spin.setRange(10, 100_000)
        self.samples_spin.setValue(1000)
        self.hair_box = QCheckBox("Also hair volume and length (needs Segment Anything)", self)
        self.compute_button = QPushButton("Compute", self)
        self.compute_button.clicked.connect(
            lambda: controller.compute_supervised(self.samples_spin.value(),
                                                  hair=self.hair_box.isChecked()))
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.clicked.connect(controller.stop)
        self.resume_button = QPushButton("Resume", self)
        self.resume_button.clicked.connect(controller.resume)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setRange(0, 1000)
        self.progress_label = QLabel("", self)
        fit_box = QGroupBox("Named directions from face measurements", self)
        fit = QFormLayout(fit_box)
        fit.addRow(QLabel("Generates faces, measures head turn, head tilt, mouth and eyes on "
                          "each, and fits one direction per measurement.", self))
        fit.addRow("Faces", self.samples_spin)
        fit.addRow(self.hair_box)
        buttons = QHBoxLayout()
        for button in (self.compute_button, self.stop_button, self.resume_button):
            buttons.addWidget(button)
        fit.addRow(buttons)
        fit.addRow(self.progress_bar)
        fit.addRow(self.progress_label)

        # packs
        self.packs_tree = QTreeWidget(self)
        self.packs_tree.setHeaderLabels(["Pack", "Licence", "Made for", "State"])
        self.packs_tree.setRootIsDecorated(False)  # a flat list: no room kept for arrows
        fit_columns(self.packs_tree)
        self.packs_tree.itemSelectionChanged.connect(self._update_buttons)
        self.download_button = QPushButton("Download and install", self)
        self.download_button.clicked.connect(self._download_pack)
        self.pack_note = QLabel("", self)
        self.pack_note.setWordWrap(True)
        packs_box = QGroupBox("Published direction packs", self)
        packs = QVBoxLayout(packs_box)
        packs.addWidget(self.packs_tree)
        packs.addWidget(self.pack_note)
        packs.addWidget(self.download_button)

        self.message_label = QLabel("", self)
        self.message_label.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.rejected.connect(self.reject)  # non-modal: closing hides it
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 2)
        layout.addLayout(row)
        side = QHBoxLayout()
        side.addWidget(import_box)
        side.addWidget(fit_box)
        layout.addLayout(side)
        layout.addWidget(packs_box, 1)
        layout.addWidget(self.message_label)
        layout.addWidget(self.buttons)

        controller.library_changed.connect(self.show_library)
        controller.progress.connect(self._on_progress)
        # bound methods, not lambdas: Qt drops these connections when the dialog goes
        controller.running_changed.connect(self._on_running_changed)
        controller.message.connect(self._on_message)
        if controller.library is not None:
            self.show_library(controller.library)
        self._update_buttons()

    # ----------------------------------------------------------------- showing

    def show_library(self, library: Library) -> None:
        selected = self.selected_id()
        self.tree.clear()
        rank = {s: i for i, s in enumerate(SOURCE_ORDER)}
        groups: dict[str, QTreeWidgetItem] = {}
        for d in sorted(library.directions, key=lambda d: (rank.get(d.source, 9), d.group)):
            heading = d.group or SOURCE_TITLES.get(d.source, d.source.title())
            parent = groups.get(heading)
            if parent is None:
                parent = groups[heading] = QTreeWidgetItem(self.tree, [heading])
                parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
                parent.setExpanded(d.source != "ganspace")
            layers = f"{d.layers[0]}-{d.layers[1]}" if d.layers else "all"
            item = QTreeWidgetItem(parent, [d.shown_name, d.name, d.space.upper(),
                                            layers if d.space == "w" else "",
                                            d.description])
            item.setToolTip(4, d.description)
            item.setData(0, _ID_ROLE, d.name)
            if d.name == selected:
                item.setSelected(True)
        self.packs_tree.clear()
        for offer in library.packs:
            pack = offer.pack
            state = ("installed" if offer.installed else "downloaded" if offer.downloaded
                     else "not downloaded")
            if offer.refusal:
                state = "for another generator"
            item = QTreeWidgetItem(self.packs_tree, [pack.title, pack.licence,
                                                     pack.generator, state])
            item.setToolTip(0, f"{pack.description}\n{pack.source}")
            item.setData(0, _ID_ROLE, pack.id)
        self._size_packs_table()
        self.hair_box.setEnabled(library.sam_installed)
        if not library.sam_installed:
            self.hair_box.setChecked(False)
        self._update_buttons()

    def _size_packs_table(self) -> None:
        """High enough for the packs (up to PACK_ROWS_SHOWN rows) with the header."""
        tree = self.packs_tree
        rows = min(max(tree.topLevelItemCount(), 1), PACK_ROWS_SHOWN)
        row_height = tree.sizeHintForRow(0) if tree.topLevelItemCount() else \
            tree.fontMetrics().height() + 4
        frame = 2 * tree.frameWidth()
        tree.setMinimumHeight(tree.header().sizeHint().height() + rows * row_height + frame)

    def selected_id(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, _ID_ROLE) if items else None

    def select(self, direction_id: str) -> None:
        self.tree.clearSelection()
        for item in self._items():
            if item.data(0, _ID_ROLE) == direction_id:
                item.setSelected(True)

    def _items(self) -> list[QTreeWidgetItem]:
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            out += [top.child(j) for j in range(top.childCount())]
        return out

    def selected_offer(self):
        items = self.packs_tree.selectedItems()
        library = self.controller.library
        if not items or library is None:
            return None
        pack_id = items[0].data(0, _ID_ROLE)
        return next((o for o in library.packs if o.pack.id == pack_id), None)

    def _update_buttons(self) -> None:
        library = self.controller.library
        chosen = next((d for d in (library.directions if library else [])
                       if d.name == self.selected_id()), None)
        running = self.controller.running
        for button in (self.rename_button, self.describe_button, self.export_button):
            button.setEnabled(chosen is not None)
        self.delete_button.setEnabled(chosen is not None and chosen.source != "ganspace")
        self.compute_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(self.controller.can_resume)
        offer = self.selected_offer()
        self.download_button.setEnabled(offer is not None and offer.refusal is None
                                        and not running)
        if offer is None:
            self.pack_note.setText("")
        else:
            size = offer.pack.size / 1e6
            self.pack_note.setText(offer.refusal or f"{offer.pack.description} "
                                   f"({size:.1f} MB, {offer.pack.licence}, {offer.pack.source})")

    def _on_running_changed(self, _running: bool) -> None:
        self._update_buttons()

    def _on_progress(self, fraction: float, text: str) -> None:
        self.progress_bar.setValue(round(fraction * 1000))
        self.progress_label.setText(text)

    def _on_message(self, text: str, is_error: bool) -> None:
        self.message_label.setText(text)
        self.message_label.setStyleSheet("color: #c62828;" if is_error else "")
        self._update_buttons()

    # ----------------------------------------------------------------- actions

    def import_options(self) -> ImportOptions | None:
        """The options typed in, or None (with the reason shown) when the layers are not A-B."""
        text = self.layers_edit.text().strip()
        layers = None
        if text and text.lower() != "all":
            start, sep, end = text.partition("-")
            try:
                layers = (int(start), int(end))
            except ValueError:
                layers = None
            if not sep or layers is None or not 0 <= layers[0] < layers[1]:
                self._on_message(f"{text!r} is not a layer range A-B with A < B.", True)
                return None
        scale = self.scale_spin.value() or None
        return ImportOptions(self.name_edit.text().strip() or None, layers, scale,
                             self.replace_box.isChecked())

    def import_paths(self, paths: list[Path]) -> None:
        options = self.import_options()
        if options is None:
            return
        for path in paths:
            self.controller.import_file(path, options)

    def _import_by_dialog(self) -> None:
        path = self.ask_import_path()
        if path:
            self.import_paths([Path(path)])

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    def _rename(self) -> None:
        name = self.selected_id()
        if name is None:
            return
        current = next((d.shown_name for d in self.controller.library.directions
                        if d.name == name), name)
        title, ok = self.ask_text("Rename direction", f"Name shown for {name}:", current)
        if ok:
            self.controller.rename(name, title)

    def _describe(self) -> None:
        name = self.selected_id()
        if name is None:
            return
        current = next((d.description for d in self.controller.library.directions
                        if d.name == name), "")
        text, ok = self.ask_text("Describe direction", f"Description of {name}:", current)
        if ok:
            self.controller.describe(name, text)

    def _delete(self) -> None:
        name = self.selected_id()
        if name is not None:
            self.controller.remove(name)

    def _export(self) -> None:
        name = self.selected_id()
        if name is None:
            return
        path = self.ask_export_path(name)
        if path:
            self.controller.export(name, path)

    def _download_pack(self) -> None:
        offer = self.selected_offer()
        if offer is not None and offer.refusal is None:
            self.controller.download_pack(offer.pack.id)
