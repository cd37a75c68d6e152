"""The model manager, preferences and export dialogs, driven by their methods and buttons.

Downloads come from a small HTTP server on 127.0.0.1 that can send slowly, so a cancel or
a close lands mid-download. No dialog is ever exec()'d.
"""

from __future__ import annotations

import hashlib
import http.server
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QDesktopServices, QPalette
from PySide6.QtWidgets import QApplication, QFileDialog

from core.models import ModelStore, parse_manifest, part_path
from semedit_gui.dialogs import (
    ExportDialog,
    ExportOptions,
    ModelManagerDialog,
    PreferencesDialog,
    apply_theme,
)
from semedit_gui.dialogs.preferences import BROWSE_ITEM
from semedit_gui.settings import AppSettings

NET_BYTES = bytes(range(256)) * 1200  # 300 KiB
SEG_BYTES = b"segmenter weights " * 3000
VGG_BYTES = b"vgg16 weights " * 4000
SLOW_CHUNK = 4096
SLOW_DELAY_S = 0.01  # ~400 KiB/s: NET_BYTES takes ~0.75 s, time enough to cancel
_LEFT = Qt.MouseButton.LeftButton


# ----------------------------------------------------------------------------- server


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every handler: no leaked threads
    files: dict[str, bytes]
    slow: bool
    release: threading.Event
    ranges: list[str | None]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client hanging up on a cancelled download is expected


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        header = self.headers.get("Range")
        self.server.ranges.append(header)
        match = re.fullmatch(r"bytes=(\d+)-", header or "")
        start = int(match.group(1)) if match else 0
        if match:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if not self.server.slow:
            self.wfile.write(data[start:])
            return
        for offset in range(start, len(data), SLOW_CHUNK):
            if self.server.release.is_set():
                return
            self.wfile.write(data[offset : offset + SLOW_CHUNK])
            self.wfile.flush()
            time.sleep(SLOW_DELAY_S)


class LocalServer:
    def __init__(self) -> None:
        self._http = _Server(("127.0.0.1", 0), _Handler)
        self._http.files = {"/net.pkl": NET_BYTES, "/seg.pth": SEG_BYTES, "/vgg.pth": VGG_BYTES}
        self._http.slow = False
        self._http.release = threading.Event()
        self._http.ranges = []
        self._thread = threading.Thread(target=self._http.serve_forever,
                                        kwargs={"poll_interval": 0.02})
        self._thread.start()

    @property
    def ranges(self) -> list[str | None]:
        return self._http.ranges

    def slow(self, on: bool = True) -> None:
        self._http.slow = on

    def url(self, path: str) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}{path}"

    def close(self) -> None:
        self._http.release.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "*")  # never send 127.0.0.1 through a proxy from the env
    local = LocalServer()
    yield local
    local.close()


def _manifest(server: LocalServer):
    common = {"licence": "Test Licence 1.0", "description": "A test asset."}
    return parse_manifest({"format": 1, "assets": [
        {**common, "id": "net", "kind": "generator", "default": True, "filename": "net.pkl",
         "urls": [server.url("/net.pkl")], "size": len(NET_BYTES),
         "sha256": hashlib.sha256(NET_BYTES).hexdigest(), "resolution": 256,
         "domain": "test", "format": "nvidia-pickle"},
        {**common, "id": "seg", "kind": "sam", "default": True, "filename": "seg.pth",
         "urls": [server.url("/seg.pth")], "size": len(SEG_BYTES),
         "sha256": hashlib.sha256(SEG_BYTES).hexdigest(), "variant": "vit_b"},
        {**common, "id": "vgg", "kind": "vgg", "default": True, "filename": "vgg.pth",
         "urls": [server.url("/vgg.pth")], "size": len(VGG_BYTES), "sha256": None},
    ]}, require_https=False)


@pytest.fixture
def store(server: LocalServer, tmp_path: Path) -> ModelStore:
    return ModelStore(_manifest(server), tmp_path / "models")


@pytest.fixture
def manager(qtbot, store: ModelStore) -> Iterator[ModelManagerDialog]:
    dialog = ModelManagerDialog(lambda: store)
    qtbot.addWidget(dialog)
    dialog.show()
    yield dialog
    dialog.close()


# ----------------------------------------------------------------------------- model manager


