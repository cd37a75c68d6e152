"""Messages can be read at leisure: the log behind the status line (bounded, with levels
and unread counts), the message list (full text, newest first, Clear), the counter in
the status bar, the red bar's "All messages", and the status line that elides instead of
being cut at the window's edge."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import skimage.data
from PIL import Image
from PySide6.QtCore import Qt

from core.errors import SemeditError
from semedit_gui.controllers.messages import MessageLog
from semedit_gui.main_window import MainWindow
from semedit_gui.panels.messages_panel import EMPTY_TEXT, MessagesPanel
from semedit_gui.settings import AppSettings
from tests.gui.test_editor_workflow import finish, make_window, open_photo

LONG = ("Added 3 chunks: face, eyes, mouth. Segment Anything is not installed, so the face, "
        "eyes and mouth chunks follow the landmarks and there are no hair or background "
        "chunks; download sam-vit-b for better chunks. " * 2).strip()


class Clock:
    def __init__(self):
        self.now = datetime(2026, 1, 2, 9, 30, 0)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


# ===================================================================== the log alone

def test_log_keeps_time_text_and_level_and_is_bounded():
    log = MessageLog(limit=3, clock=Clock())
    added = []
    log.added.connect(added.append)
    for i in range(5):
        log.add(f"  message {i}\n", "error" if i == 3 else "info")
    assert [m.text for m in log.entries] == ["message 2", "message 3", "message 4"]
    assert [m.text for m in log.newest_first] == ["message 4", "message 3", "message 2"]
    assert [m.level for m in log.entries] == ["info", "error", "info"]
    assert log.entries[0].time == datetime(2026, 1, 2, 9, 30, 3)
    assert len(added) == 5 and len(log) == 3 and log.limit == 3
    assert log.unread == 3 and log.unread_errors == 1  # never more than it holds
    log.mark_read()
    assert log.unread == 0 and log.unread_errors == 0
    log.add("warned", "warning")
    assert log.unread == 1 and log.unread_errors == 0


def test_log_ignores_blank_text_and_rejects_unknown_levels():
    log = MessageLog()
    assert log.add("   ") is None and len(log) == 0
    with pytest.raises(SemeditError, match="one of info, warning, error"):
        log.add("text", "debug")
    with pytest.raises(SemeditError, match="at least one"):
        MessageLog(limit=0)
    log.add("one")
    log.clear()
    assert len(log) == 0 and log.unread == 0


def test_panel_shows_full_text_newest_first_and_clear_empties_the_log(qtbot):
    log = MessageLog(limit=2, clock=Clock())
    panel = MessagesPanel(log)
    qtbot.addWidget(panel)
    assert panel.view.toPlainText() == EMPTY_TEXT and not panel.clear_button.isEnabled()
    log.add("first <b>not bold</b> & kept")
    log.add(LONG, "error")
    text = panel.view.toPlainText()
    assert LONG in text and "first <b>not bold</b> & kept" in text  # escaped, whole
    assert text.index(LONG) < text.index("first")  # newest first
    assert "09:30:02" in text and "Error" in text and "Info" in text
    assert "2 messages" in panel.summary.text() and "newest 2" in panel.summary.text()
    log.add("third")
    assert "first" not in panel.view.toPlainText()  # the oldest went
    panel.clear_button.click()
    assert len(log) == 0 and panel.view.toPlainText() == EMPTY_TEXT


# ===================================================================== in the window

@pytest.fixture
def window(qtbot, tmp_path):
    window = MainWindow(AppSettings(autosave_seconds=0, models_dir=str(tmp_path / "m")),
                        settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


def test_show_message_records_every_message_and_the_counter_counts_them(window, qtbot):
    messages = window.messages
    window.show_message("Saved portrait.semedit.")
    window.show_message("Could not read wall.png: not an image.", error=True)
    assert [(m.text, m.level) for m in messages.log.entries] == [
        ("Saved portrait.semedit.", "info"), ("Could not read wall.png: not an image.", "error")]
    assert window.statusBar().currentMessage() == "Could not read wall.png: not an image."
    assert messages.counter.text() == "2 messages · 2 new"
    assert "color: #d9534f" in messages.counter.styleSheet()  # an unread error stands out
    # the red bar says there is more than the error it shows, and opens the list
    bar = window.message_bar
    assert bar.text() == "Could not read wall.png: not an image."
    assert bar.history_button.isVisible() and bar.history_button.text() == "All messages (2)"
    bar.history_button.click()
    dialog = messages.dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    assert messages.counter.text() == "2 messages" and messages.counter.styleSheet() == ""
    window.show_message("Exported edited.png.")  # arrives while the list is open: read
    assert messages.log.unread == 0
    listed = messages.panel.view.toPlainText()
    assert listed.index("Exported edited.png.") < listed.index("Saved portrait.semedit.")
    # View ▸ Messages… opens the same list, not a second one
    dialog.hide()
    window.commands.messages.trigger()
    assert messages.dialog is dialog and dialog.isVisible()
    assert window.commands.messages.shortcut().toString() == "Ctrl+Shift+M"
    # Clear empties it everywhere
    messages.panel.clear_button.click()
    assert len(messages.log) == 0 and messages.counter.text() == "No messages"
    assert not bar.history_button.isVisible()
    assert messages.panel.view.toPlainText() == EMPTY_TEXT


def test_a_kept_offer_stays_until_used_or_dismissed_and_later_errors_reach_the_list(window):
    bar, log = window.message_bar, window.messages.log
    used = []
    bar.show_action("This project needs the generator a.pkl.", "Locate generator…",
                    lambda: used.append(1), keep=True)
    window.show_message("The project was made with a different generator.", error=True)
    assert bar.keeping and bar.text() == "This project needs the generator a.pkl."
    assert log.newest_first[0].text == "The project was made with a different generator."
    assert bar.history_button.text() == "All messages (2)"
    bar.show_action("VGG is missing.", "Run with L2", lambda: None)  # a newer offer: shown
    assert bar.text() == "VGG is missing." and not bar.keeping
    window.show_message("Could not read wall.png.", error=True)  # replaces an ordinary one
    assert bar.text() == "Could not read wall.png."
    bar.show_action("Needs b.pkl.", "Locate generator…", lambda: used.append(1), keep=True)
    bar.hide()  # dismissed: the next error is shown again
    window.show_message("Could not save.", error=True)
    assert bar.text() == "Could not save." and not bar.keeping
    assert not used


def test_the_window_log_is_bounded_and_keeps_job_outcomes_not_job_starts(window):
    log = window.messages.log
    for i in range(log.limit + 5):
        window.show_message(f"message {i}")
    assert len(log) == log.limit == 200
    assert log.newest_first[0].text == "message 204" and log.entries[0].text == "message 5"
    log.clear()
    window.jobs.message.emit("Saving portrait.semedit…")  # a job runs: status line only
    window.jobs.message.emit("Inversion was stopped; nothing was changed.")
    assert [m.text for m in log.entries] == ["Inversion was stopped; nothing was changed."]
    # a message bar offer (Locate generator…) is recorded like every error it shows
    window.message_bar.show_action("The project's generator was not found.", "Locate…",
                                   lambda: None)
    assert log.newest_first[0].text == "The project's generator was not found."
    assert log.newest_first[0].level == "error"


def test_a_long_status_line_is_elided_and_the_list_has_it_whole(window, qtbot):
    window.resize(700, 500)
    window.show_message(LONG)
    line = window.messages.status_line
    qtbot.waitUntil(lambda: line.text().endswith("…"))
    shown = line.text()
    assert LONG.startswith(shown[:-1]) and len(shown) < len(LONG) / 2
    assert line.toolTip().startswith(LONG + "\n") and line.full_text() == LONG
    assert window.statusBar().currentMessage() == LONG
    # the line ends before the status bar's other widgets (it is not cut by them)
    right = line.geometry().right()
    others = [w for w in (window.device_label, window.messages.counter) if w.isVisible()]
    assert others and all(right < w.geometry().left() for w in others)
    assert line.fontMetrics().horizontalAdvance(shown) <= line.contentsRect().width()
    # wide enough, the whole line shows and needs no tooltip
    window.show_message("Short.")
    assert line.text() == "Short." and LONG not in line.toolTip()
    # a click on the line opens the list, which has the long message whole
    qtbot.mouseClick(line, Qt.MouseButton.LeftButton)
    assert window.messages.dialog.isVisible()
    assert LONG in window.messages.panel.view.toPlainText()


@pytest.mark.usefixtures("one_torch_thread")
def test_the_auto_chunks_explanation_is_in_the_log_in_full(qtbot, tmp_path):
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    window = make_window(qtbot, tmp_path)
    window.resize(900, 600)
    open_photo(qtbot, window, photo)
    finish(qtbot, window.selection.auto_chunks())
    newest = window.messages.log.newest_first[0]
    names = [c.name for c in window.session.doc.chunks]
    assert newest.text.startswith(f"Added {len(names)} chunks: {', '.join(names)}.")
    # without Segment Anything, the note that says why and what to download, to its end
    assert newest.text.endswith("download sam-vit-b for better chunks.")
    assert newest.level == "info"
    panel = window.messages.open_list().findChild(MessagesPanel)
    assert newest.text in panel.view.toPlainText()
    assert window.messages.status_line.text().endswith("…")  # too long for the line
    window.ask_unsaved_changes = lambda: "discard"
    window.close()
