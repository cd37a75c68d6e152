"""Nothing on screen outlives what it was about (issue #19, screenshots 13, 44-57, 60, 90):
the red message bar goes when the document changes or the failed action later works (its
text stays in the message list), and the panels' progress goes back to the document's own
state after a run that failed or never started."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QObject

from core.errors import InvalidInputError
from core.invert import InversionSettings
from semedit_gui.controllers import DirectionsController
from semedit_gui.panels import InversionPanel
from tests.gui.controller_fixtures import make_registry, stop_threads, wait_ended
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


# ----------------------------------------------------------------- the inversion panel


def summary_seconds(text: str) -> float:
    return float(text.rsplit(" steps in ", 1)[1].removesuffix(" s"))


def test_bar_summary_and_curve_tell_the_same_run(qtbot, tmp_path, photo):  # noqa: F811
    window = make_window(qtbot, tmp_path)
    window.ask_unsaved_changes = lambda: "discard"
    open_photo(qtbot, window, photo)
    session, panel, inversion = window.session, window.inversion_panel, window.inversion
    session.chunk_set.add(np.ones((32, 32), np.float32), name="face")
    finished = []
    inversion.finished.connect(lambda metrics, stopped: finished.append(metrics))
    progressed = []
    inversion.progress.connect(lambda *args: progressed.append(args))

    task = inversion.run(InversionSettings(steps=100_000), "l2", 0)
    qtbot.waitUntil(lambda: len(progressed) >= 3, timeout=60_000)
    inversion.stop()
    finish(qtbot, task)
    first, first_seconds = inversion.steps_done, finished[-1]["seconds"]
    more = inversion.run(InversionSettings(steps=5), "l2", 0, resume=True)
    finish(qtbot, more)

    total = first + 5
    run = finished[-1]  # the Continue's own figures, and the whole run's
    assert run["steps"] == 5 and run["total_steps"] == total == inversion.steps_done
    assert run["total_seconds"] == pytest.approx(first_seconds + run["seconds"], abs=2e-3)
    assert panel.progress.value() == panel.progress.maximum() == total  # "N / N steps"
    assert panel.metrics.text().startswith("Done: L2 ")
    assert f" {total} steps in " in panel.metrics.text()  # not the Continue's 5
    assert summary_seconds(panel.metrics.text()) == pytest.approx(run["total_seconds"], abs=0.06)
    assert panel.curve.points[-1][0] == total and panel.curve.label.startswith("total loss ")
    assert "reconstruction loss plus λ" in panel.curve.toolTip()  # why it is not the L2

    shown_curve = list(panel.curve.points)
    stored = session.doc.inversion["metrics"]
    assert stored["loss_curve"][-1][0] == total and stored["total_steps"] == total
    project = tmp_path / "run.semedit"
    finish(qtbot, window.documents.save_to(project))
    assert window.documents.close_document()
    open_photo(qtbot, window, photo)  # another document first: nothing of the run shows
    assert panel.progress.format() == "Not run yet" and panel.curve.points == []
    assert panel.metrics.text() == "" and inversion.steps_done == 0
    open_photo(qtbot, window, project)
    assert panel.progress.value() == total and panel.progress.format() == "%v steps done"
    assert f" {total} steps in " in panel.metrics.text()
    assert [s for s, _ in panel.curve.points] == [s for s, _ in shown_curve]
    assert [v for _, v in panel.curve.points] == pytest.approx([v for _, v in shown_curve],
                                                               rel=1e-5)

    # A Continue after reopening counts on from the saved run.
    again = inversion.run(InversionSettings(steps=2), "l2", 0, resume=True)
    finish(qtbot, again)
    assert inversion.steps_done == total + 2 and panel.progress.value() == total + 2
    assert f" {total + 2} steps in " in panel.metrics.text()


def test_a_project_without_its_curve_says_so(qtbot):
    panel = InversionPanel()
    qtbot.addWidget(panel)
    panel.reset({"steps": 40, "seconds": 22.7, "l2": 0.0046})  # made by `semedit invert`
    assert panel.curve.points == [] and panel.curve.note == "curve not kept"
    assert panel.progress.value() == 40
    panel.show_finished({"steps": 40, "seconds": 22.7, "l2": 0.0046}, stopped=False)
    assert panel.metrics.text() == "Done: L2 0.0046, 40 steps in 22.7 s"
    panel.reset(None)
    assert panel.curve.note == "loss curve" and panel.progress.format() == "Not run yet"


def test_a_run_that_fails_leaves_the_panel_as_it_was(qtbot, tmp_path, photo):  # noqa: F811
    window = make_window(qtbot, tmp_path)
    window.ask_unsaved_changes = lambda: "discard"
    open_photo(qtbot, window, photo)
    panel, inversion = window.inversion_panel, window.inversion
    window.session.chunk_set.add(np.zeros((32, 32), np.float32), name="eyebrows")
    task = inversion.run(InversionSettings(steps=300), "l2", 0)
    assert panel.progress.format() == "%v / %m steps"  # while it starts
    finish(qtbot, task)
    assert task.state == "failed"
    assert window.message_bar.text() == "Chunk 'eyebrows' is empty; paint it or remove it."
    assert panel.progress.format() == "Not run yet" and panel.progress.maximum() == 1
    assert panel.metrics.text() == "" and inversion.steps_done == 0

    # After a real run, a failed Continue leaves that run's figures.
    face = np.ones((32, 32), np.float32)
    face[:4] = 0  # above the eyebrows chunk, leaving it rows 0-3
    window.session.chunk_set.add(face, name="face")
    window.session.doc.chunk("eyebrows").mask[:4] = 1
    ran = inversion.run(InversionSettings(steps=3), "l2", 0)
    finish(qtbot, ran)
    assert ran.state == "done" and inversion.steps_done == 3
    summary, points = panel.metrics.text(), list(panel.curve.points)
    window.session.doc.chunk("eyebrows").mask[...] = 0
    failed = inversion.run(InversionSettings(steps=3), "l2", 0, resume=True)
    finish(qtbot, failed)
    assert failed.state == "failed" and inversion.steps_done == 3
    assert panel.progress.value() == 3 and panel.metrics.text() == summary
    assert panel.curve.points == points


# ----------------------------------------------------------------- the directions dialog


def test_directions_progress_has_no_time_left_after_a_failure(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SEMEDIT_HOME", str(tmp_path / "home"))
    calls = []

    def labeller(image):
        calls.append(1)
        if len(calls) > 24:
            raise InvalidInputError("The labeller broke.")
        return {"yaw": 0.1 * len(calls), "pitch": 0.0, "mouth_open": 0.0,
                "eyes_open": 0.0, "face_width": 0.0}

    owner = QObject()
    registry = make_registry(tmp_path, owner)
    controller = DirectionsController(registry, labeller=labeller, parent=owner)
    texts = []
    controller.progress.connect(lambda fraction, text: texts.append((fraction, text)))
    try:
        task = controller.compute_supervised(samples=40)
        wait_ended(qtbot, task)
        assert task.state == "failed"
        assert any("left" in text for _, text in texts)  # it counted down meanwhile
        assert texts[-1] == (0.0, "")
    finally:
        stop_threads(registry, qtbot)
        owner.deleteLater()