def test_lists_every_asset_with_kind_purpose_size_licence_and_state(manager, store):
    assert manager.table.rowCount() == 3
    net = manager.row_texts("net")
    assert net["Kind"] == "generator"
    assert net["Needed for"] == "Inversion and editing"
    assert manager.row_texts("seg")["Needed for"] == "Automatic chunks and click selection"
    assert manager.row_texts("vgg")["Needed for"] == "Inversion quality (LPIPS)"
    assert net["Size"] == "300.0 KiB"
    assert net["Licence"] == "Test Licence 1.0"
    assert net["State"] == "missing"
    assert manager.selected_asset_id() == "net"
    assert "A test asset." in manager.details_label.text()
    assert "Test Licence 1.0" in manager.details_label.text()
    assert manager.download_button.isEnabled()
    assert not manager.verify_button.isEnabled()  # nothing to verify yet
    assert not manager.cancel_button.isEnabled()


def test_download_fills_the_progress_bar_and_installs(qtbot, manager, store):
    progress_values = []
    manager.progress_bar.valueChanged.connect(progress_values.append)
    with qtbot.waitSignal(manager.models_changed, timeout=10_000), \
            qtbot.waitSignal(manager.operation_ended, timeout=10_000) as ended:
        qtbot.mouseClick(manager.download_button, _LEFT)
        assert not manager.download_button.isEnabled()  # one operation at a time
        assert not manager.import_button.isEnabled()

    assert ended.args == ["succeeded"]
    assert manager.progress_bar.value() == manager.progress_bar.maximum()
    assert progress_values and progress_values[-1] == manager.progress_bar.maximum()
    assert manager.row_texts("net")["State"] == "installed"
    assert store.path("net").read_bytes() == NET_BYTES
    assert manager.download_button.isEnabled() is False  # installed: nothing to download
    assert manager.verify_button.isEnabled()
    assert not manager.error_label.isVisible()


def test_cancel_stops_the_download_keeps_the_part_and_resume_finishes(
    qtbot, manager, store, server
):
    server.slow()
    qtbot.mouseClick(manager.download_button, _LEFT)
    qtbot.waitUntil(lambda: "KiB of" in manager.status_label.text(), timeout=5000)
    assert manager.cancel_button.isEnabled()
    with qtbot.waitSignal(manager.operation_ended, timeout=5000) as ended:
        qtbot.mouseClick(manager.cancel_button, _LEFT)
    assert ended.args == ["cancelled"]
    assert manager.row_texts("net")["State"].startswith("partial download")
    assert not store.path("net").exists()
    done = part_path(store.path("net")).stat().st_size
    assert 0 < done < len(NET_BYTES)
    assert manager.download_button.text() == "Resume download"

    server.slow(False)
    with qtbot.waitSignal(manager.operation_ended, timeout=10_000) as ended:
        qtbot.mouseClick(manager.download_button, _LEFT)
    assert ended.args == ["succeeded"]
    assert server.ranges[-1] == f"bytes={done}-"
    assert manager.row_texts("net")["State"] == "installed"


def test_closing_during_a_download_cancels_and_joins_the_thread(qtbot, store, server):
    server.slow()
    dialog = ModelManagerDialog(lambda: store)
    qtbot.addWidget(dialog)
    dialog.show()
    before = set(threading.enumerate())
    dialog.download_selected()
    job = dialog._job
    assert job is not None and job.running
    qtbot.waitUntil(lambda: "KiB of" in dialog.status_label.text(), timeout=5000)
    started = time.monotonic()

    dialog.close()

    assert time.monotonic() - started < 3
    assert not job.running and not dialog.busy
    new_threads = [t for t in threading.enumerate() if t not in before]
    assert not [t for t in new_threads if t.name.startswith("SemEdit")]
    assert part_path(store.path("net")).exists()  # resumable next time
    assert not store.path("net").exists()


def test_import_of_a_wrong_file_shows_the_checksum_message(qtbot, manager, store, tmp_path,
                                                           monkeypatch):
    wrong = tmp_path / "not-sam.pth"
    wrong.write_bytes(bytes(len(SEG_BYTES)))  # right size, wrong bytes: the sha256 decides
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: (str(wrong), "")))
    changed = []
    manager.models_changed.connect(lambda: changed.append(True))
    manager.select_asset("seg")
    with qtbot.waitSignal(manager.operation_ended, timeout=5000) as ended:
        qtbot.mouseClick(manager.import_button, _LEFT)
    assert ended.args == ["failed"]
    assert manager.error_label.isVisible()
    assert "is not seg" in manager.error_label.text()
    assert "sha256" in manager.error_label.text()
    assert manager.row_texts("seg")["State"] == "missing"
    assert not changed and wrong.exists()


