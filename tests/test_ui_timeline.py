"""Timeline widget tests: real TimelineView, real mouse and keys (offscreen), real decoded media."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QImage, QMouseEvent, QUndoStack, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.commands import push_edit
from app.document import Document, ImportedClip, Project, Take, edits
from app.frames import FrameSource
from app.ui.selection import Selection
from app.ui.timeline import TimelineView
from app.ui.timeline_import import free_start
from app.ui.timeline_ruler import choose_ticks
from engine.media import write_video

LEFT = Qt.MouseButton.LeftButton


def storyboard() -> Project:
    """Two tracks at 24 fps, 4 px per frame by default:

    ```
    V2                                      | c 100–124 |
    V1  | a 0–24 |  gap 24–48  | b 48–72 |
    ```
    """
    project = Project(name="Test", fps=Fraction(24), width=64, height=64)
    project = edits.add_track(project, "V1", track_id="v1")
    project = edits.add_track(project, "V2", track_id="v2")
    project = edits.add_shot(project, "v1", 0, 24, "a red ball rolls across the grass", shot_id="a")
    project = edits.add_shot(project, "v1", 48, 24, "a blue sky over the sea", shot_id="b")
    return edits.add_shot(project, "v2", 100, 24, "a storm rolls in", shot_id="c")


@pytest.fixture
def frames(qtbot):
    source = FrameSource(workers=1)
    yield source
    source.shutdown()


@pytest.fixture
def setup(qtbot, frames, tmp_path):
    document = Document(storyboard(), tmp_path / "test.shotline")
    stack = QUndoStack()
    view = TimelineView(document, stack, frames)
    qtbot.addWidget(view)
    view.resize(1000, 320)
    view.show()
    qtbot.waitExposed(view)
    yield view, document, stack
    assert view.wait_idle(5000)
    assert not [t for t in threading.enumerate() if t.name == "shotline-import"]


def center(view: TimelineView, item_id: str) -> QPointF:
    return view.item_rect(item_id).center()


def at(view: TimelineView, frame: float, track_id: str) -> QPoint:
    return QPointF(view.frame_to_x(frame), view.track_y(track_id)).toPoint()


def drag(view: TimelineView, start: QPointF | QPoint, end: QPointF | QPoint, steps: int = 4) -> None:
    viewport = view.viewport()
    start, end = QPointF(start), QPointF(end)
    QTest.mousePress(viewport, LEFT, Qt.KeyboardModifier.NoModifier, start.toPoint())
    for step in range(1, steps + 1):
        QTest.mouseMove(viewport, (start + (end - start) * step / steps).toPoint())
    QTest.mouseRelease(viewport, LEFT, Qt.KeyboardModifier.NoModifier, end.toPoint())


def send_mouse(view: TimelineView, kind: QEvent.Type, pos: QPointF, modifiers=Qt.KeyboardModifier.NoModifier):
    """A mouse event with modifiers (QTest.mouseMove cannot hold Shift)."""
    viewport = view.viewport()
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else LEFT
    event = QMouseEvent(kind, pos, viewport.mapToGlobal(pos), button, LEFT, modifiers)
    QApplication.sendEvent(viewport, event)


def start_of(document: Document, item_id: str) -> int:
    return document.project.item(item_id).start


# --- selecting ----------------------------------------------------------------------------------------------
def test_click_selects_a_shot_and_empty_space_clears(setup, qtbot):
    view, _document, stack = setup
    with qtbot.waitSignal(view.selectionChanged) as signal:
        QTest.mouseClick(view.viewport(), LEFT, pos=center(view, "b").toPoint())
    assert signal.args[0] == Selection("item", "b", "v1", 48, 72)
    assert view.selection().item_id == "b"
    with qtbot.waitSignal(view.selectionChanged) as signal:
        QTest.mouseClick(view.viewport(), LEFT, pos=at(view, 200, "v1"))  # past the last item
    assert signal.args[0].is_empty
    assert stack.count() == 0


def test_clicking_a_gap_selects_it_and_f_asks_to_fill_it(setup, qtbot):
    view, _document, _stack = setup
    with qtbot.waitSignal(view.selectionChanged) as signal:
        QTest.mouseClick(view.viewport(), LEFT, pos=at(view, 36, "v1"))
    assert signal.args[0] == Selection("gap", None, "v1", 24, 48)
    with qtbot.waitSignal(view.fillGapRequested) as fill:
        QTest.keyClick(view, Qt.Key.Key_F)
    assert fill.args == ["v1", 24, 48]
    # the gap before c has nothing on its left: no bridge, a reason instead
    QTest.mouseClick(view.viewport(), LEFT, pos=at(view, 50, "v2"))
    assert view.selection() == Selection("gap", None, "v2", 0, 100)
    with qtbot.assertNotEmitted(view.fillGapRequested):
        QTest.keyClick(view, Qt.Key.Key_F)
    assert "both sides" in view.status_message()


def test_selection_follows_the_document(setup, qtbot):
    view, document, stack = setup
    view.select_item("b")
    with qtbot.waitSignal(view.selectionChanged) as signal:
        push_edit(stack, document, "Delete shot", edits.remove_item, "b")
    assert signal.args[0].is_empty
    assert view.item_at(at(view, 60, "v1")).kind == "empty"
    stack.undo()
    assert view.item_at(at(view, 60, "v1")).item_id == "b"


# --- moving, snapping, trimming -----------------------------------------------------------------------------
def test_drag_moves_a_shot_in_one_undo_step(setup):
    view, document, stack = setup
    original = document.project
    grab = center(view, "b")
    drag(view, grab, grab + QPointF(10 * view.zoom(), 0), steps=5)  # 10 frames later, nothing to snap to
    assert start_of(document, "b") == 58
    assert stack.count() == 1
    stack.undo()
    assert document.project == original
    stack.redo()
    assert start_of(document, "b") == 58


def test_drag_onto_the_other_track(setup):
    view, document, stack = setup
    original = document.project
    grab = center(view, "a")
    drag(view, grab, QPointF(grab.x(), view.track_y("v2")))
    track, item = document.project.find("a")
    assert (track.id, item.start) == ("v2", 0)
    assert stack.count() == 1
    stack.undo()
    assert document.project == original


def test_drag_snaps_to_a_neighbours_edge_unless_shift_is_held(setup, qtbot):
    view, document, stack = setup
    grab = center(view, "b")
    near = grab + QPointF(-22 * view.zoom(), 0)  # b would start at 26, 2 frames from a's end (24)
    QTest.mousePress(view.viewport(), LEFT, pos=grab.toPoint())
    QTest.mouseMove(view.viewport(), (grab + QPointF(-40, 0)).toPoint())
    QTest.mouseMove(view.viewport(), near.toPoint())
    assert view.snap_indicator() == 24
    QTest.mouseRelease(view.viewport(), LEFT, pos=near.toPoint())
    assert start_of(document, "b") == 24
    assert view.snap_indicator() is None
    stack.undo()
    grab = center(view, "b")
    near = grab + QPointF(-22 * view.zoom(), 0)
    send_mouse(view, QEvent.Type.MouseButtonPress, grab, Qt.KeyboardModifier.ShiftModifier)
    send_mouse(view, QEvent.Type.MouseMove, grab + QPointF(-40, 0), Qt.KeyboardModifier.ShiftModifier)
    send_mouse(view, QEvent.Type.MouseMove, near, Qt.KeyboardModifier.ShiftModifier)
    send_mouse(view, QEvent.Type.MouseButtonRelease, near, Qt.KeyboardModifier.ShiftModifier)
    assert start_of(document, "b") == 26
    assert stack.count() == 1


def test_a_refused_overlap_leaves_the_shot_and_says_why(setup):
    view, document, stack = setup
    original = document.project
    grab = center(view, "b")
    drag(view, grab, grab + QPointF(-40 * view.zoom(), 0), steps=1)  # straight onto a
    assert start_of(document, "b") == 48
    assert document.project == original
    assert stack.count() == 0
    assert "overlap" in view.status_message()
    drag(view, grab, grab + QPointF(-40 * view.zoom(), 0), steps=4)  # 38, 28, then onto a: stays at 28
    assert start_of(document, "b") == 28
    assert stack.count() == 1


def test_trim_both_edges(setup):
    view, document, stack = setup
    original = document.project
    rect = view.item_rect("b")
    left_edge = QPointF(rect.left() + 2, rect.center().y())
    assert view.item_at(left_edge).edge == "left"
    drag(view, left_edge, QPointF(view.frame_to_x(52), rect.center().y()))
    shot = document.project.shot("b")
    assert (shot.start, shot.end) == (52, 72)
    assert stack.count() == 1
    right_edge = QPointF(view.item_rect("b").right() - 2, rect.center().y())
    assert view.item_at(right_edge).edge == "right"
    drag(view, right_edge, QPointF(view.frame_to_x(80), rect.center().y()))
    shot = document.project.shot("b")
    assert (shot.start, shot.end) == (52, 80)
    assert stack.count() == 2
    stack.undo()
    stack.undo()
    assert document.project == original


# --- keys and menus -----------------------------------------------------------------------------------------
def test_split_delete_ripple_and_duplicate_keys_each_undo(setup, qtbot):
    view, document, stack = setup
    original = document.project
    view.select_item("b")
    view.set_playhead(60)
    QTest.keyClick(view, Qt.Key.Key_S)
    items = [(i.start, i.end) for i in document.project.track("v1").items]
    assert items == [(0, 24), (48, 60), (60, 72)]
    stack.undo()
    assert document.project == original

    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert document.project.find("b") is None
    assert view.selection().is_empty
    stack.undo()
    assert document.project == original

    view.select_item("a")
    QTest.keyClick(view, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert start_of(document, "b") == 24  # rippled left by a's length
    stack.undo()
    assert document.project == original

    view.select_item("a")
    with qtbot.waitSignal(view.selectionChanged) as signal:
        QTest.keyClick(view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    copy_id = signal.args[0].item_id
    assert copy_id != "a"
    copy = document.project.item(copy_id)
    assert (copy.start, copy.end, copy.prompt) == (24, 48, "a red ball rolls across the grass")
    stack.undo()
    assert document.project == original
    assert stack.redoText() == "Duplicate shot"


def test_generate_and_extend_keys_emit_requests(setup, qtbot):
    view, _document, stack = setup
    view.select_item("b")
    with qtbot.waitSignal(view.generateRequested) as generate:
        QTest.keyClick(view, Qt.Key.Key_G)
    assert generate.args == ["b"]
    with qtbot.waitSignal(view.extendRequested) as extend:
        QTest.keyClick(view, Qt.Key.Key_E)
    assert extend.args == ["b", "forward"]
    with qtbot.waitSignal(view.extendRequested) as extend:
        QTest.keyClick(view, Qt.Key.Key_E, Qt.KeyboardModifier.ShiftModifier)
    assert extend.args == ["b", "backward"]
    assert stack.count() == 0


def test_context_menus(setup, qtbot):
    view, document, stack = setup
    view.select_item("b")
    menu = view.context_menu()
    names = [action.text() for action in menu.actions() if not action.isSeparator()]
    assert names == [
        "Generate",
        "Extend →",
        "← Extend",
        "Split at playhead",
        "Duplicate",
        "Delete",
        "Ripple delete",
    ]
    with qtbot.waitSignal(view.extendRequested) as extend:
        next(a for a in menu.actions() if a.text() == "← Extend").trigger()
    assert extend.args == ["b", "backward"]
    view.select_gap("v1", 30)
    menu = view.context_menu()
    assert [action.text() for action in menu.actions()] == ["Fill gap", "Close gap"]
    with qtbot.waitSignal(view.fillGapRequested) as fill:
        menu.actions()[0].trigger()
    assert fill.args == ["v1", 24, 48]
    menu.actions()[1].trigger()
    assert start_of(document, "b") == 24
    assert stack.undoText() == "Close gap"


# --- playhead, zoom, scrolling ------------------------------------------------------------------------------
def test_ruler_click_and_drag_move_the_playhead(setup, qtbot):
    view, _document, _stack = setup
    with qtbot.waitSignal(view.playheadMoved) as moved:
        QTest.mouseClick(view.ruler, LEFT, pos=QPoint(round(view.frame_to_x(30)), 10))
    assert moved.args == [30]
    assert view.playhead() == 30
    QTest.mousePress(view.ruler, LEFT, pos=QPoint(round(view.frame_to_x(40)), 10))
    QTest.mouseMove(view.ruler, QPoint(round(view.frame_to_x(45)), 10))
    QTest.mouseRelease(view.ruler, LEFT, pos=QPoint(round(view.frame_to_x(45)), 10))
    assert view.playhead() == 45


def wheel(view: TimelineView, x: float, delta: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    pos = QPointF(x, 40)
    event = QWheelEvent(
        pos,
        view.viewport().mapToGlobal(pos),
        QPoint(),
        QPoint(0, delta),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


def test_ctrl_wheel_zooms_around_the_pointer_and_wheel_scrolls(setup):
    view, _document, _stack = setup
    x = 300.0
    frame = (x + view.horizontalScrollBar().value()) / view.zoom()
    wheel(view, x, 120, Qt.KeyboardModifier.ControlModifier)
    assert view.zoom() == pytest.approx(5.0)
    assert view.frame_to_x(frame) == pytest.approx(x, abs=1.0)
    assert view.horizontalScrollBar().value() > 0
    view.set_zoom(2.0)
    assert view.zoom() == 2.0
    assert view.item_rect("b").width() == pytest.approx(48.0)
    view.set_zoom(8.0)
    before = view.horizontalScrollBar().value()
    wheel(view, x, -120)
    assert view.horizontalScrollBar().value() > before


def test_ruler_ticks_adapt_to_zoom():
    assert choose_ticks(40.0, 24, 110) == (5, 1)
    assert choose_ticks(4.0, 24, 110) == (48, 6)  # labels every 2 s, ticks every quarter second
    major, minor = choose_ticks(0.05, 24, 110)
    assert major == 2 * 60 * 24 and major % minor == 0  # labels every 2 minutes


# --- drag and drop of files ---------------------------------------------------------------------------------
def mime_for(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    return mime


def test_dropping_an_image_and_a_video_adds_clips(setup, tmp_path, qtbot):
    view, document, stack = setup
    original = document.project
    image = QImage(40, 30, QImage.Format.Format_RGB888)
    image.fill(QColor("orange"))
    still = tmp_path / "still.png"
    assert image.save(str(still))
    assert view.drop_mime(mime_for(still), QPointF(view.frame_to_x(10), view.track_y("v2")))
    assert view.wait_idle(5000)
    clip = next(i for i in document.project.track("v2").items if isinstance(i, ImportedClip))
    assert (clip.start, clip.duration, clip.media_frames) == (10, 72, None)  # 3 s at 24 fps
    assert clip.media_path == "still.png"  # beside the project file: stored relative
    stack.undo()
    assert document.project == original

    video = write_video(tmp_path / "footage.mkv", np.full((10, 16, 16, 3), 90, np.uint8), 24)
    assert view.drop_mime(mime_for(video), QPointF(view.frame_to_x(60), view.track_y("v1")))  # onto b
    assert view.wait_idle(5000)
    clip = next(i for i in document.project.track("v1").items if isinstance(i, ImportedClip))
    assert (clip.start, clip.duration, clip.media_frames) == (72, 10, 10)  # first free place after b


def test_dropping_an_unreadable_file_says_so_and_changes_nothing(setup, tmp_path, qtbot):
    view, document, stack = setup
    original = document.project
    broken = tmp_path / "holiday.mp4"
    broken.write_bytes(b"this is not a video at all" * 10)
    with qtbot.waitSignal(view.messageRaised, timeout=5000) as message:
        assert view.drop_mime(mime_for(broken), QPointF(view.frame_to_x(30), view.track_y("v1")))
    assert "holiday.mp4" in message.args[0]
    assert message.args[1]  # the technical detail, one click away
    assert view.wait_idle(5000)
    assert document.project is original
    assert stack.count() == 0


def test_free_start_finds_room():
    track = storyboard().track("v1")
    assert free_start(track, 30, 10) == 30
    assert free_start(track, 30, 20) == 72
    assert free_start(track, 10, 5) == 24


# --- pictures -----------------------------------------------------------------------------------------------
def pixel_at(view: TimelineView, point: QPointF) -> QColor:
    return view.viewport().grab().toImage().pixelColor(point.toPoint())


def test_thumbnails_appear_once_the_take_decodes(setup, frames, qtbot):
    view, document, stack = setup
    media = document.path.with_name("test.media")
    clip = np.zeros((24, 32, 32, 3), np.uint8)
    clip[..., 0] = 230  # red
    (media / "take-1").mkdir(parents=True)
    write_video(media / "take-1" / "frames.mkv", clip, 24)
    take = Take(id="take-1", cache_key="k1", media_path="take-1/frames.mkv", frames=24)
    push_edit(stack, document, "Add take", edits.add_take, "a", take)
    rect = view.item_rect("a")
    inside = QPointF(rect.left() + 12, rect.bottom() - 10)
    qtbot.waitUntil(
        lambda: pixel_at(view, inside).red() > 180 and pixel_at(view, inside).green() < 80, timeout=5000
    )
    assert frames.frame_count(media / "take-1" / "frames.mkv") == 24


def test_live_preview_shows_while_rendering(setup, frames, qtbot):
    view, _document, _stack = setup
    view.set_rendering("b", True)
    preview = np.zeros((4, 8, 8, 3), np.uint8)
    preview[..., 1] = 220  # green
    frames.set_preview("b", preview)
    rect = view.item_rect("b")
    inside = QPointF(rect.left() + 12, rect.bottom() - 10)
    qtbot.waitUntil(lambda: pixel_at(view, inside).green() > 180, timeout=3000)
    frames.set_preview("b", None)
    view.set_rendering("b", False)
    qtbot.waitUntil(lambda: pixel_at(view, inside).green() < 150, timeout=3000)
