"""Tests for comparing takes: two takes of a shot side by side or as a wipe, in sync, and choosing one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import shiboken6
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QUndoStack

from app.document import edits
from app.document.events import Document
from app.document.schema import Project, Shot, Take, Track
from app.frames import FrameSource
from app.media_paths import media_folder
from app.ui.compare import CompareTakesDialog
from app.ui.inspector import Inspector
from app.ui.selection import Selection
from engine.media import write_video

WIDTH, HEIGHT, FRAMES = 64, 36, 6
# Every frame of every take has its own flat colour, so a pixel tells which take and which frame.
A_COLOURS = [(240, 30 * i, 20) for i in range(FRAMES)]  # take 2: reds
B_COLOURS = [(20, 30 * i, 240) for i in range(FRAMES)]  # take 1: blues


def flat_clip(colours: list[tuple[int, int, int]]) -> np.ndarray:
    return np.array([np.full((HEIGHT, WIDTH, 3), c, np.uint8) for c in colours])


def take(take_id: str, seed: int) -> Take:
    recipe = {"request": {"seed": seed, "steps": 12, "prompt": "a red ball"}}
    return Take(
        id=take_id, cache_key=take_id, media_path=f"{take_id}/frames.mkv", frames=FRAMES, recipe=recipe
    )


def make_document(tmp_path: Path, takes: int = 2) -> Document:
    """Shot "ball" with takes t1 (blue, seed 1234) and t2 (red, seed 77, shown); "lone" with one take."""
    project_path = tmp_path / "film.shotline"
    media = media_folder(project_path)
    for name, colours in (("t1", B_COLOURS), ("t2", A_COLOURS)):
        (media / name).mkdir(parents=True)
        write_video(media / name / "frames.mkv", flat_clip(colours), Fraction(24), format="ffv1")
    both = (take("t1", 1234), take("t2", 77))[:takes]
    ball = Shot(
        id="ball", start=0, duration=FRAMES, prompt="a red ball", takes=both, current_take=both[-1].id
    )
    lone = Shot(id="lone", start=10, duration=FRAMES, takes=(take("t1", 1234),), current_take="t1")
    track = Track("v1", "V1", items=(ball, lone))
    return Document(Project(fps=Fraction(24), width=WIDTH, height=HEIGHT, tracks=(track,)), project_path)


@pytest.fixture
def frames() -> Iterator[FrameSource]:
    source = FrameSource()
    yield source
    source.shutdown()
    assert not [t for t in threading.enumerate() if t.name.startswith("shotline-frames")]


@pytest.fixture
def document(tmp_path: Path) -> Document:
    return make_document(tmp_path)


@pytest.fixture
def dialog(qtbot, document: Document, frames: FrameSource) -> Iterator[CompareTakesDialog]:
    window = CompareTakesDialog(document, QUndoStack(), frames, "ball", "t2", "t1")
    qtbot.addWidget(window)
    window.resize(900, 400)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.hide()
    assert not window.is_playing() and not window._play_timer.isActive()


def pixel(window: CompareTakesDialog, x: int, y: int) -> tuple[int, int, int]:
    return window.grab_picture().pixelColor(x, y).getRgb()[:3]


def centres(window: CompareTakesDialog) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The centre pixel of the left (A) and the right (B) picture."""
    image = window.grab_picture()
    rect_a, rect_b = window.picture_rects()
    return tuple(  # type: ignore[return-value]
        image.pixelColor(rect.center()).getRgb()[:3] for rect in (rect_a, rect_b)
    )


def close(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(x - y) <= 2 for x, y in zip(a, b, strict=True))


def shows(window: CompareTakesDialog, frame: int) -> bool:
    left, right = centres(window)
    return close(left, A_COLOURS[frame]) and close(right, B_COLOURS[frame])