def test_import_of_the_right_file_installs_it(qtbot, manager, store, tmp_path):
    good = tmp_path / "sam_download.pth"
    good.write_bytes(SEG_BYTES)
    manager.select_asset("seg")
    with qtbot.waitSignal(manager.models_changed, timeout=5000):
        manager.import_file(good)
    qtbot.waitUntil(lambda: not manager.busy, timeout=5000)
    assert manager.row_texts("seg")["State"] == "installed"
    assert good.read_bytes() == SEG_BYTES  # copied, never moved


def test_verify_reports_a_damaged_file_and_offers_a_new_download(qtbot, manager, store):
    path = store.path("seg")
    path.parent.mkdir(parents=True)
    path.write_bytes(SEG_BYTES[:-1] + b"!")  # right size: only the hash can tell
    manager.refresh()
    manager.select_asset("seg")
    assert manager.row_texts("seg")["State"] == "installed"
    assert not manager.download_button.isEnabled()

    with qtbot.waitSignal(manager.operation_ended, timeout=5000) as ended:
        qtbot.mouseClick(manager.verify_button, _LEFT)

    assert ended.args == ["failed"]
    assert "fails its check" in manager.error_label.text()
    assert manager.row_texts("seg")["State"] == "damaged (failed verification)"
    assert manager.download_button.isEnabled()
    assert manager.download_button.text() == "Download again"
    with qtbot.waitSignal(manager.operation_ended, timeout=10_000) as ended:
        qtbot.mouseClick(manager.download_button, _LEFT)
    assert ended.args == ["succeeded"]
    assert path.read_bytes() == SEG_BYTES


def test_wrong_size_file_is_shown_as_damaged(manager, store):
    path = store.path("vgg")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"short")
    manager.refresh()
    assert manager.row_texts("vgg")["State"] == "damaged (wrong size)"


def test_open_folder_creates_and_opens_the_models_folder(qtbot, manager, store, monkeypatch):
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url.toLocalFile()) or True))
    qtbot.mouseClick(manager.open_folder_button, _LEFT)
    assert opened == [str(store.root)]
    assert store.root.is_dir()


def test_a_broken_store_is_reported_not_raised(qtbot):
    from core.models import ManifestError

    def broken() -> ModelStore:
        raise ManifestError("The model manifest is broken.")

    dialog = ModelManagerDialog(broken)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 0
    assert dialog.error_label.text() == "The model manifest is broken."
    assert not dialog.download_button.isEnabled()
    dialog.close()


def test_offer_names_feature_asset_size_and_licence(qtbot, store):
    dialog = ModelManagerDialog.offer(None, lambda: store, "seg", "Click selection")
    try:
        assert dialog.isVisible()
        assert dialog.selected_asset_id() == "seg"
        assert dialog.offer_label.text() == (
            "Click selection needs seg (52.7 KiB, Test Licence 1.0). Download it now?")
        with qtbot.waitSignal(dialog.models_changed, timeout=10_000):
            qtbot.mouseClick(dialog.offer_download_button, _LEFT)
        qtbot.waitUntil(lambda: not dialog.busy, timeout=5000)
        assert store.is_installed("seg")
    finally:
        dialog.close()  # deletes itself (WA_DeleteOnClose)
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


# ----------------------------------------------------------------------------- preferences


ALL_DEVICES = {"auto": True, "cuda": True, "mps": True, "cpu": True}


def _preferences(qtbot, settings: AppSettings, **kwargs) -> PreferencesDialog:
    dialog = PreferencesDialog(settings, **{"available_devices": ALL_DEVICES, **kwargs})
    qtbot.addWidget(dialog)
    return dialog


def test_preferences_round_trip_every_field(qtbot, tmp_path):
    model_file = tmp_path / "my_generator.pkl"
    model_file.write_bytes(b"weights")
    settings = AppSettings(device="cpu", precision="fp32", default_steps=120,
                           default_space="s", lambda_reg=0.25, models_dir=str(tmp_path),
                           generator=str(model_file), sam="sam-vit-l", vgg="vgg16-imagenet",
                           theme="dark", autosave_seconds=0, recent_files=["/a.semedit"],
                           welcome_dismissed=True)
    dialog = _preferences(qtbot, settings)
    assert dialog.result_settings() == settings
    assert dialog.autosave_spin.text() == "off"

    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("auto"))
    dialog.precision_combo.setCurrentIndex(dialog.precision_combo.findData("auto"))
    dialog.steps_spin.setValue(500)
    dialog.space_combo.setCurrentIndex(dialog.space_combo.findData("wplus"))
    dialog.lambda_spin.setValue(2.5)
    dialog.models_dir_edit.setText(str(tmp_path / "new_models"))  # need not exist yet
    dialog.generator_combo.setEditText("")
    dialog.sam_combo.setEditText("sam-vit-b")
    dialog.vgg_combo.setEditText("")
    dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData("light"))
    dialog.autosave_spin.setValue(30)
    assert dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()

    result = dialog.result_settings()
    assert result == AppSettings(device="auto", precision="auto", default_steps=500,
                                 default_space="wplus", lambda_reg=2.5,
                                 models_dir=str(tmp_path / "new_models"), generator="",
                                 sam="sam-vit-b", vgg="", theme="light", autosave_seconds=30,
                                 recent_files=["/a.semedit"], welcome_dismissed=True)
    assert settings.device == "cpu"  # the dialog edits a copy
    dialog.close()


