"""Smoke test of the built one-folder bundle (packaging/build.sh builds it and runs this).

Only on request: `pytest tests/packaging -m slow` with dist/semedit/semedit built, or
SEMEDIT_BUNDLE=/path/to/semedit. The default `pytest` run skips it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = Path(os.environ.get("SEMEDIT_BUNDLE") or ROOT / "dist" / "semedit" / "semedit")
START_TIMEOUT_S = 120


def _requested(config: pytest.Config) -> bool:
    return bool(os.environ.get("SEMEDIT_BUNDLE")) or "slow" in (config.getoption("-m") or "")


@pytest.fixture(autouse=True)
def _bundle_requested(request: pytest.FixtureRequest) -> None:
    if not _requested(request.config):
        pytest.skip("bundle smoke test: run `pytest tests/packaging -m slow` after "
                    "packaging/build.sh (or set SEMEDIT_BUNDLE)")
    if not BUNDLE.is_file():
        pytest.skip(f"no bundle at {BUNDLE}: build it with packaging/build.sh")


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux bundle"),
]


def run_bundle(*args: str, home: Path, timeout: float = START_TIMEOUT_S,
               **env: str) -> subprocess.CompletedProcess:
    """Run the frozen executable with a clean, isolated environment."""
    return run_bundle_at(BUNDLE, *args, home=home, timeout=timeout, **env)


def run_bundle_at(executable: Path, *args: str, home: Path, timeout: float = START_TIMEOUT_S,
                  **env: str) -> subprocess.CompletedProcess:
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_RUNTIME_DIR": str(home / "runtime"),
        "SEMEDIT_HOME": str(home / "semedit"),
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        **env,
    }
    (home / "runtime").mkdir(mode=0o700, exist_ok=True)
    return subprocess.run([str(executable), *args], env=environment, capture_output=True,
                          text=True, timeout=timeout, cwd=home)


def explain(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def test_gui_starts_offscreen_and_quits(tmp_path: Path) -> None:
    result = run_bundle(home=tmp_path, QT_QPA_PLATFORM="offscreen",
                        SEMEDIT_QUIT_AFTER_SHOW="1")
    assert result.returncode == 0, explain(result)
    assert "Traceback" not in result.stderr, explain(result)


def test_gui_screenshot_shows_the_welcome_page(tmp_path: Path) -> None:
    out = tmp_path / "window.png"
    result = run_bundle("--screenshot", str(out), home=tmp_path)
    assert result.returncode == 0, explain(result)
    assert out.is_file() and out.stat().st_size > 1000, explain(result)


def test_help_lists_the_subcommands(tmp_path: Path) -> None:
    result = run_bundle("--help", home=tmp_path)
    assert result.returncode == 0, explain(result)
    for command in ("models", "align", "invert", "segment", "edit", "render", "directions"):
        assert command in result.stdout, explain(result)


def test_version(tmp_path: Path) -> None:
    result = run_bundle("--version", home=tmp_path)
    assert result.returncode == 0, explain(result)
    assert result.stdout.startswith("semedit "), explain(result)


def test_models_list_reads_the_bundled_manifest(tmp_path: Path) -> None:
    result = run_bundle("models", "list", home=tmp_path)
    assert result.returncode == 0, explain(result)
    assert "stylegan2-ffhq-1024" in result.stdout, explain(result)


def test_bundled_resources(tmp_path: Path) -> None:
    internal = BUNDLE.parent / "_internal"
    for part in ("core/resources/models.json", "core/resources/samples/astronaut.jpg",
                 "core/resources/icons/semedit.png",
                 "core/resources/icons/hicolor/256x256/apps/semedit.png",
                 "linux/semedit.desktop", "linux/semedit-mime.xml",
                 "linux/io.github.semedit.SemEdit.metainfo.xml"):
        assert (internal / part).is_file(), part


def test_align_the_sample_photo(tmp_path: Path) -> None:
    """dlib and its landmark model, OpenCV and Pillow work in the frozen app."""
    sample = BUNDLE.parent / "_internal" / "core" / "resources" / "samples" / "astronaut.jpg"
    face, transform = tmp_path / "face.png", tmp_path / "face.json"
    result = run_bundle("align", str(sample), "-o", str(face), "--transform", str(transform),
                        "--size", "256", home=tmp_path)
    assert result.returncode == 0, explain(result)
    assert face.is_file() and transform.is_file(), explain(result)


def test_the_sample_photo_opens_in_the_frozen_editor(tmp_path: Path) -> None:
    """The welcome page's one click: the sample photo opens (tiny generator installed)."""
    tiny = ROOT / "tests" / "data" / "ada_tiny.pkl"
    installed = run_bundle("models", "import", "stylegan2-ffhq-1024", str(tiny), home=tmp_path)
    assert installed.returncode == 0, explain(installed)
    sample = BUNDLE.parent / "_internal" / "core" / "resources" / "samples" / "astronaut.jpg"
    out = tmp_path / "opened.png"
    result = run_bundle(str(sample), "--screenshot", str(out), home=tmp_path)
    assert result.returncode == 0, explain(result)
    assert out.is_file(), explain(result)
    assert "error" not in result.stderr.lower(), explain(result)


def test_install_into_a_prefix(tmp_path: Path) -> None:
    """packaging/linux/install.sh puts the bundle, entry, metainfo, MIME and icons in place."""
    prefix = tmp_path / "prefix"
    script = BUNDLE.parent / "install.sh"
    if not script.is_file():
        script = ROOT / "packaging" / "linux" / "install.sh"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    result = subprocess.run(["bash", str(script), "--prefix", str(prefix), "--bundle",
                             str(BUNDLE.parent)], env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, explain(result)
    share = prefix / "share"
    for part in ("applications/semedit.desktop", "mime/packages/semedit.xml",
                 "metainfo/io.github.semedit.SemEdit.metainfo.xml",
                 "icons/hicolor/48x48/apps/semedit.png",
                 "icons/hicolor/512x512/apps/semedit.png",
                 "icons/hicolor/48x48/mimetypes/application-x-semedit.png"):
        assert (share / part).is_file(), part
    desktop = (share / "applications" / "semedit.desktop").read_text()
    assert f"Exec={prefix}/bin/semedit %F" in desktop
    installed = run_bundle_at(prefix / "bin" / "semedit", "--version", home=tmp_path)
    assert installed.returncode == 0, explain(installed)
    if (share / "mime" / "globs2").is_file():  # update-mime-database ran
        assert "application/x-semedit:*.semedit" in (share / "mime" / "globs2").read_text()
    removed = subprocess.run(["bash", str(script), "--uninstall", "--prefix", str(prefix)],
                             env=env, capture_output=True, text=True, timeout=120)
    assert removed.returncode == 0, explain(removed)
    assert not (prefix / "bin" / "semedit").exists()
    assert not (prefix / "lib" / "semedit").exists()