def test_two_takes_side_by_side_labelled_from_their_recipes(qtbot, dialog: CompareTakesDialog) -> None:
    left, right = centres(dialog)
    assert not close(left, A_COLOURS[0]) and not close(right, B_COLOURS[0])  # black until decoded
    assert dialog.note("a") == "loading…"
    qtbot.waitUntil(lambda: shows(dialog, 0), timeout=5000)
    rect_a, rect_b = dialog.picture_rects()
    assert rect_a.right() < rect_b.left()  # A on the left, B on the right
    assert dialog.note("a") == dialog.note("b") == ""
    assert dialog.label("a") == "Take 2 · seed 77 · 12 steps"
    assert dialog.label("b") == "Take 1 · seed 1234 · 12 steps"
    assert dialog.take_a_combo.currentText() == "▶ Take 2 · seed 77 · 12 steps"  # ▶: on the timeline
    assert dialog.take_b_combo.currentText() == "Take 1 · seed 1234 · 12 steps"
    assert not dialog.use_a_button.isEnabled() and dialog.use_b_button.isEnabled()


def test_stepping_and_scrubbing_move_both_takes(qtbot, dialog: CompareTakesDialog) -> None:
    qtbot.waitUntil(lambda: shows(dialog, 0), timeout=5000)
    dialog.screen.setFocus()
    qtbot.keyClick(dialog.screen, Qt.Key.Key_Right)
    qtbot.keyClick(dialog.screen, Qt.Key.Key_Right)
    assert dialog.frame() == 2 and shows(dialog, 2)
    assert dialog.slider.value() == 2 and dialog.frame_label.text() == "3 / 6"
    qtbot.keyClick(dialog.screen, Qt.Key.Key_Left)
    assert shows(dialog, 1)
    dialog.slider.setValue(5)
    assert dialog.frame() == 5 and shows(dialog, 5)
    qtbot.keyClick(dialog.screen, Qt.Key.Key_Right)  # the end: stays on the last frame
    assert dialog.frame() == 5


def test_plays_in_sync_and_loops(qtbot, dialog: CompareTakesDialog) -> None:
    qtbot.waitUntil(lambda: shows(dialog, 0), timeout=5000)
    dialog.set_frame(4)
    qtbot.keyClick(dialog.screen, Qt.Key.Key_Space)
    assert dialog.is_playing()
    seen: set[int] = set()
    out_of_sync: list[int] = []

    def looped() -> bool:
        frame = dialog.frame()
        seen.add(frame)
        if not shows(dialog, frame):  # both pictures always on the same frame
            out_of_sync.append(frame)
        return 0 in seen and 5 in seen

    qtbot.waitUntil(looped, timeout=5000)
    assert not out_of_sync
    assert dialog.is_playing()  # past the end it started again
    qtbot.keyClick(dialog.screen, Qt.Key.Key_Space)
    assert not dialog.is_playing() and not dialog._play_timer.isActive()
    dialog.play()
    dialog.hide()  # hidden: no timer left running
    assert not dialog.is_playing() and not dialog._play_timer.isActive()