def test_models_folder_that_is_a_file_is_refused(qtbot, tmp_path):
    dialog = _preferences(qtbot, AppSettings())
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    a_file = tmp_path / "models.txt"
    a_file.write_text("not a folder")
    dialog.models_dir_edit.setText(str(a_file))
    assert not ok.isEnabled()
    assert "is a file, not a folder" in dialog.error_label.text()
    dialog.accept()
    assert dialog.result() == 0  # refused: not accepted

    dialog.models_dir_edit.setText(str(tmp_path))
    assert ok.isEnabled()
    assert not dialog.error_label.isVisibleTo(dialog)
    dialog.close()


def test_model_choice_must_be_an_id_of_its_kind_or_a_file(qtbot, tmp_path, monkeypatch):
    dialog = _preferences(qtbot, AppSettings())
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    ids = [dialog.sam_combo.itemText(i) for i in range(dialog.sam_combo.count())]
    assert "sam-vit-b" in ids and ids[-1] == BROWSE_ITEM
    assert "stylegan2-ffhq-1024" not in ids

    dialog.sam_combo.setEditText("stylegan2-ffhq-1024")
    assert not ok.isEnabled() and "is not a sam model" in dialog.error_label.text()
    dialog.sam_combo.setEditText(str(tmp_path / "missing.pth"))
    assert not ok.isEnabled() and "neither a known model" in dialog.error_label.text()

    chosen = tmp_path / "sam.pth"
    chosen.write_bytes(b"x")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: (str(chosen), "")))
    browse = dialog.sam_combo.findText(BROWSE_ITEM)
    dialog.sam_combo.setCurrentIndex(browse)
    dialog.sam_combo.activated.emit(browse)
    assert dialog.result_settings().sam == str(chosen)
    assert ok.isEnabled()
    dialog.close()


def test_unavailable_devices_are_marked(qtbot):
    dialog = _preferences(qtbot, AppSettings(device="cuda"),
                          available_devices={**ALL_DEVICES, "cuda": False, "mps": False})
    labels = [dialog.device_combo.itemText(i) for i in range(dialog.device_combo.count())]
    assert labels == ["auto", "cuda (not available)", "mps (not available)", "cpu"]
    assert "not available on this machine" in dialog.device_note.text()
    assert dialog.result_settings().device == "cuda"  # kept: the file may move machines
    dialog.close()


def test_apply_theme_dark_light_and_back_to_system(qapp):
    def window_lightness() -> int:
        return qapp.palette().color(QPalette.ColorRole.Window).lightness()

    system_style = QApplication.style().name()
    system_window = qapp.palette().color(QPalette.ColorRole.Window)
    try:
        apply_theme(qapp, "dark")
        assert window_lightness() < 80
        assert QApplication.style().name().lower() == "fusion"
        apply_theme(qapp, "light")
        assert window_lightness() > 180
    finally:
        apply_theme(qapp, "system")
    assert QApplication.style().name() == system_style
    assert qapp.palette().color(QPalette.ColorRole.Window) == system_window
    with pytest.raises(ValueError):
        apply_theme(qapp, "purple")


# ----------------------------------------------------------------------------- export


def _export(qtbot, tmp_path: Path, **kwargs) -> ExportDialog:
    arguments = {"has_full_photo": True, "default_path": tmp_path / "photo_edited.png",
                 "source_photo": tmp_path / "photo.png", **kwargs}  # PNG: the format
    dialog = ExportDialog(**arguments)
    qtbot.addWidget(dialog)
    return dialog


