"""Project files from the window: save and reopen, Save As with takes, autosave, recovery, damaged files."""

from __future__ import annotations

import os
import time

import pytest
from PySide6.QtCore import QSettings

from app.cli import gui_arguments
from app.document import edits, find_gaps, serialize
from app.example import EXAMPLE_PATH, build_example
from app.media_paths import media_folder, resolve_take
from app.ui.main_window import EXAMPLE, MainWindow
from engine.sketch.vocabulary import normalize_prompt
from tests.test_app_window import tiny_project


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch, errors, answers):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    windows: list[MainWindow] = []

    def make(autosave_ms: int = 0) -> MainWindow:
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        win = MainWindow(autosave_ms=autosave_ms, settings=settings)
        qtbot.addWidget(win)
        windows.append(win)
        return win

    yield make
    for win in windows:
        win.shutdown()


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "tiny.shotline"
    serialize.save(tiny_project(), path)
    return path


def test_save_then_reopen_gives_the_same_project(make_window, saved, tmp_path, qtbot):
    win = make_window()
    assert win.open_path(saved)
    win.timeline.select_item("ball")
    win.inspector.prompt.setPlainText("a purple bird flies up")
    win.inspector.commit_prompt()
    edited = win.document.project
    assert win.save()
    assert serialize.backup_path(saved).exists() and not win.document.dirty
    assert win.windowTitle() == "tiny — Shotline"
    other = make_window()
    assert other.open_path(saved)
    assert other.document.project == edited
    assert [p.name for p in other.recent.paths()] == ["tiny.shotline"]


def test_save_as_takes_the_rendered_takes_along(make_window, saved, tmp_path, qtbot):
    win = make_window()
    win.open_path(saved)
    with qtbot.waitSignal(win.service.takeAdded, timeout=60_000):
        win.generate("ball")
    take = win.document.project.shot("ball").current
    target = tmp_path / "elsewhere" / "copy.shotline"
    target.parent.mkdir()
    with qtbot.waitSignal(win.saved, timeout=10_000):
        win.save_as(target)
    assert win.document.path == target and win.windowTitle() == "copy — Shotline"
    assert resolve_take(target, take.media_path).exists()
    assert win.bridge.media_folder == media_folder(target)
    assert serialize.load(target) == win.document.project


def test_autosave_writes_the_recovery_file(make_window, saved, qtbot):
    win = make_window(autosave_ms=50)
    win.open_path(saved)
    recovery = serialize.recovery_path(saved)
    qtbot.wait(120)
    assert not recovery.exists()  # nothing to autosave while there are no changes
    win.document.apply(edits.set_shot, "ball", prompt="a black car")
    qtbot.waitUntil(recovery.exists, timeout=5_000)
    assert serialize.load(recovery).shot("ball").prompt == "a black car"
    assert serialize.load(saved).shot("ball").prompt != "a black car"


@pytest.mark.parametrize("answer", ["Restore", "Open saved version"])
def test_recovery_is_offered_after_a_crash(make_window, saved, answers, answer):
    crashed = edits.set_shot(tiny_project(), "box", prompt="a green box on sand")
    recovery = serialize.write_recovery(crashed, saved)  # what the crashed session left behind
    later = time.time() + 5
    os.utime(recovery, (later, later))
    queue, asked = answers
    queue.append(answer)
    win = make_window()
    assert win.open_path(saved)
    assert asked == ["Recover unsaved changes?"]
    if answer == "Restore":
        assert win.document.project == crashed and win.document.dirty
        assert win.windowTitle() == "tiny* — Shotline"
    else:
        assert win.document.project == serialize.load(saved) and not recovery.exists()


@pytest.mark.parametrize(
    "content",
    [
        b'{"schema": "Project.1", "name": "Half',
        b'{"schema": "Project.99", "name": "Future"}',
        b"\x00\xff junk",
    ],
    ids=["truncated", "newer version", "garbage"],
)
def test_a_damaged_file_is_explained_and_left_untouched(make_window, tmp_path, errors, content):
    path = tmp_path / "damaged.shotline"
    path.write_bytes(content)
    win = make_window()
    before = win.document
    assert not win.open_path(path)
    assert len(errors) == 1 and errors[0][0] == "Cannot open project" and errors[0][1]
    assert path.read_bytes() == content and win.document is before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("damaged")) == ["damaged.shotline"]
    if b"99" in content:
        assert "newer" in errors[0][1].lower()


def test_closing_with_unsaved_changes_asks(make_window, saved, answers):
    queue, asked = answers
    win = make_window()
    win.open_path(saved)
    win.show()
    win.document.apply(edits.set_shot, "ball", prompt="a white ball")
    queue.append("Cancel")
    assert not win.close() and win.isVisible() and asked == ["Save changes?"]
    queue.append("Save")
    assert win.close()
    assert serialize.load(saved).shot("ball").prompt == "a white ball"


def test_the_example_opens_as_a_copy(make_window):
    original = EXAMPLE.read_bytes()
    win = make_window()
    assert win.open_example()
    assert win.document.path != EXAMPLE and win.document.project == serialize.load(EXAMPLE)
    win.document.apply(edits.set_shot, "shot-1", prompt="a black ball")
    assert win.save() and EXAMPLE.read_bytes() == original


def test_the_bundled_example_is_a_storyboard_the_sketch_model_understands():
    project = serialize.load(EXAMPLE_PATH)
    assert project == build_example()
    shots = list(project.shots())
    assert len(shots) >= 3 and all(normalize_prompt(s.prompt).unknown == () for s in shots)
    assert any(gap.can_bridge for track in project.tracks for gap in find_gaps(track))


def test_the_command_line_opens_the_app_only_when_asked():
    assert gui_arguments([]) == {}
    assert gui_arguments(["story.shotline"]) == {"project_path": "story.shotline"}
    assert gui_arguments(["--screenshot", "shot.png"]) == {"screenshot": "shot.png"}
    assert gui_arguments(["generate", "--prompt", "x", "--out", "a.mp4"]) is None


def test_opening_sweeps_old_save_debris_but_spares_a_save_in_progress(make_window, saved):
    old = saved.parent / f".{saved.name}.a1b2c3{serialize.TEMP_SUFFIX}"
    fresh = saved.parent / f".{saved.name}.d4e5f6{serialize.TEMP_SUFFIX}"
    for debris in (old, fresh):
        debris.write_text('{"half": ')
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    assert make_window().open_path(saved)
    assert not old.exists()  # left by a save a crash cut short
    assert fresh.exists()  # may belong to another window saving right now
