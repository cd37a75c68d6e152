"""SemEdit installs like any Python app: a wheel built from the checkout, installed into
a folder of its own, runs `semedit models list` and opens the sample photo with the
checkout nowhere on `sys.path` (issue: the package data used to live outside every
package, so a wheel had no models.json, icons or sample photo)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "core", "semedit_gui", "packaging/linux")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel's contents installed with `pip --target` (dependencies come from this
    environment's site-packages, which holds no SemEdit: the checkout is editable-installed
    through a path entry that the child processes below do not get)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy, so the build writes nothing into the checkout
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(work / "dist"),
                    str(source)], check=True, cwd=work, timeout=300)
    (wheel,) = (work / "dist").glob("semedit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    version = wheel.name.split("-")[1]
    share = f"semedit-{version}.data/data/share/"  # desktop entry and icons for share/
    for data in ("core/resources/models.json", "core/resources/samples/astronaut.jpg",
                 "core/resources/icons/semedit.png", f"{share}applications/semedit.desktop",
                 f"{share}icons/hicolor/256x256/apps/semedit.png",
                 f"{share}mime/packages/semedit-mime.xml"):
        assert data in names, data
    # Help ▸ Tutorial reads these offline: the tutorial and every picture it shows.
    help_files = {n for n in names if n.startswith("core/resources/help/")}
    bundled = {f"core/resources/help/{p.name}"
               for p in (ROOT / "core" / "resources" / "help").glob("*.*")}
    assert "core/resources/help/tutorial.md" in help_files and help_files == bundled
    target = work / "target"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, cwd=work, timeout=300)
    return target


def _environment(target: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SEMEDIT"))}
    # Only the install and the dependencies: no checkout, no editable-install hook.
    env["PYTHONPATH"] = os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]])
    env["SEMEDIT_HOME"] = str(home)
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _run(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -S: no site-packages .pth files, so the editable install's path hook is not read.
    return subprocess.run([sys.executable, "-S", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=_environment(target, cwd / "home"))


def _semedit(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    launcher = "import sys; from semedit_gui.launcher import main; sys.exit(main())"
    return _run(target, cwd, "-c", launcher, *args)


def test_the_installed_package_is_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    result = _run(installed, tmp_path, "-c",
                  "import core, semedit_gui, core.resources as r; "
                  "print(core.__file__); print(semedit_gui.__file__); print(r.resources_dir()); "
                  "print(r.resource_path('help', 'tutorial.md'))")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    for line in lines:
        assert Path(line).is_relative_to(installed), line
    assert Path(lines[-1]).is_file()  # the tutorial Help ▸ Tutorial shows


def test_models_list_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    result = _semedit(installed, tmp_path, "models", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert '"stylegan2-ffhq-1024"' in result.stdout
    assert str(installed / "core" / "resources") not in result.stdout  # no leak of data paths


def test_the_wheel_opens_its_sample_photo_offscreen(installed: Path, tmp_path: Path) -> None:
    sample = _run(installed, tmp_path, "-c",
                  "from semedit_gui.welcome import sample_photo; print(sample_photo())")
    assert sample.returncode == 0, sample.stderr
    photo = Path(sample.stdout.strip())
    assert photo.is_relative_to(installed) and photo.is_file()
    shot = tmp_path / "window.png"
    result = _semedit(installed, tmp_path, str(photo), "--screenshot", str(shot))
    assert result.returncode == 0, result.stderr
    from PIL import Image

    with Image.open(shot) as image:
        assert image.width >= 400 and image.height >= 300
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 100  # a drawn window with the photo in it


def test_the_wheel_shows_its_tutorial_with_every_picture(installed: Path,
                                                         tmp_path: Path) -> None:
    script = (
        "from PySide6.QtCore import QUrl\n"
        "from PySide6.QtGui import QTextDocument\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from semedit_gui.dialogs.help_dialogs import TutorialDialog, image_fragments\n"
        "app = QApplication([])\n"
        "dialog = TutorialDialog(None)\n"
        "document = dialog.browser.document()\n"
        "print(dialog.browser.source().toLocalFile())\n"
        "for fragment in image_fragments(document):\n"
        "    name = fragment.charFormat().toImageFormat().name()\n"
        "    picture = document.resource(QTextDocument.ResourceType.ImageResource, QUrl(name))\n"
        "    print(name, picture is not None and not picture.isNull())\n")
    result = _run(installed, tmp_path, "-c", script)
    assert result.returncode == 0, result.stderr
    source, *pictures = result.stdout.splitlines()
    assert Path(source).is_relative_to(installed) and source.endswith("help/tutorial.md")
    assert len(pictures) == 5 and all(line.endswith(" True") for line in pictures), pictures