def test_export_suffix_and_format_stay_in_sync(qtbot, tmp_path):
    dialog = _export(qtbot, tmp_path)
    assert dialog.format_combo.currentData() == "PNG"
    assert not dialog.quality_spin.isEnabled()

    dialog.path_edit.setText(str(tmp_path / "out.jpeg"))
    assert dialog.format_combo.currentData() == "JPEG"
    assert dialog.quality_spin.isEnabled()

    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("WEBP"))
    assert dialog.path_edit.text() == str(tmp_path / "out.webp")
    assert dialog.quality_spin.isEnabled()

    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("TIFF"))
    assert dialog.path_edit.text() == str(tmp_path / "out.tif")
    assert not dialog.quality_spin.isEnabled()

    dialog.path_edit.setText(str(tmp_path / "out.bmp"))
    assert not dialog.ok_button.isEnabled()
    assert "cannot save '.bmp'" in dialog.message_label.text()

    dialog.path_edit.setText(str(tmp_path / "no_suffix"))
    assert dialog.ok_button.isEnabled()
    assert dialog.options().path == tmp_path / "no_suffix.tif"
    dialog.close()


def test_export_default_path_with_an_unknown_suffix_becomes_png(qtbot, tmp_path):
    dialog = _export(qtbot, tmp_path, default_path=tmp_path / "photo.heic")
    assert dialog.path_edit.text() == str(tmp_path / "photo.png")
    assert dialog.format_combo.currentData() == "PNG"
    dialog.close()


def test_export_refuses_the_source_photo_and_missing_folders(qtbot, tmp_path):
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"jpeg")
    dialog = _export(qtbot, tmp_path, source_photo=source)
    assert dialog.ok_button.isEnabled()

    (tmp_path / "sub").mkdir()
    dialog.path_edit.setText(str(tmp_path / "sub" / ".." / "photo.jpg"))  # another spelling
    assert not dialog.ok_button.isEnabled()
    assert "never overwrites it" in dialog.message_label.text()
    dialog.accept()
    assert dialog.result() == 0

    dialog.path_edit.setText(str(tmp_path / "missing_folder" / "out.png"))
    assert not dialog.ok_button.isEnabled()
    assert "does not exist" in dialog.message_label.text()

    dialog.path_edit.setText(str(tmp_path))
    assert not dialog.ok_button.isEnabled()

    existing = tmp_path / "old_export.png"
    existing.write_bytes(b"png")
    dialog.path_edit.setText(str(existing))
    assert dialog.ok_button.isEnabled()
    assert "will be replaced" in dialog.message_label.text()
    dialog.close()


def test_export_options_values(qtbot, tmp_path):
    dialog = _export(qtbot, tmp_path)
    assert dialog.full_photo_radio.isChecked()
    assert dialog.options() == ExportOptions(path=tmp_path / "photo_edited.png", format="PNG",
                                             full_photo=True, quality=95, keep_metadata=True)
    dialog.path_edit.setText(str(tmp_path / "edited.jpg"))
    dialog.crop_radio.setChecked(True)
    dialog.quality_spin.setValue(80)
    dialog.metadata_check.setChecked(False)
    assert dialog.options() == ExportOptions(path=tmp_path / "edited.jpg", format="JPEG",
                                             full_photo=False, quality=80, keep_metadata=False)
    with pytest.raises(AttributeError):
        dialog.options().quality = 1  # type: ignore[misc]
    dialog.close()


def test_export_without_a_full_photo_offers_only_the_crop(qtbot, tmp_path):
    dialog = _export(qtbot, tmp_path, has_full_photo=False, source_photo=None)
    assert not dialog.full_photo_radio.isEnabled()
    assert dialog.crop_radio.isChecked()
    assert dialog.options().full_photo is False
    dialog.close()


def test_export_browse_sets_the_path(qtbot, tmp_path, monkeypatch):
    chosen = tmp_path / "picked.webp"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *args, **kwargs: (str(chosen), "WebP (*.webp)")))
    dialog = _export(qtbot, tmp_path)
    qtbot.mouseClick(dialog.browse_button, _LEFT)
    assert dialog.options().path == chosen
    assert dialog.options().format == "WEBP"
    dialog.close()


def test_closing_never_waits_unbounded_for_a_job_that_cannot_stop(qtbot, store):
    from semedit_gui.dialogs import model_manager

    dialog = ModelManagerDialog(lambda: store)
    qtbot.addWidget(dialog)
    dialog.show()
    reading, release = threading.Event(), threading.Event()
    dialog._start("Downloading net", "net", lambda control: reading.set() or release.wait(30),
                  determinate=False)  # a read that does not look at the stop flag
    job = dialog._job
    assert reading.wait(5)
    started = time.monotonic()

    dialog.close()

    assert time.monotonic() - started < model_manager.JOIN_TIMEOUT_S + 1
    assert not dialog.busy and job in model_manager._ABANDONED and job.parent() is None
    release.set()
    assert job.join(5)
