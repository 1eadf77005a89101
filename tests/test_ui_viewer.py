"""Tests for the viewer: the picture at the playhead, playback, keys, live previews, document changes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.document import edits
from app.document.events import Document
from app.document.schema import Project, Shot, Take, Track
from app.frames import FrameSource
from app.ui.viewer import Viewer
from engine.media import write_video

WIDTH, HEIGHT = 64, 36
A_COLOURS = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0), (0, 250, 250), (250, 0, 250)]
B_COLOURS = [(10 * i + 20, 100, 200 - 10 * i) for i in range(8)]
BLACK = (0, 0, 0)


def flat_clip(colours: list[tuple[int, int, int]], width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    return np.array([np.full((height, width, 3), c, np.uint8) for c in colours])


def make_document(tmp_path: Path) -> Document:
    """
    frame  0      6      10      16
    V1     | a    | gap  | b     |      a: take ta frames 0–5; b: take tb from its frame 2 (in-point 2)
    """
    project_path = tmp_path / "film.shotline"
    media = tmp_path / "film.media"
    for name in ("ta", "tb"):
        (media / name).mkdir(parents=True)
    write_video(media / "ta" / "frames.mkv", flat_clip(A_COLOURS), Fraction(24))
    write_video(media / "tb" / "frames.mkv", flat_clip(B_COLOURS), Fraction(24))
    ta = Take(id="ta", cache_key="ta", media_path="ta/frames.mkv", frames=6, recipe={"seed": 1234})
    tb = Take(id="tb", cache_key="tb", media_path="tb/frames.mkv", frames=8, in_point=2)
    tb0 = Take(id="tb0", cache_key="tb0", media_path="tb0/frames.mkv", frames=8)
    a = Shot(id="a", start=0, duration=6, prompt="a red\nball", takes=(ta,), current_take="ta")
    b = Shot(id="b", start=10, duration=6, prompt="the sea", takes=(tb0, tb), current_take="tb")
    project = Project(fps=Fraction(24), width=WIDTH, height=HEIGHT, tracks=(Track("v1", "V1", items=(a, b)),))
    return Document(project, project_path)


@pytest.fixture
def frames() -> Iterator[FrameSource]:
    source = FrameSource()
    yield source
    source.shutdown()
    assert not [t for t in threading.enumerate() if t.name.startswith("shotline-frames")]


@pytest.fixture
def viewer(qtbot, tmp_path: Path, frames: FrameSource) -> Iterator[Viewer]:
    widget = Viewer(make_document(tmp_path), frames)
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    widget.setFocus()
    yield widget
    widget.pause()
    widget.hide()
    assert not widget.is_playing()
    assert not widget._play_timer.isActive() and not widget._preview_timer.isActive()


def centre(viewer: Viewer) -> tuple[int, int, int]:
    image = viewer.grab_picture()
    return image.pixelColor(image.width() // 2, image.height() // 2).getRgb()[:3]


def close(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return all(abs(x - y) <= 2 for x, y in zip(a, b, strict=True))


def test_shows_the_take_frame_under_the_playhead(qtbot, viewer: Viewer) -> None:
    viewer.set_frame(3)
    assert centre(viewer) == BLACK  # not decoded yet: black at once, never waiting
    assert viewer.frames.is_loading(viewer.document.path.with_suffix(".media") / "ta" / "frames.mkv")
    qtbot.waitUntil(lambda: close(centre(viewer), A_COLOURS[3]), timeout=5000)
    for frame in (0, 5, 1):
        viewer.set_frame(frame)
        assert close(centre(viewer), A_COLOURS[frame])
    assert viewer._timecode.text() == "00:00:00:01"
    assert viewer._frame_label.text() == "1"
    assert viewer.caption() == "a red ball · Take 1 of 1 · seed 1234"


def test_take_frames_start_at_the_in_point(qtbot, viewer: Viewer) -> None:
    viewer.set_frame(10)
    qtbot.waitUntil(lambda: close(centre(viewer), B_COLOURS[2]), timeout=5000)
    viewer.set_frame(15)
    assert close(centre(viewer), B_COLOURS[7])
    assert viewer.caption() == "the sea · Take 2 of 2"


def test_gap_is_black(qtbot, viewer: Viewer) -> None:
    viewer.set_frame(0)
    qtbot.waitUntil(lambda: close(centre(viewer), A_COLOURS[0]), timeout=5000)
    viewer.set_frame(7)
    assert centre(viewer) == BLACK
    assert viewer.caption() == "Gap"
    assert viewer.current_item() is None


def test_picture_is_letterboxed(qtbot, viewer: Viewer) -> None:
    viewer.resize(300, 500)  # a tall viewer: the 16:9 picture has bars above and below
    viewer.set_frame(0)
    qtbot.waitUntil(lambda: close(centre(viewer), A_COLOURS[0]), timeout=5000)
    image = viewer.grab_picture()
    assert image.height() > image.width()
    top = image.pixelColor(image.width() // 2, 2).getRgb()[:3]
    assert not close(top, A_COLOURS[0])


def test_playback_advances_and_stops_at_the_end(qtbot, viewer: Viewer) -> None:
    seen: list[int] = []
    viewer.frameChanged.connect(seen.append)
    viewer.play()
    assert viewer.is_playing()
    qtbot.waitUntil(lambda: viewer.frame() >= 3, timeout=3000)
    qtbot.waitUntil(lambda: not viewer.is_playing(), timeout=5000)
    assert viewer.frame() == 15 == viewer.length() - 1
    assert seen == sorted(seen) and seen[-1] == 15
    viewer.play()  # at the end: starts again from the beginning
    assert viewer.frame() == 0 and viewer.is_playing()
    viewer.pause()


def test_playback_keeps_time_with_the_clock(qtbot, viewer: Viewer) -> None:
    """Frame = elapsed time × fps: however slowly the ticks come, playback is never behind the clock."""
    viewer.play()
    qtbot.waitUntil(lambda: viewer.frame() >= 4, timeout=3000)
    elapsed = viewer._clock.nsecsElapsed() / 1e9
    viewer._on_play_tick()
    assert abs(viewer.frame() - int(elapsed * 24)) <= 2
    viewer.pause()


def test_keys_step_jump_and_shuttle(qtbot, viewer: Viewer) -> None:
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.frame() == 2
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.frame() == 1
    qtbot.keyClick(viewer, Qt.Key.Key_End)
    assert viewer.frame() == 15
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.frame() == 15  # clamped
    qtbot.keyClick(viewer, Qt.Key.Key_Home)
    assert viewer.frame() == 0
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    assert viewer.frame() == 0
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    assert viewer.is_playing() and viewer.speed() == 1
    qtbot.keyClick(viewer, Qt.Key.Key_Space)
    assert not viewer.is_playing()
    qtbot.keyClick(viewer, Qt.Key.Key_L)
    qtbot.keyClick(viewer, Qt.Key.Key_L)
    assert viewer.speed() == 2
    qtbot.keyClick(viewer, Qt.Key.Key_L)
    qtbot.keyClick(viewer, Qt.Key.Key_L)
    assert viewer.speed() == 4
    qtbot.keyClick(viewer, Qt.Key.Key_J)
    assert viewer.speed() == -1
    qtbot.keyClick(viewer, Qt.Key.Key_J)
    assert viewer.speed() == -2
    qtbot.keyClick(viewer, Qt.Key.Key_K)
    assert not viewer.is_playing() and viewer.speed() == 0


def test_backwards_play_stops_at_the_start(qtbot, viewer: Viewer) -> None:
    viewer.set_frame(8)
    viewer.shuttle(-1)
    viewer.shuttle(-1)  # 2× backwards
    qtbot.waitUntil(lambda: not viewer.is_playing(), timeout=3000)
    assert viewer.frame() == 0


def test_scrub_slider_moves_the_playhead(qtbot, viewer: Viewer) -> None:
    assert viewer._slider.maximum() == 15
    with qtbot.waitSignal(viewer.frameChanged) as blocker:
        viewer._slider.setValue(12)
    assert blocker.args == [12] and viewer.frame() == 12


def test_live_preview_replaces_the_take_while_set(qtbot, viewer: Viewer, frames: FrameSource) -> None:
    viewer.set_frame(2)
    qtbot.waitUntil(lambda: close(centre(viewer), A_COLOURS[2]), timeout=5000)
    preview_colours = [(255, 128, 0), (128, 0, 255), (0, 128, 64)]
    frames.set_preview("a", flat_clip(preview_colours, 8, 8))
    assert viewer.notes()[1] == "rendering…"
    assert "rendering…" in viewer.caption()
    seen: set[tuple[int, int, int]] = set()

    def cycled() -> bool:
        seen.add(centre(viewer))
        return len(seen & set(preview_colours)) >= 2

    qtbot.waitUntil(cycled, timeout=3000)  # the preview plays through its frames
    assert seen <= set(preview_colours)
    frames.set_preview("b", flat_clip(preview_colours, 8, 8))
    frames.set_preview("a", None)
    assert close(centre(viewer), A_COLOURS[2])  # b's preview belongs to b only
    assert viewer.notes() == ("", "")
    frames.set_preview("b", None)


def test_follows_document_changes_and_clamps_the_playhead(qtbot, viewer: Viewer) -> None:
    viewer.set_frame(14)
    with qtbot.waitSignal(viewer.frameChanged) as blocker:
        viewer.document.apply(edits.remove_item, "b")
    assert blocker.args == [5] and viewer.frame() == 5
    assert viewer._slider.maximum() == 5
    qtbot.waitUntil(lambda: close(centre(viewer), A_COLOURS[5]), timeout=5000)
    viewer.document.apply(edits.set_current_take, "a", None)
    assert centre(viewer) == BLACK
    assert "not rendered yet" in viewer.caption()
    assert viewer.notes()[0].startswith("Not rendered yet")


def test_a_missing_take_file_is_explained(qtbot, viewer: Viewer, frames: FrameSource) -> None:
    viewer.document.apply(edits.set_current_take, "b", "tb0")  # its file was never written
    viewer.set_frame(10)
    qtbot.waitUntil(lambda: viewer.notes()[0].startswith("Can't show this take"), timeout=5000)
    assert centre(viewer) == BLACK


def test_deleted_viewer_stops_listening_to_the_document(qtbot, tmp_path: Path, frames: FrameSource) -> None:
    document = make_document(tmp_path)
    widget = Viewer(document, frames)
    widget.deleteLater()
    qtbot.waitUntil(lambda: not document.changed._callbacks, timeout=2000)
    document.apply(edits.remove_item, "b")  # nothing left to call
