"""Nothing on screen outlives what it was about (issue #19, screenshots 13, 44-57, 60, 90):
the red message bar goes when the document changes or the failed action later works (its
text stays in the message list), and the panels' progress goes back to the document's own
state after a run that failed or never started."""

from __future__ import annotations

import pytest

from core.errors import InvalidInputError
from tests.gui.test_editor_workflow import finish, make_window, open_photo, photo  # noqa: F401

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def failing(text: str):
    def work(_models, _task):
        raise InvalidInputError(text)
    return work


def test_the_error_bar_goes_with_its_document_and_stays_in_the_list(
        qtbot, tmp_path, photo):  # noqa: F811
    window = make_window(qtbot, tmp_path)
    bar = window.message_bar
    open_photo(qtbot, window, photo)
    window.show_message("No face was found, so chunks cannot be placed automatically.",
                        error=True)
    assert bar.isVisible()
    open_photo(qtbot, window, photo)  # the next photo: the old complaint goes
    assert not bar.isVisible() and bar.text() == ""

    window.show_message("Finding the hair in astronaut.png needs Segment Anything.", error=True)
    assert window.documents.close_document()  # back to the welcome page
    assert window.session is None and not bar.isVisible()
    texts = [m.text for m in window.messages.log.entries]
    assert "No face was found, so chunks cannot be placed automatically." in texts
    assert "Finding the hair in astronaut.png needs Segment Anything." in texts


def test_an_error_shown_while_the_next_document_opens_stays(qtbot, tmp_path, photo):  # noqa: F811
    window = make_window(qtbot, tmp_path)
    window.documents.session_changed.connect(
        lambda session: session is not None and window.show_message("About the new one.",
                                                                    error=True))
    open_photo(qtbot, window, photo)
    assert window.message_bar.text() == "About the new one."


def test_a_failure_goes_when_the_same_kind_of_job_works(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    bar, jobs = window.message_bar, window.jobs
    finish(qtbot, jobs.submit("auto_chunks", "Finding face chunks",
                              failing("No face was found, so chunks cannot be placed.")))
    assert bar.text() == "No face was found, so chunks cannot be placed."
    finish(qtbot, jobs.submit("export", "Exporting", lambda _m, _t: "written"))
    assert bar.isVisible()  # another kind of job says nothing about it
    finish(qtbot, jobs.submit("auto_chunks", "Finding face chunks", lambda _m, _t: {}))
    assert not bar.isVisible()

    # an error that is not a job's failure stays until dismissed or the document changes
    window.show_message("Could not save the preferences.", error=True)
    finish(qtbot, jobs.submit("auto_chunks", "Finding face chunks", lambda _m, _t: {}))
    assert bar.text() == "Could not save the preferences."
