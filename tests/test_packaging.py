"""The desktop bundle: its .desktop entry, icon and spec (fast), and the built bundle (slow, --runslow).

The slow tests build dist/Shotline/ with `bash packaging/build_bundle.sh` (minutes), or test the bundle folder
named by SHOTLINE_BUNDLE without building.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
DESKTOP_KEYS = {"Type", "Version", "Name", "GenericName", "Comment", "Exec", "TryExec", "Icon", "Terminal"}
DESKTOP_KEYS |= {"Categories", "MimeType", "Keywords", "StartupNotify"}


def spec_datas() -> list[tuple[str, str]]:
    """The spec's DATAS list, read without running PyInstaller."""
    tree = ast.parse((PACKAGING / "shotline.spec").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DATAS" for t in node.targets):
            return [tuple(entry) for entry in ast.literal_eval(node.value)]
    raise AssertionError("packaging/shotline.spec has no DATAS list")


def desktop_entry() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(PACKAGING / "shotline.desktop")
    return dict(parser["Desktop Entry"])


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


# --- fast: the files the bundle is made from -------------------------------------------------------------
def test_desktop_entry_has_the_keys_a_menu_needs():
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Shotline"
    assert entry["Exec"].split()[0] == "shotline" and entry["Exec"].split()[1:] == ["%f"]
    assert entry["Icon"] == "shotline"
    assert entry["Terminal"] == "false"
    categories = entry["Categories"]
    assert categories.endswith(";")
    assert {"AudioVideo", "Video", "AudioVideoEditing"} <= set(categories.strip(";").split(";"))
    assert entry["MimeType"] == "application/x-shotline;"
    assert set(entry) <= DESKTOP_KEYS, f"unknown keys: {set(entry) - DESKTOP_KEYS}"


DESKTOP_BOOLEANS = {"Terminal", "StartupNotify", "NoDisplay", "Hidden", "DBusActivatable"}
DESKTOP_LISTS = {"Categories", "MimeType", "Keywords", "OnlyShowIn", "NotShowIn", "Actions", "Implements"}
EXEC_FIELD_CODES = {"%f", "%F", "%u", "%U", "%i", "%c", "%k"}


def test_desktop_entry_follows_the_desktop_entry_spec():
    """The rules `desktop-file-validate` enforces on a file like ours, checked line by line (configparser
    forgives what desktop environments reject: stray lines, booleans like "False", lists without the
    closing ';'); the tool itself runs too where it is installed."""
    lines = (PACKAGING / "shotline.desktop").read_text("utf-8").splitlines()
    content = [line for line in lines if line.strip() and not line.startswith("#")]
    assert content[0] == "[Desktop Entry]", "the first group must be [Desktop Entry]"
    seen: set[str] = set()
    for line in content[1:]:
        key, equals, value = line.partition("=")
        assert equals and re.fullmatch(r"[A-Za-z0-9-]+", key), f"not a key=value line: {line!r}"
        assert key not in seen, f"{key} appears twice"
        seen.add(key)
        assert value == value.strip(), f"{key} has spaces around its value"
        if key in DESKTOP_BOOLEANS:
            assert value in ("true", "false"), f"{key}={value} is not a boolean"
        if key in DESKTOP_LISTS:
            assert value.endswith(";"), f"{key} must end with ';'"
        if key == "Exec":
            codes = re.findall(r"%.", value)
            assert set(codes) <= EXEC_FIELD_CODES and len(codes) <= 1, f"Exec field codes: {codes}"
        if key == "Version":
            assert value in ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5"), f"unknown spec version {value}"
    assert {"Type", "Name"} <= seen
    from shutil import which

    if which("desktop-file-validate"):
        result = subprocess.run(
            ["desktop-file-validate", str(PACKAGING / "shotline.desktop")], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_mime_type_claims_shotline_projects():
    root = ET.parse(PACKAGING / "shotline-mime.xml").getroot()
    types = {t.get("type"): t for t in root.iter(f"{MIME_NS}mime-type")}
    assert set(types) == {"application/x-shotline"}
    globs = [g.get("pattern") for g in types["application/x-shotline"].iter(f"{MIME_NS}glob")]
    assert globs == ["*.shotline"]
    from app.cli import gui_arguments

    # what Exec=shotline %f passes
    assert gui_arguments(["film.shotline"]) == {"project_path": "film.shotline"}


def test_icon_is_an_svg_with_a_256_px_png_beside_it():
    icons = ROOT / "resources" / "icons"
    assert ET.parse(icons / "shotline.svg").getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert png_size(icons / "shotline.png") == (256, 256)


def test_spec_bundles_every_resource_the_code_opens():
    datas = spec_datas()
    sources = {source for source, _ in datas}
    for source, target in datas:
        assert (ROOT / source).is_file(), f"{source} is in the spec but not in the tree"
        # the code finds resources relative to its modules, so the bundle keeps the tree's layout
        assert target == Path(source).parent.as_posix(), f"{source} would land in {target}"
    assert not any("train_state" in source for source in sources), "training state is not needed to run"

    # every `"resources" / "…"` path in the app and engine …
    named = set()
    for path in [*ROOT.glob("app/**/*.py"), *ROOT.glob("engine/**/*.py")]:
        for match in re.finditer(r'"resources"((?:\s*/\s*"[^"]+")+)', path.read_text()):
            named.add("resources/" + "/".join(re.findall(r'"([^"]+)"', match.group(1))))
    assert named, "the scan for resource paths found none: has the code's way of naming them changed?"
    for name in named:
        if (ROOT / name).is_dir():
            assert any(s.startswith(name + "/") for s in sources), f"nothing from {name}/ is bundled"
        else:
            assert name in sources, f"{name} is opened by the app but not bundled"

    # … and the files opened inside the folders they name
    from app import gui
    from app.ui.main_window import EXAMPLE
    from engine.backends.sketch.backend import CONFIG_NAME, DEFAULT_FOLDER, WEIGHTS_NAME

    for needed in (DEFAULT_FOLDER / CONFIG_NAME, DEFAULT_FOLDER / WEIGHTS_NAME, EXAMPLE, gui.ICON):
        assert needed.relative_to(ROOT).as_posix() in sources


def test_scripts_are_strict_bash():
    for name in ("build_bundle.sh", "install-desktop-entry.sh"):
        script = PACKAGING / name
        assert "set -euo pipefail" in script.read_text()
        subprocess.run(["bash", "-n", str(script)], check=True)


# --- slow: build the bundle and run it ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundle() -> Path:
    if os.environ.get("SHOTLINE_BUNDLE"):
        return Path(os.environ["SHOTLINE_BUNDLE"]).resolve()
    started = time.monotonic()
    subprocess.run(["bash", str(PACKAGING / "build_bundle.sh")], cwd=ROOT, check=True, timeout=1800)
    print(f"\nbundle built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return ROOT / "dist" / "Shotline"


def run_bundle(bundle: Path, args: list[str], tmp_path: Path, timeout: float) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "QT_", "LD_"))}
    env.update(
        QT_QPA_PLATFORM="offscreen",
        SHOTLINE_CACHE=str(tmp_path / "cache"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
        TMPDIR=str(tmp_path),
    )
    started = time.monotonic()
    result = subprocess.run(
        [str(bundle / "shotline"), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    print(f"\nshotline {' '.join(args)}: {time.monotonic() - started:.1f} s", file=sys.stderr)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_bundle_holds_what_it_needs_and_nothing_it_does_not(bundle):
    inside = bundle / "_internal"
    for source, target in spec_datas():
        assert (inside / target / Path(source).name).is_file(), source
    for name in ("shotline.desktop", "shotline-mime.xml", "shotline.png", "shotline.svg"):
        assert (bundle / name).is_file(), name
    assert not (inside / "resources" / "sketch" / "train_state.safetensors").exists()
    assert not (inside / "torch" / "test").exists() and not (inside / "torch" / "include").exists()
    assert not (inside / "tkinter").exists() and not (inside / "_tkinter").exists()


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_bundle_prints_its_version(bundle, tmp_path):
    from app.cli import VERSION

    assert run_bundle(bundle, ["--version"], tmp_path, timeout=120).stdout.strip() == f"Shotline {VERSION}"


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_bundle_generates_with_the_bundled_weights(bundle, tmp_path):
    out = tmp_path / "ball.mp4"
    args = ["generate", "--prompt", "a red ball rolls right over green grass", "--quiet", "--out", str(out)]
    small = ["--width", "64", "--height", "64", "--frames", "8", "--steps", "2"]
    run_bundle(bundle, [*args, *small], tmp_path, timeout=300)
    assert out.stat().st_size > 0
    (recipe,) = (tmp_path / "cache").glob("*/recipe.json")
    latent_space = json.loads(recipe.read_text())["latent_space"]
    assert latent_space.startswith("sketch-") and "random" not in latent_space, "the weights were not found"


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_bundle_exports_the_example(bundle, tmp_path):
    project = tmp_path / "storyboard.shotline"
    project.write_bytes((ROOT / "resources" / "examples" / "storyboard.shotline").read_bytes())
    for out in (tmp_path / "edit.otio", tmp_path / "edit.mp4"):  # renders the shots first, then exports
        run_bundle(bundle, ["render", str(project), "--out", str(out), "--quiet"], tmp_path, timeout=600)
        assert out.stat().st_size > 0


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_bundle_screenshot_shows_the_window(bundle, tmp_path):
    from PySide6.QtGui import QImage

    png = tmp_path / "window.png"
    run_bundle(bundle, ["--screenshot", str(png)], tmp_path, timeout=900)
    image = QImage(str(png))
    assert not image.isNull()
    assert (image.width(), image.height()) == (1600, 900)
    # a real window: many colours (panels, text, rendered frames), not a blank or single-colour grab
    colours = {image.pixel(x, y) for x in range(0, 1600, 7) for y in range(0, 900, 7)}
    assert len(colours) > 200
