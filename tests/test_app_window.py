"""The main window as a filmmaker drives it: add shots, edit prompts, generate, extend, fill, cancel, undo."""

from __future__ import annotations

from fractions import Fraction

import pytest
from PySide6.QtCore import QSettings, Qt

from app.document import Document, Project, edits, serialize
from app.ui.main_window import MainWindow


def tiny_project() -> Project:
    project = Project(name="Tiny", fps=Fraction(12), width=64, height=64)
    project = edits.set_settings(project, default_aspect="1:1", default_shot_frames=8, default_steps=2)
    project = edits.add_track(project, "V1", track_id="v1")
    project = edits.add_track(project, "V2", track_id="v2")
    project = edits.add_shot(project, "v1", 8, 8, "a red ball moves right over grass", shot_id="ball")
    return edits.add_shot(project, "v1", 32, 8, "a blue box on snow", shot_id="box")


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch, errors, answers):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    path = tmp_path / "tiny.shotline"
    serialize.save(tiny_project(), path)
    win = MainWindow(autosave_ms=0, settings=settings)
    qtbot.addWidget(win)
    win.show()
    assert win.open_path(path)
    yield win
    win.shutdown()


def select(win: MainWindow, shot_id: str) -> None:
    win.timeline.select_item(shot_id)
    assert win.inspector.shot().id == shot_id


def test_add_shots_from_the_shot_menu(window, qtbot):
    before = window.document.project
    window.timeline.set_playhead(48)
    window.actions["add_shot"].trigger()
    window.actions["add_shot"].trigger()  # no room at the playhead any more: after the last item
    shots = sorted(window.document.project.shots(), key=lambda s: s.start)
    assert [s.start for s in shots] == [8, 32, 48, 56]
    assert window.inspector.shot().start == 56 and window.undo_stack.undoText() == "Add shot"
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert window.document.project == before


def test_editing_the_prompt_is_one_undo_step_per_burst(window, qtbot):
    select(window, "ball")
    before = window.document.project
    prompt = window.inspector.prompt
    prompt.setFocus()
    prompt.selectAll()
    qtbot.keyClicks(prompt, "a green car drives left")
    assert window.document.project == before  # nothing committed while typing
    window.inspector.commit_prompt()  # what focus-out or a pause in typing does
    assert window.document.project.shot("ball").prompt == "a green car drives left"
    assert window.undo_stack.count() == 1 and window.undo_stack.undoText() == "Edit prompt"
    window.actions["undo"].trigger()
    assert window.document.project == before
    assert prompt.toPlainText() == "a red ball moves right over grass"
    window.inspector.seed_lock.click()
    assert window.document.project.shot("ball").seed_locked
    assert window.document.project.shot("ball").seed is not None


def test_generate_shows_a_live_preview_then_a_take(window, qtbot):
    select(window, "ball")
    previews: list[str] = []
    window.frames.previewChanged.connect(previews.append)
    rendering: list[bool] = []
    window.service.renderingChanged.connect(lambda shot, on: rendering.append(on))
    with qtbot.waitSignal(window.service.takeAdded, timeout=60_000):
        qtbot.mouseClick(window.inspector.generate_button, Qt.MouseButton.LeftButton)
    shot = window.document.project.shot("ball")
    assert shot.current is not None and rendering == [True, False]
    assert "ball" in previews and window.frames.preview("ball") is None  # cleared when done
    assert window.inspector.takes.count() == 1 and "seed" in window.inspector.takes.item(0).text()
    assert window.queue_panel.rows == {} and window.document.project.render_queue == ()


def test_extend_both_ways_and_fill_a_gap_from_the_inspector(window, qtbot):
    select(window, "ball")
    with qtbot.waitSignal(window.service.takeAdded, timeout=60_000):
        window.inspector.generate_button.click()
    with qtbot.waitSignal(window.service.takeAdded, timeout=60_000):
        window.inspector.extend_button.click()
    forward = window.inspector.shot()  # the new shot is selected
    assert forward.source.kind == "extend_forward" and forward.start == 16
    select(window, "ball")
    with qtbot.waitSignal(window.service.takeAdded, timeout=60_000):
        window.inspector.extend_back_button.click()
    backward = window.inspector.shot()
    assert backward.source.kind == "extend_backward" and backward.end == 8
    select(window, "box")
    with qtbot.waitSignal(window.service.takeAdded, timeout=60_000):
        window.inspector.generate_button.click()
    window.timeline.select_gap("v1", 28)
    assert window.inspector.fill_button.isVisible() and not window.inspector.shot_panel.isVisible()
    with qtbot.waitSignal(window.service.takeAdded, timeout=60_000):
        window.inspector.fill_button.click()
    bridge = window.inspector.shot()
    assert bridge.source.kind == "bridge" and (bridge.start, bridge.end) == (24, 32)
    assert len(window.document.project.shot(bridge.id).current.made_from) == 2


def test_cancel_a_render_from_the_queue_panel(window, qtbot):
    window.document.apply(edits.set_shot, "ball", steps=80)
    select(window, "ball")
    window.inspector.generate_button.click()
    qtbot.waitUntil(lambda: bool(window.queue_panel.rows), timeout=10_000)
    qtbot.waitUntil(lambda: window.service.entries()[0].step >= 1, timeout=60_000)
    (row,) = window.queue_panel.rows.values()
    assert row.bar.value() >= 1
    qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.queue_panel.rows == {}, timeout=30_000)
    assert window.document.project.shot("ball").takes == () and window.document.project.render_queue == ()


def test_undo_and_redo_restore_the_exact_document(window, qtbot):
    original = window.document.project
    select(window, "ball")
    window.inspector.duration.setValue(12)
    window.inspector.steps.setValue(3)
    window.inspector.aspect.setCurrentText("1:1")
    window.timeline.set_playhead(36)
    select(window, "box")
    window.actions["split"].trigger()
    window.actions["duplicate"].trigger()
    final = window.document.project
    steps = window.undo_stack.count()
    assert steps == 4
    for _ in range(steps):
        window.actions["undo"].trigger()
    assert window.document.project == original
    for _ in range(steps):
        window.actions["redo"].trigger()
    assert window.document.project == final


def test_the_title_shows_unsaved_changes(window, qtbot):
    assert window.windowTitle() == "tiny — Shotline"
    select(window, "ball")
    window.inspector.negative.setText("rain")
    window.inspector.negative.editingFinished.emit()
    assert window.windowTitle() == "tiny* — Shotline"
    window.actions["undo"].trigger()
    assert window.windowTitle() == "tiny — Shotline"


def test_errors_are_explained(window, qtbot, errors):
    select(window, "ball")
    window.extend("ball", "backward")  # frames 0–7 are free: fits; a second one does not
    window.extend(window.inspector.shot().id, "backward")
    assert len(errors) == 1 and "no room before" in errors[0][1]


def test_a_new_project_has_two_tracks(window):
    window.new()
    assert len(window.document.project.tracks) == 2 and window.document.path is None
    assert isinstance(window.document, Document) and window.windowTitle() == "Untitled — Shotline"
