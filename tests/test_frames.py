"""Tests for app.frames.FrameSource: decoding off the Qt thread, the byte-bounded cache, errors, previews."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from app.frames import FrameSource
from engine.errors import MediaError
from engine.media import write_video


def flat_clip(colours: list[tuple[int, int, int]], width: int = 16, height: int = 8) -> np.ndarray:
    """uint8 [T, H, W, 3], frame t a flat `colours[t]`."""
    return np.array([np.full((height, width, 3), c, np.uint8) for c in colours])


COLOURS = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (200, 200, 0)]


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.mkv", flat_clip(COLOURS), Fraction(24))


def frame_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("shotline-frames")]


@pytest.fixture
def frames(qtbot) -> Iterator[FrameSource]:
    source = FrameSource()
    yield source
    source.shutdown()
    assert not frame_threads(), "FrameSource left decoding threads running"


def test_frame_is_none_until_decoded_then_ready(qtbot, frames: FrameSource, clip: Path) -> None:
    with qtbot.waitSignal(frames.ready, timeout=5000) as blocker:
        assert frames.frame(clip, 1) is None  # scheduled, not waited for
        assert frames.is_loading(clip)
    assert blocker.args == [str(clip)]
    assert not frames.is_loading(clip)
    assert frames.frame_count(clip) == 4
    for index, colour in enumerate(COLOURS):
        frame = frames.frame(clip, index)
        assert frame.shape == (8, 16, 3) and frame.dtype == np.uint8
        assert tuple(frame[4, 8]) == colour
    assert frames.frame(clip, 4) is None and frames.frame(clip, -1) is None
    assert frames.cached_bytes == 4 * 8 * 16 * 3


def test_image_copies_the_pixels_and_scales_down(qtbot, frames: FrameSource, clip: Path) -> None:
    assert frames.image(clip, 2) is None
    assert frames.wait_idle(5000)
    image = frames.image(clip, 2)
    assert (image.width(), image.height()) == (16, 8)
    frames.invalidate(clip)  # the decoded array is gone; the QImage keeps its own copy
    assert image.pixelColor(8, 4).getRgb()[:3] == COLOURS[2]
    frames.frame(clip, 0)
    assert frames.wait_idle(5000)
    thumb = frames.image(clip, 3, max_height=4)
    assert (thumb.width(), thumb.height()) == (8, 4)
    assert thumb.pixelColor(4, 2).getRgb()[:3] == COLOURS[3]
    assert frames.image(clip, 3, max_height=4) is thumb  # thumbnails are cached


def test_unreadable_file_is_reported_once_and_not_retried(qtbot, frames: FrameSource, tmp_path: Path) -> None:
    missing = tmp_path / "gone.mkv"
    with qtbot.waitSignal(frames.failed, timeout=5000) as blocker:
        assert frames.frame(missing, 0) is None
    assert blocker.args == [str(missing)]
    error = frames.error(missing)
    assert isinstance(error, MediaError) and "gone.mkv" in error.message
    with qtbot.assertNotEmitted(frames.failed, wait=100):
        assert frames.frame(missing, 0) is None
        assert not frames.is_loading(missing)
    # once the file exists and the view says it changed, it is decoded again
    write_video(missing, flat_clip(COLOURS[:2]), Fraction(24))
    frames.invalidate(missing)
    assert frames.error(missing) is None
    with qtbot.waitSignal(frames.ready, timeout=5000):
        frames.frame(missing, 0)
    assert tuple(frames.frame(missing, 1)[0, 0]) == COLOURS[1]


def test_damaged_file_gives_a_plain_error(qtbot, frames: FrameSource, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"not a video at all" * 10)
    with qtbot.waitSignal(frames.failed, timeout=5000):
        frames.frame(junk, 0)
    assert frames.error(junk).message and frames.error(junk).detail


def test_cache_evicts_the_least_recently_used_clip(qtbot, tmp_path: Path) -> None:
    clip_bytes = 4 * 8 * 16 * 3
    source = FrameSource(budget_bytes=2 * clip_bytes + 10)
    try:
        paths = [write_video(tmp_path / f"c{i}.mkv", flat_clip(COLOURS), Fraction(24)) for i in range(3)]
        for path in paths[:2]:
            source.frame(path, 0)
        assert source.wait_idle(5000)
        source.frame(paths[0], 0)  # c0 used more recently than c1
        source.frame(paths[2], 0)
        assert source.wait_idle(5000)
        assert source.cached_bytes <= 2 * clip_bytes + 10
        assert source.frame(paths[0], 0) is not None
        assert source.frame(paths[2], 0) is not None
        assert source.frame(paths[1], 0) is None  # evicted: decoding again
        assert source.is_loading(paths[1])
        assert source.wait_idle(5000)
    finally:
        source.shutdown()


def test_clip_longer_than_the_cache_is_cut_with_a_warning(qtbot, tmp_path: Path) -> None:
    source = FrameSource(budget_bytes=2 * 8 * 16 * 3)
    try:
        path = write_video(tmp_path / "long.mkv", flat_clip(COLOURS), Fraction(24))
        with qtbot.waitSignal(source.ready, timeout=5000):
            source.frame(path, 0)
        assert source.frame_count(path) == 2
        assert "first 2 frames" in source.error(path).message
    finally:
        source.shutdown()


def test_invalidate_while_decoding_drops_the_stale_result(qtbot, frames: FrameSource, clip: Path) -> None:
    frames.frame(clip, 0)
    frames.invalidate(clip)
    assert not frames.is_loading(clip)
    with qtbot.waitSignal(frames.ready, timeout=5000):
        frames.frame(clip, 0)  # a fresh decode
    assert frames.frame(clip, 0) is not None


def test_preview_frames_are_kept_per_shot(qtbot, frames: FrameSource) -> None:
    preview = flat_clip(COLOURS[:3], 4, 4)
    with qtbot.waitSignal(frames.previewChanged, timeout=1000) as blocker:
        frames.set_preview("shot-1", preview)
    assert blocker.args == ["shot-1"]
    np.testing.assert_array_equal(frames.preview("shot-1"), preview)
    assert frames.preview("shot-2") is None
    with qtbot.waitSignal(frames.previewChanged, timeout=1000):
        frames.set_preview("shot-1", preview[0])  # one frame
    assert frames.preview("shot-1").shape == (1, 4, 4, 3)
    with qtbot.waitSignal(frames.previewChanged, timeout=1000):
        frames.set_preview("shot-1", None)
    assert frames.preview("shot-1") is None
    with qtbot.assertNotEmitted(frames.previewChanged):
        frames.set_preview("shot-1", None)  # nothing to end
    with pytest.raises(ValueError):
        frames.set_preview("shot-1", np.zeros((2, 4, 4), np.float32))


def test_after_shutdown_requests_return_none(qtbot, clip: Path) -> None:
    source = FrameSource()
    source.shutdown()
    assert source.frame(clip, 0) is None
    assert not source.is_loading(clip)
    assert source.wait_idle(100)
    assert not frame_threads()