def test_wipe_shows_a_left_of_the_line_and_b_right_of_it(qtbot, dialog: CompareTakesDialog) -> None:
    qtbot.waitUntil(lambda: shows(dialog, 0), timeout=5000)
    dialog.step(3)
    dialog.wipe_button.click()
    assert dialog.is_wipe()
    frame, same = dialog.picture_rects()
    assert frame == same
    y = frame.center().y() + frame.height() // 4  # below the line's handle
    split = dialog.split_x()
    assert close(pixel(dialog, (frame.left() + split) // 2, y), A_COLOURS[3])
    assert close(pixel(dialog, (split + frame.right()) // 2, y), B_COLOURS[3])
    # Drag the line to the right: more of A shows.
    x_before = frame.left() + frame.width() * 3 // 4
    assert close(pixel(dialog, x_before, y), B_COLOURS[3])
    qtbot.mousePress(dialog.screen, Qt.MouseButton.LeftButton, pos=QPoint(split, y))
    qtbot.mouseMove(dialog.screen, QPoint(frame.left() + frame.width() * 9 // 10, y))
    qtbot.mouseRelease(
        dialog.screen, Qt.MouseButton.LeftButton, pos=QPoint(frame.left() + frame.width() * 9 // 10, y)
    )
    assert dialog.split() > 0.85
    assert close(pixel(dialog, x_before, y), A_COLOURS[3])
    qtbot.keyClick(dialog.screen, Qt.Key.Key_Right)  # stepping moves both halves
    assert close(pixel(dialog, x_before, y), A_COLOURS[4])
    assert close(pixel(dialog, frame.right() - 2, y), B_COLOURS[4])
    qtbot.keyClick(dialog.screen, Qt.Key.Key_W)
    assert not dialog.is_wipe() and not dialog.wipe_button.isChecked() and shows(dialog, 4)


def test_use_take_b_is_one_undo_step(qtbot, dialog: CompareTakesDialog, document: Document) -> None:
    stack = dialog.undo_stack
    dialog.use_b_button.click()
    assert document.project.shot("ball").current_take == "t1"
    assert stack.count() == 1 and stack.undoText() == "Choose take"
    assert dialog.take_b_combo.currentText().startswith("▶ ")  # the window follows the document
    assert dialog.use_a_button.isEnabled() and not dialog.use_b_button.isEnabled()
    stack.undo()
    assert document.project.shot("ball").current_take == "t2"
    assert not dialog.use_a_button.isEnabled() and dialog.use_b_button.isEnabled()


def test_picking_other_takes_and_following_the_document(
    qtbot, dialog: CompareTakesDialog, document: Document, tmp_path: Path
) -> None:
    qtbot.waitUntil(lambda: shows(dialog, 0), timeout=5000)
    dialog.take_a_combo.setCurrentIndex(0)
    dialog.take_a_combo.activated.emit(0)  # what picking from the list does
    assert dialog.takes() == ("t1", "t1")
    qtbot.waitUntil(lambda: close(centres(dialog)[0], B_COLOURS[0]), timeout=5000)
    dialog.set_takes("t2", "t1")
    # A third take arrives, then take B is deleted: another take takes its place.
    media = media_folder(document.path)
    (media / "t3").mkdir()
    write_video(media / "t3" / "frames.mkv", flat_clip([(0, 200, 0)] * FRAMES), Fraction(24), format="ffv1")
    document.set_project(edits.add_take(document.project, "ball", take("t3", 5)))
    assert dialog.take_a_combo.count() == 3
    document.set_project(edits.delete_take(document.project, "ball", "t1"))
    assert dialog.isVisible() and dialog.takes() == ("t2", "t3")
    assert dialog.label("b") == "Take 2 · seed 5 · 12 steps"
    qtbot.waitUntil(lambda: close(centres(dialog)[1], (0, 200, 0)), timeout=5000)
    # Down to one take: nothing left to compare, the window closes.
    document.set_project(edits.delete_take(document.project, "ball", "t3"))
    assert not dialog.isVisible()


def test_the_window_closes_when_the_shot_goes_away(
    qtbot, dialog: CompareTakesDialog, document: Document
) -> None:
    dialog.play()
    document.set_project(edits.remove_item(document.project, "ball"))
    assert not dialog.isVisible() and not dialog._play_timer.isActive()


@pytest.fixture
def inspector(qtbot, document: Document, frames: FrameSource) -> Iterator[Inspector]:
    widget = Inspector(document, QUndoStack(), frames=frames)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    opened = widget.compare_dialog()
    widget.detach()
    if opened is not None:
        assert not opened.isVisible() and not opened._play_timer.isActive()


def test_inspector_compare_button_opens_current_and_previous_take(
    qtbot, inspector: Inspector, document: Document
) -> None:
    inspector.set_selection(Selection("item", "lone", "v1"))
    assert not inspector.compare_button.isEnabled()  # one take: nothing to compare
    inspector.set_selection(Selection("item", "ball", "v1"))
    assert inspector.compare_button.isEnabled()
    inspector.compare_button.click()
    opened = inspector.compare_dialog()
    assert opened is not None and opened.isVisible() and not opened.isModal()
    assert opened.takes() == ("t2", "t1")  # the current take as A, the one before it as B
    assert opened.frames is inspector.frames
    qtbot.waitUntil(lambda: shows(opened, 0), timeout=5000)
    opened.use_b_button.click()
    assert document.project.shot("ball").current_take == "t1"
    assert inspector.takes.currentItem().text().startswith("▶ Take 1")
    inspector.compare_button.click()  # again: a fresh window with the new current take as A
    again = inspector.compare_dialog()
    assert again is not opened and again.takes() == ("t1", "t2")
    qtbot.waitUntil(lambda: not shiboken6.isValid(opened))  # the old window is gone
    again.close()
    qtbot.waitUntil(lambda: not shiboken6.isValid(again))
    assert inspector.compare_dialog() is None
