"""Help ▸ Tutorial (F1): the bundled tutorial (core/resources/help/tutorial.md) opens in a
non-modal dialog, offline, with its step headings as contents and every picture loaded
from the package data."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QTextDocument
from PySide6.QtWidgets import QLabel, QMainWindow, QPushButton

from semedit_gui.dialogs.help_dialogs import (
    TutorialDialog,
    headings,
    image_fragments,
    tutorial_path,
)
from tests.gui.test_editor_workflow import make_window

MARKDOWN = tutorial_path().read_text(encoding="utf-8")
PICTURES = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", MARKDOWN)
LINKS = re.findall(r"(?<!!)\[[^\]]*\]\(([^)]+)\)", MARKDOWN)
STEP_HEADINGS = re.findall(r"^## (.+)$", MARKDOWN, flags=re.MULTILINE)


@pytest.fixture
def dialog(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    window.resize(1200, 850)
    window.show()
    dialog = TutorialDialog.show_for(window)
    qtbot.waitExposed(dialog)
    yield dialog
    dialog.close()


def test_the_bundled_tutorial_has_seven_numbered_steps_and_its_pictures():
    numbered = [h for h in STEP_HEADINGS if re.match(r"\d+\. ", h)]
    assert [int(h.split(".")[0]) for h in numbered] == [1, 2, 3, 4, 5, 6, 7]
    assert "Hairstyle transfer" in STEP_HEADINGS
    folder = tutorial_path().parent
    assert len(PICTURES) == 5
    for name in PICTURES:
        assert "/" not in name and (folder / name).is_file(), name  # beside it, bundled
        image = QImage(str(folder / name))
        assert not image.isNull() and image.width() >= 600, name
        assert (folder / name).stat().st_size < 300_000, name  # the wheel stays small
    # Every picture in the folder is used (nothing ships for nothing).
    assert sorted(p.name for p in folder.glob("*.png")) == sorted(PICTURES)
    # Links work offline: none leads to the web or outside the bundled folder.
    for target in LINKS:
        assert "://" not in target and ".." not in target, target


def test_the_dialog_shows_the_step_headings_as_contents(dialog, qtbot):
    document = dialog.browser.document()
    assert [block.text() for block in headings(document)] == STEP_HEADINGS
    items = [dialog.contents.item(row).text() for row in range(dialog.contents.count())]
    assert items == STEP_HEADINGS
    assert "Auto Chunks" in document.toPlainText()
    assert not dialog.isModal()
    # Choosing a heading brings it to the top of the text.
    bar = dialog.browser.verticalScrollBar()
    assert bar.value() == 0 and bar.maximum() > 0
    dialog.contents.setCurrentRow(items.index("7. Export and save"))
    block = document.findBlock(dialog.contents.currentItem().data(Qt.ItemDataRole.UserRole))
    top = document.documentLayout().blockBoundingRect(block).top()
    assert bar.value() == min(int(top), bar.maximum()) and bar.value() > 0
    # Clicking the current heading again after scrolling away scrolls back to it.
    bar.setValue(0)
    dialog.contents.itemClicked.emit(dialog.contents.currentItem())
    assert bar.value() == min(int(top), bar.maximum())


def shown_widths(dialog) -> dict[str, int]:
    return {f.charFormat().toImageFormat().name(): round(f.charFormat().toImageFormat().width())
            for f in image_fragments(dialog.browser.document())}


def fitted_widths(dialog) -> dict[str, int]:
    """Each picture's own width, or the text's width where that is narrower."""
    text = dialog.browser.viewport().width() - 24
    return {name: min(QImage(str(tutorial_path().parent / name)).width(), text)
            for name in PICTURES}


def test_every_picture_loads_from_the_package_data_and_fits_the_text(dialog, qtbot):
    document = dialog.browser.document()
    fragments = list(image_fragments(document))
    assert [f.charFormat().toImageFormat().name() for f in fragments] == PICTURES
    for fragment in fragments:
        name = fragment.charFormat().toImageFormat().name()
        # The source is the bundled file, so names resolve beside it.
        url = dialog.browser.source().resolved(QUrl(name))
        assert url.toLocalFile() == str(tutorial_path().parent / name)
        bundled = QImage(url.toLocalFile())
        picture = document.resource(QTextDocument.ResourceType.ImageResource, QUrl(name))
        assert isinstance(picture, (QImage, QPixmap)) and not picture.isNull(), name
        shown = fragment.charFormat().toImageFormat()
        assert picture.width() == round(shown.width())  # scaled once, smoothly
        aspect = bundled.height() / bundled.width()
        assert abs(shown.height() - shown.width() * aspect) <= 1, name
    narrow = shown_widths(dialog)
    assert narrow == fitted_widths(dialog) and narrow["first-run.png"] < 1400
    # A wider dialog: the pictures grow with the text, never above their own size.
    dialog.resize(1800, dialog.height())
    qtbot.waitUntil(lambda: shown_widths(dialog) != narrow)
    assert shown_widths(dialog) == fitted_widths(dialog)
    own = {name: QImage(str(tutorial_path().parent / name)).width() for name in PICTURES}
    narrowest = min(own, key=own.get)
    assert shown_widths(dialog)[narrowest] == own[narrowest]  # at its own size, not above


def test_a_missing_tutorial_says_so(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SEMEDIT_RESOURCES", str(tmp_path))
    window = QMainWindow()
    qtbot.addWidget(window)
    dialog = TutorialDialog(window)
    assert "is missing from this installation of SemEdit" in dialog.browser.toPlainText()
    assert dialog.contents.count() == 0
    dialog.deleteLater()


def test_help_tutorial_and_f1_open_it_once_and_the_welcome_page_links_it(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    action = window.commands.tutorial
    assert action.shortcut() == QKeySequence(QKeySequence.StandardKey.HelpContents)
    help_menu = next(m.menu() for m in window.menuBar().actions() if m.text() == "&Help")
    assert help_menu.actions()[0] is action
    action.trigger()
    dialog = window.findChild(TutorialDialog)
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    action.trigger()  # a second F1 brings the same one forward
    assert window.findChildren(TutorialDialog) == [dialog]
    buttons = {b.text() for b in dialog.findChildren(QPushButton)}
    assert {"Keyboard Shortcuts", "About SemEdit", "Model Manager…"} <= buttons
    dialog.close()
    qtbot.waitUntil(lambda: window.findChild(TutorialDialog) is None)  # deleted on close

    (link,) = [label for label in window.welcome.findChildren(QLabel)
               if "Read the tutorial" in label.text()]
    link.linkActivated.emit("tutorial")
    dialog = window.findChild(TutorialDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.close()
    window.close_discarding()
