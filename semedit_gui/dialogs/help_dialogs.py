"""Help: the tutorial, the keyboard shortcuts sheet, and About with the models in use and
their licences.

The shortcuts and About are built from what the app has now (the window's actions, the
Preferences' model choice and the bundled manifest), so they cannot drift from it; the
tutorial is the bundled `core/resources/help/tutorial.md`, the file the README links to.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import (
    QAction,
    QImage,
    QKeySequence,
    QPixmap,
    QTextBlock,
    QTextCursor,
    QTextDocument,
    QTextFragment,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
)

import core
from core.errors import SemeditError
from core.resources import resource_path

MODEL_KINDS = (("generator", "Generator"), ("sam", "Segment Anything"),
               ("vgg", "Perceptual loss (VGG16)"))


def shortcut_rows(window) -> list[tuple[str, str]]:
    """(what, keys) for every action of the window with a shortcut, sorted by name."""
    rows = {}
    for action in window.findChildren(QAction):
        keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText)
                         for k in action.shortcuts() if not k.isEmpty())
        name = action.text().replace("&", "").rstrip("…").strip()
        if keys and name:
            rows[name] = keys
    return sorted(rows.items(), key=lambda row: row[0].lower())


class ShortcutsDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(480, 600)
        rows = shortcut_rows(window)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["Command", "Keys"])
        for row, (name, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        self.table.verticalHeader().hide()  # row numbers mean nothing here
        header = self.table.horizontalHeader()  # the command takes the room, keys fit
        header.setSectionResizeMode(0, header.ResizeMode.Stretch)
        header.setSectionResizeMode(1, header.ResizeMode.ResizeToContents)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        note = QLabel("While painting: Space held pans, the middle button pans, the wheel "
                      "zooms; [ and ] change the brush size.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.table, note, buttons):
            layout.addWidget(widget)


def about_model_lines(settings) -> list[tuple[str, str]]:
    """(kind's name, which file, its licence and whether it loads now) per model kind: the
    same answer (`core.models.in_use`) as the welcome page and the model manager."""
    from core.models.in_use import OWN_MODEL, models_in_use
    from core.models.validation import open_model_store

    try:
        store = open_model_store(settings.models_dir or None)
        in_use = models_in_use(settings.model_choice(), store)
    except SemeditError as error:
        return [(title, f"unknown ({error})") for _kind, title in MODEL_KINDS]
    lines = []
    for kind, title in MODEL_KINDS:
        model = in_use[kind]
        if model.asset_id in store.manifest.ids:
            asset = store.manifest.get(model.asset_id)
            what = f"{asset.id} (licence: {asset.licence})"
        elif model.origin == OWN_MODEL:
            what = f"your model '{model.name}' (its licence is the file's own)"
        elif model.chosen:
            what = f"your file {model.chosen} (its licence is the file's own)"
        else:
            what = "none"
        lines.append((title, f"{what} — {model.status}"))
    return lines


def about_text(settings) -> str:
    models = "".join(f"<li><b>{title}</b>: {what}</li>"
                     for title, what in about_model_lines(settings))
    return (f"<h3>SemEdit {core.__version__}</h3>"
            "<p>Semantic editing of portrait photos with StyleGAN2 (ChunkyGAN): each chunk "
            "of the face gets its own latent code, and edits stay in their chunk.</p>"
            f"<p>Models in use (Preferences and the Model Manager change them):</p><ul>"
            f"{models}</ul><p>The models are not part of SemEdit: each comes under its own "
            "licence, shown above; the NVIDIA FFHQ generator's licence is non-commercial."
            "</p>")


# ---------------------------------------------------------------------------- tutorial

TUTORIAL = ("help", "tutorial.md")


def tutorial_path() -> Path:
    """The bundled tutorial; its pictures sit beside it (core/resources/help/)."""
    return resource_path(*TUTORIAL)


def headings(document: QTextDocument, level: int = 2) -> Iterator[QTextBlock]:
    block = document.begin()
    while block.isValid():
        if block.blockFormat().headingLevel() == level:
            yield block
        block = block.next()


def image_fragments(document: QTextDocument) -> Iterator[QTextFragment]:
    block = document.begin()
    while block.isValid():
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            if fragment.charFormat().isImageFormat():
                yield fragment
            fragments += 1
        block = block.next()


class TutorialDialog(QDialog):
    """The tutorial beside the window (non-modal, so its steps can be followed), its step
    headings as contents, and buttons for the other help (all of it offline)."""

    def __init__(self, window, related: Sequence[QAction] = ()):
        super().__init__(window)
        self.setObjectName("tutorialDialog")
        self.setWindowTitle("SemEdit Tutorial")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.resize(980, 760)
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(True)
        self.browser.document().setUndoRedoEnabled(False)  # image widths are set below
        path = tutorial_path()
        if path.is_file():
            # A file source (not setMarkdown): its pictures resolve beside it.
            self.browser.setSource(QUrl.fromLocalFile(str(path)),
                                   QTextDocument.ResourceType.MarkdownResource)
        else:
            self.browser.setPlainText(f"The tutorial ({path}) is missing from this "
                                      "installation of SemEdit; reinstall it.")
        self.contents = QListWidget(self)
        for block in headings(self.browser.document()):
            item = QListWidgetItem(block.text())
            item.setData(Qt.ItemDataRole.UserRole, block.position())
            self.contents.addItem(item)
        self.contents.currentItemChanged.connect(self._go_to)
        self.contents.itemClicked.connect(self._go_to)  # the current one again
        self.contents.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.contents.setFixedWidth(self.contents.sizeHintForColumn(0)
                                    + 2 * self.contents.frameWidth() + 12)
        split = QSplitter(self)
        split.addWidget(self.contents)
        split.addWidget(self.browser)
        split.setStretchFactor(1, 1)
        row = QHBoxLayout()
        for action in related:
            button = QPushButton(action.text().replace("&", ""), self)
            button.setAutoDefault(False)  # Enter is not "open the shortcuts"
            button.clicked.connect(action.trigger)
            row.addWidget(button)
        row.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(row)
        self._image_width = 0
        self._originals: dict[str, QImage] = {}  # each picture as bundled

    @classmethod
    def show_for(cls, window) -> TutorialDialog:
        """The window's tutorial, brought to the front (one at a time)."""
        dialog = window.findChild(cls)
        if dialog is None:
            commands = getattr(window, "commands", None)
            related = [getattr(commands, name) for name in ("shortcuts", "about", "models")
                       if hasattr(commands, name)]
            dialog = cls(window, related)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _go_to(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        document = self.browser.document()
        block = document.findBlock(item.data(Qt.ItemDataRole.UserRole))
        top = document.documentLayout().blockBoundingRect(block).top()
        self.browser.verticalScrollBar().setValue(int(top))

    def fit_images(self) -> None:
        """Pictures no wider than the text (whole-window screenshots are 1400 px wide),
        scaled smoothly so their text stays legible."""
        width = max(200, self.browser.viewport().width() - 24)
        if width == self._image_width:
            return
        self._image_width = width
        document = self.browser.document()
        cursor = QTextCursor(document)
        for fragment in list(image_fragments(document)):
            image = fragment.charFormat().toImageFormat()
            url = QUrl(image.name())
            original = self._originals.get(image.name())
            if original is None:
                picture = document.resource(QTextDocument.ResourceType.ImageResource, url)
                if not isinstance(picture, (QImage, QPixmap)) or picture.isNull():
                    continue  # not found: Qt shows its broken-image mark (tests forbid it)
                original = self._originals[image.name()] = (
                    picture.toImage() if isinstance(picture, QPixmap) else picture)
            shown = original if original.width() <= width else original.scaledToWidth(
                width, Qt.TransformationMode.SmoothTransformation)
            # Keyed by the resolved address: that is where the document looks first.
            document.addResource(QTextDocument.ResourceType.ImageResource,
                                 document.baseUrl().resolved(url), shown)
            image.setWidth(shown.width())
            image.setHeight(shown.height())
            cursor.setPosition(fragment.position())
            cursor.setPosition(fragment.position() + fragment.length(),
                               QTextCursor.MoveMode.KeepAnchor)
            cursor.setCharFormat(image)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_images()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.fit_images()
