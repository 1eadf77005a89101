"""Export as a filmmaker checks it: decode the files and look at frame counts, sizes, rates, codecs, pixels,
gaps, letterboxing, provenance, cancel, the `render` command and the export dialog."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import moving_square_clip
from PySide6.QtCore import QSettings

from app.cli import main
from app.document import Project, edits, serialize
from app.example import EXAMPLE_PATH
from app.export import ExportCancelled, export_project, export_settings
from app.export.provenance import sidecar_path
from app.media_paths import resolve_take
from engine.framing import fit_letterbox
from engine.media import read_metadata, read_video, write_video

ROOT = Path(__file__).resolve().parents[1]
LENGTH = 132  # the example: shots at 0–36, 60–96, 96–132 on V1 and 108–132 on V2
OUTPUTS = {"mp4": "edit.mp4", "prores": "edit.mov", "png": "frames/"}  # a trailing / asks for a folder
CODECS = {"mp4": ("h264", "yuv420p"), "prores": ("prores", "yuv422p10le")}
TOLERANCE = {"mp4": 4.0, "prores": 1.5, "png": 0.0}  # mean |difference| per channel, out of 255


@pytest.fixture(scope="module")
def exports(rendered_example, tmp_path_factory):
    """The rendered example exported once in each picture format: {format: path}."""
    path, mp4, _ = rendered_example
    project = serialize.load(path)
    folder = tmp_path_factory.mktemp("exports")
    written = {"mp4": mp4}
    for format in ("prores", "png"):
        written[format] = export_project(project, path, export_settings(f"{folder}/{OUTPUTS[format]}")).path
    return project, path, written


def take_frames(project: Project, path: Path, shot_id: str) -> np.ndarray:
    return read_video(resolve_take(path, project.shot(shot_id).current.media_path)).frames


def test_render_command_renders_missing_takes_into_the_project_then_exports(rendered_example):
    path, out, result = rendered_example
    project = serialize.load(path)
    assert result.stdout.strip() == str(out)
    assert result.stderr.count("rendering shot") == 4 and "saved 4 new take(s)" in result.stderr
    for shot in project.shots():
        take = shot.current
        assert take is not None and resolve_take(path, take.media_path).is_file()
        assert take.recipe["request"]["steps"] == 1 and shot.seed == take.recipe["request"]["seed"]
    assert project.shot("shot-1").seed == 7  # the locked seed is kept
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # fast start: plays while downloading


@pytest.mark.parametrize("format", ["mp4", "prores", "png"])
def test_each_format_has_the_sequence_frames_at_the_project_size_and_rate(exports, format):
    project, path, written = exports
    video = read_video(written[format])
    assert video.frames.shape == (LENGTH, 144, 256, 3) and video.fps == Fraction(12)
    if format in CODECS:
        with av.open(str(written[format])) as container:
            context = container.streams.video[0].codec_context
            assert (context.name, context.pix_fmt) == CODECS[format]
            assert format != "prores" or context.profile == "HQ"
    else:
        assert len(list(written[format].glob("frame_*.png"))) == LENGTH
    frames = video.frames.astype(np.int16)
    ball, walker = take_frames(project, path, "shot-1"), take_frames(project, path, "shot-4")

    def error(frame: int, expected: np.ndarray) -> float:
        return float(np.abs(frames[frame] - expected.astype(np.int16)).mean())

    assert error(10, ball[10]) <= TOLERANCE[format]  # V1's first shot, its take's frame 10
    assert error(110, walker[2]) <= TOLERANCE[format]  # V2 covers V1 from frame 108
    assert error(110, ball[10]) > 10  # (a different picture is far off)
    assert frames[36:60].max() <= 2  # the gap is black


@pytest.mark.parametrize("format", ["mp4", "prores", "png"])
def test_every_export_says_it_is_ai_generated_with_each_shots_recipe(exports, format):
    project, _, written = exports
    out = written[format]
    tags = read_metadata(out)
    record = json.loads(tags["comment"])
    assert record["generator"] == "Shotline 0.1.0" and record["ai_generated"] is True
    by_id = {shot["shot_id"]: shot for shot in record["shots"]}
    assert list(by_id) == ["shot-1", "shot-2", "shot-3", "shot-4"]  # in order of appearance
    for shot in project.shots():
        recipe = by_id[shot.id]
        assert recipe["prompt"] == shot.prompt and recipe["seed"] == shot.seed
        assert recipe["model"] == "sketch" and recipe["steps"] == 1
    if format != "prores":  # QuickTime's description atom holds the comment in a .mov
        assert tags["description"].startswith("AI-generated: 4 shots rendered by Shotline 0.1.0")
    sidecar = json.loads(sidecar_path(out).read_text())
    assert sidecar["shots"] == record["shots"] and sidecar["frames"] == LENGTH


def clip_project(tmp_path: Path, fps: Fraction = Fraction(12)) -> tuple[Project, Path]:
    """A 128×72 project: a gap, then a 64×64 clip of a sliding square (frames 4–11)."""
    write_video(f"{tmp_path}/square/", moving_square_clip(10), 12)
    project = edits.add_track(Project(name="Clip", fps=fps, width=128, height=72), "V1", track_id="v1")
    project = edits.add_clip(project, "v1", 4, "square", media_frames=10, duration=8, in_point=2)
    return project, serialize.save(project, tmp_path / "clip.shotline")


def test_a_clip_of_another_size_is_letterboxed_and_gaps_are_black(tmp_path):
    project, path = clip_project(tmp_path)
    out = export_project(project, path, export_settings(f"{tmp_path}/out/")).path
    frames = read_video(out).frames
    assert frames.shape == (12, 72, 128, 3)
    assert not frames[:4].any()
    expected = fit_letterbox(moving_square_clip(10)[2:10], 128, 72)  # the clip from its in-point
    assert np.array_equal(frames[4:], expected)
    assert not frames[4:, :, :28].any() and not frames[4:, :, 100:].any()  # bars left and right
    assert frames[4:, :, 28:100].any()
    record = json.loads(read_metadata(out)["comment"])  # only the filmmaker's footage: nothing generated
    assert record["ai_generated"] is False and record["shots"] == []
    assert record["digital_source_type"].endswith("/composite")


def test_rational_frame_rates_stay_exact(tmp_path):
    project, path = clip_project(tmp_path, fps=Fraction(24000, 1001))
    video = read_video(export_project(project, path, export_settings(str(tmp_path / "ntsc.mp4"))).path)
    assert video.fps == Fraction(24000, 1001) and video.frame_count == 12


@pytest.mark.parametrize("name", ["cancel.mp4", "cancel.mov", "cancel/"])
def test_cancel_leaves_nothing_under_the_target_name(tmp_path, name):
    project, path = clip_project(tmp_path)
    settings = export_settings(f"{tmp_path}/{name}")
    calls = iter(range(100))
    with pytest.raises(ExportCancelled):  # after three frames are written
        export_project(project, path, settings, should_stop=lambda: next(calls) >= 3)
    assert {p.name for p in tmp_path.iterdir()} == {"square", "clip.shotline"}


def test_cancel_keeps_an_earlier_export(tmp_path):
    project, path = clip_project(tmp_path)
    settings = export_settings(str(tmp_path / "edit.mp4"))
    export_project(project, path, settings)
    before = settings.out.read_bytes()
    calls = iter(range(100))
    with pytest.raises(ExportCancelled):
        export_project(project, path, settings, should_stop=lambda: next(calls) >= 5)
    assert settings.out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_signed_export_carries_a_valid_c2pa_manifest(exports, tmp_path, monkeypatch):
    c2pa = pytest.importorskip("c2pa")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    project, path, _ = exports
    result = export_project(project, path, export_settings(str(tmp_path / "signed.mov"), sign_c2pa=True))
    assert result.signed and read_video(result.path).frame_count == LENGTH
    with c2pa.Reader(str(result.path)) as reader:
        assert reader.get_validation_state() == "Valid"  # intact; the local signer is on no trust list
        manifest = reader.get_active_manifest()
    assertions = {assertion["label"]: assertion["data"] for assertion in manifest["assertions"]}
    assert assertions["org.shotline.provenance"]["shots"][0]["shot_id"] == "shot-1"
    [created] = assertions["c2pa.actions.v2"]["actions"]
    assert created["digitalSourceType"].endswith("/trainedAlgorithmicMedia")
    assert json.loads(read_metadata(result.path)["comment"])["ai_generated"] is True
    assert (tmp_path / "config" / "shotline" / "c2pa" / "signer.key").stat().st_mode & 0o077 == 0


# --- the render command ------------------------------------------------------------------------------------
def _render_cases(tmp_path: Path) -> tuple[Path, dict[str, tuple[list[str], str]]]:
    project = tmp_path / "p.shotline"
    shutil.copyfile(EXAMPLE_PATH, project)
    empty = serialize.save(Project(), tmp_path / "empty.shotline")
    out = tmp_path / "out.mp4"
    cases = {
        "missing project": (
            ["render", str(tmp_path / "nope.shotline"), "--out", str(out)],
            "no project file",
        ),
        "bad extension": (["render", str(project), "--out", str(tmp_path / "out.avi")], "out.avi"),
        "format mismatch": (
            ["render", str(project), "--out", str(out), "--format", "prores"],
            "ending in .mov",
        ),
        "missing folder": (
            ["render", str(project), "--out", str(tmp_path / "no" / "x.mp4")],
            "does not exist",
        ),
        "bad crf": (["render", str(project), "--out", str(out), "--crf", "60"], "CRF"),
        "sign png": (["render", str(project), "--out", str(tmp_path) + "/f/", "--sign-c2pa"], "C2PA"),
        "empty timeline": (["render", str(empty), "--out", str(out)], "nothing to export"),
    }
    return out, cases


@pytest.mark.parametrize(
    "case",
    ["missing project", "bad extension", "format mismatch", "missing folder", "bad crf", "sign png",
     "empty timeline"],
)  # fmt: skip
def test_render_bad_input_exits_2_with_one_line(tmp_path, capfd, case):
    out, cases = _render_cases(tmp_path)
    argv, expected = cases[case]
    code = main(argv)
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and expected in lines[0], err
    assert not out.exists() and not (tmp_path / "f").exists()


def tiny_project() -> Project:
    """A 64×64 project whose one 8-frame shot has no take: it renders in about a second."""
    project = Project(name="Tiny", fps=Fraction(12), width=64, height=64)
    project = edits.set_settings(project, default_aspect="1:1", default_steps=1)
    project = edits.add_track(project, "V1", track_id="v1")
    return edits.add_shot(project, "v1", 4, 8, "a red ball moves right over grass", shot_id="ball")


def test_ctrl_c_while_rendering_missing_takes_leaves_the_project_and_no_file(tmp_path):
    project = serialize.save(edits.set_shot(tiny_project(), "ball", steps=200), tmp_path / "p.shotline")
    before = project.read_bytes()
    out = tmp_path / "edit.mp4"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "OMP_NUM_THREADS": "2"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "render", str(project), "--out", str(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    line = process.stderr.readline()
    assert "rendering shot 1 of 1" in line, line
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "cancelled" in err and not out.exists()
    assert project.read_bytes() == before and not list(tmp_path.glob("*.provenance.json"))


# --- the export dialog -------------------------------------------------------------------------------------
@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, errors, answers):  # answers: "Save changes?" when closing
    from app.ui.main_window import MainWindow

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = serialize.save(tiny_project(), tmp_path / "tiny.shotline")
    win = MainWindow(autosave_ms=0, settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    assert win.open_path(path)
    yield win
    win.shutdown()


def test_export_dialog_renders_the_shot_without_a_take_then_exports(window, tmp_path, qtbot, errors):
    dialog = window.export()
    dialog.set_format("prores")
    assert dialog.path_edit.text().endswith("tiny.mov")
    dialog.set_path(tmp_path / "dailies.mov")
    with qtbot.waitSignal(dialog.exported, timeout=60_000) as done:
        dialog.export_button.click()
        assert dialog.cancel_button.isEnabled() and not dialog.export_button.isEnabled()
    result = done.args[0]
    assert result.path == tmp_path / "dailies.mov" and errors == []
    assert window.document.project.shot("ball").current is not None  # rendered through the render queue
    assert read_video(result.path).frames.shape == (12, 64, 64, 3)
    assert dialog.bar.value() == dialog.bar.maximum() == 12 and "Exported 12 frames" in dialog.status.text()


def test_export_dialog_cancel_while_rendering_writes_nothing(window, tmp_path, errors):
    dialog = window.export()
    dialog.set_path(tmp_path / "x.mp4")
    dialog.start()
    assert window.service.entry_for("ball") is not None
    dialog.cancel()
    assert dialog.wait_idle(10_000)
    assert "cancelled" in dialog.status.text() and dialog.export_button.isEnabled()
    window.bridge.wait_until_idle(30)
    assert not (tmp_path / "x.mp4").exists() and window.service.entry_for("ball") is None and errors == []


def test_export_dialog_explains_a_bad_path_without_starting(window, tmp_path):
    dialog = window.export()
    dialog.set_path(tmp_path / "nowhere" / "x.mp4")
    dialog.start()
    assert "does not exist" in dialog.status.text() and not dialog.is_busy()
