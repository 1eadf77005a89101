"""Tests for engine.media: round trips, atomic writes and clear errors on bad input."""

from __future__ import annotations

import errno
import json
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from engine.errors import MediaError
from engine.media import Video, read_image, read_metadata, read_video, to_fraction, write_video, writing


def make_clip(frames: int = 10, height: int = 48, width: int = 64) -> np.ndarray:  # [T, H, W, 3] uint8
    """Smooth gradients with a soft-edged lighter square moving across them (compresses like footage)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    clip = np.empty((frames, height, width, 3), np.uint8)
    size = min(height, width) // 3
    for t in range(frames):
        base = np.stack(
            [
                60 + 140 * x / max(width - 1, 1),
                50 + 120 * y / max(height - 1, 1),
                110 + 40 * np.sin((x + y + 3 * t) / 12.0),
            ],
            axis=-1,
        )
        left = 2 + t * (width - size - 4) / max(frames - 1, 1)
        top = height / 4
        # 1 inside the square, ramping to 0 over ~3 px at its edges
        distance = np.minimum.reduce([x - left, left + size - x, y - top, top + size - y])
        inside = np.clip(distance / 3 + 0.5, 0, 1)[..., None]
        frame = base * (1 - inside) + (0.4 * base + 130) * inside
        clip[t] = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    return clip


def save_png(path: Path, image: np.ndarray) -> None:
    """Write `[H, W, 3]` (RGB) or `[H, W, 4]` (RGBA) uint8 as a PNG, keeping the alpha channel."""
    pix_fmt = "rgba" if image.shape[-1] == 4 else "rgb24"
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = image.shape[1], image.shape[0], pix_fmt
    packets = encoder.encode(av.VideoFrame.from_ndarray(image, format=pix_fmt))
    path.write_bytes(b"".join(bytes(packet) for packet in packets))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def dir_listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------------------------------
# to_fraction


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, Fraction(12)),
        (24.0, Fraction(24)),
        (23.976, Fraction(24000, 1001)),
        (23.98, Fraction(24000, 1001)),
        (29.97, Fraction(30000, 1001)),
        (59.94, Fraction(60000, 1001)),
        (24000 / 1001, Fraction(24000, 1001)),
        (12.5, Fraction(25, 2)),
        (Fraction(24000, 1001), Fraction(24000, 1001)),
    ],
)
def test_to_fraction(value: float | int | Fraction, expected: Fraction) -> None:
    assert to_fraction(value) == expected


@pytest.mark.parametrize("value", [0, -24, float("nan"), float("inf"), Fraction(0), "24", True])
def test_to_fraction_rejects_nonsense(value: object) -> None:
    with pytest.raises(MediaError):
        to_fraction(value)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize(
    ("name", "fps", "min_psnr"),
    [
        ("clip.mp4", Fraction(12), 35.0),
        ("clip.mp4", Fraction(24000, 1001), 35.0),
        ("clip.mov", Fraction(12), 35.0),
        ("clip.mkv", Fraction(24000, 1001), None),  # None: bit-exact
    ],
)
def test_round_trip_containers(tmp_path: Path, name: str, fps: Fraction, min_psnr: float | None) -> None:
    clip = make_clip(10, 48, 64)
    out = write_video(tmp_path / name, clip, fps)
    assert out == tmp_path / name
    assert out.is_file()
    video = read_video(out)
    assert isinstance(video, Video)
    assert video.frames.dtype == np.uint8
    assert video.frames.shape == clip.shape
    assert (video.frame_count, video.height, video.width) == (10, 48, 64)
    assert video.fps == fps
    assert isinstance(video.fps, Fraction)
    if min_psnr is None:
        np.testing.assert_array_equal(video.frames, clip)
    else:
        assert psnr(video.frames, clip) > min_psnr


def test_round_trip_codecs(tmp_path: Path) -> None:
    clip = make_clip(9)
    expected = {"clip.mp4": "h264", "clip.mov": "prores", "clip.mkv": "ffv1"}
    for name, codec in expected.items():
        with av.open(str(write_video(tmp_path / name, clip, 12))) as container:
            assert container.streams.video[0].codec_context.name == codec
    with av.open(str(tmp_path / "clip.mov")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.pix_fmt == "yuv422p10le"
        assert stream.profile == "HQ"


def test_read_snaps_approximate_ntsc_rate(tmp_path: Path) -> None:
    # some cameras tag 29.97 as 2997/100; Shotline treats it as the exact NTSC rate
    out = write_video(tmp_path / "ntsc.mp4", make_clip(9), Fraction(2997, 100))
    assert read_video(out).fps == Fraction(30000, 1001)


def test_mp4_quality_levels_trade_size(tmp_path: Path) -> None:
    clip = make_clip(12, 64, 96)
    high = write_video(tmp_path / "high.mp4", clip, 12, quality="high")
    draft = write_video(tmp_path / "draft.mp4", clip, 12, quality="draft")
    assert draft.stat().st_size < high.stat().st_size
    assert psnr(read_video(high).frames, clip) > psnr(read_video(draft).frames, clip)
    with pytest.raises(MediaError):
        write_video(tmp_path / "x.mp4", clip, 12, quality="best")


def test_png_folder_round_trip(tmp_path: Path) -> None:
    clip = make_clip(9)
    folder = tmp_path / "frames"
    out = write_video(str(folder) + os.sep, clip, Fraction(24000, 1001), metadata={"title": "Shot 3"})
    assert out == folder
    names = dir_listing(folder)
    assert names == [f"frame_{i:05d}.png" for i in range(9)] + ["metadata.json"]
    info = json.loads((folder / "metadata.json").read_text())
    assert info["metadata"] == {"title": "Shot 3"}
    assert read_metadata(folder) == {"title": "Shot 3"}
    video = read_video(folder)
    np.testing.assert_array_equal(video.frames, clip)
    assert video.fps == Fraction(24000, 1001)


def test_png_format_into_existing_folder_replaces_longer_sequence(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    write_video(folder, make_clip(12), 12)
    short = make_clip(5)[::-1].copy()
    write_video(folder, short, 12, format="png")
    assert dir_listing(folder) == [f"frame_{i:05d}.png" for i in range(5)] + ["metadata.json", "notes.txt"]
    np.testing.assert_array_equal(read_video(folder).frames, short)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_odd_size_mp4_keeps_its_size(tmp_path: Path) -> None:
    clip = make_clip(9, 49, 65)
    video = read_video(write_video(tmp_path / "odd.mp4", clip, 12))
    assert video.frames.shape == (9, 49, 65, 3)
    assert psnr(video.frames, clip) > 35.0


def test_odd_width_prores_keeps_its_size(tmp_path: Path) -> None:
    # width % 16 == 1 is where FFmpeg's 4:2:2 ProRes breaks down; the writer switches to 4444 there
    clip = make_clip(9, 49, 65)
    out = write_video(tmp_path / "odd.mov", clip, 12)
    video = read_video(out)
    assert video.frames.shape == (9, 49, 65, 3)
    assert psnr(video.frames, clip) > 35.0
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "prores"


def test_generator_input(tmp_path: Path) -> None:
    clip = make_clip(10)
    out = write_video(tmp_path / "gen.mkv", (frame for frame in clip), 12)
    np.testing.assert_array_equal(read_video(out).frames, clip)


@pytest.mark.parametrize("name", ["meta.mp4", "meta.mov", "meta.mkv"])
def test_metadata_round_trip(tmp_path: Path, name: str) -> None:
    metadata = {"comment": "seed 42, steps 30", "title": "Shot 3", "shotline_take": "take-0007"}
    out = write_video(tmp_path / name, make_clip(9), 12, metadata=metadata)
    with av.open(str(out)) as container:
        stored = {key.lower(): value for key, value in container.metadata.items()}
    for key, value in metadata.items():
        assert stored[key] == value
    assert read_metadata(out).items() >= metadata.items()


def test_explicit_format_overrides_extension(tmp_path: Path) -> None:
    out = write_video(tmp_path / "cache.bin", make_clip(9), 12, format="ffv1")
    assert out == tmp_path / "cache.bin"
    with av.open(str(out)) as container:
        assert container.streams.video[0].codec_context.name == "ffv1"


def test_max_frames_and_read_image(tmp_path: Path) -> None:
    clip = make_clip(10)
    out = write_video(tmp_path / "clip.mkv", clip, 12)
    assert read_video(out, max_frames=4).frame_count == 4
    np.testing.assert_array_equal(read_image(out), clip[0])
    with pytest.raises(MediaError):
        read_video(out, max_frames=0)


# --------------------------------------------------------------------------------------------------
# Stills and other inputs


def test_png_with_alpha_is_composited_over_black(tmp_path: Path) -> None:
    rgba = np.zeros((48, 64, 4), np.uint8)
    rgba[..., :3] = (200, 100, 50)
    rgba[:, :32, 3] = 255  # left half opaque
    rgba[:, 32:48, 3] = 128  # then half transparent
    # the rest fully transparent
    path = tmp_path / "alpha.png"
    save_png(path, rgba)
    video = read_video(path, default_fps=24)
    assert video.frames.shape == (1, 48, 64, 3)
    assert video.fps == 24
    image = video.frames[0]
    np.testing.assert_array_equal(image[:, :32], np.broadcast_to([200, 100, 50], (48, 32, 3)))
    np.testing.assert_allclose(
        image[:, 32:48].astype(int), np.broadcast_to([100, 50, 25], (48, 16, 3)), atol=1
    )
    assert image[:, 48:].max() == 0


def test_jpeg_still(tmp_path: Path) -> None:
    clip = make_clip(1, 48, 64)
    path = tmp_path / "still.jpg"
    av.VideoFrame.from_ndarray(clip[0], format="rgb24").save(str(path))
    video = read_video(path)
    assert video.frames.shape == (1, 48, 64, 3)
    assert video.fps == 12
    assert psnr(video.frames, clip) > 30.0
    assert read_image(path).shape == (48, 64, 3)


def test_gif_reads_as_video(tmp_path: Path) -> None:
    clip = make_clip(6)
    path = tmp_path / "anim.gif"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb8"
        for i, frame in enumerate(clip):
            encoded = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="rgb8")
            encoded.pts = i
            container.mux(stream.encode(encoded))
        container.mux(stream.encode(None))
    video = read_video(path)
    assert video.frames.shape == (6, 48, 64, 3)
    assert video.fps == 10


def test_variable_frame_rate_keeps_every_frame(tmp_path: Path) -> None:
    clip = make_clip(8)
    path = tmp_path / "vfr.mkv"
    timestamps_ms = [0, 40, 80, 200, 240, 400, 440, 480]  # irregular gaps, like a phone recording
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "bgr0"
        stream.codec_context.time_base = Fraction(1, 1000)
        for frame, ms in zip(clip, timestamps_ms, strict=True):
            encoded = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="bgr0")
            encoded.pts, encoded.time_base = ms, Fraction(1, 1000)
            container.mux(stream.encode(encoded))
        container.mux(stream.encode(None))
    video = read_video(path)
    np.testing.assert_array_equal(video.frames, clip)
    assert isinstance(video.fps, Fraction)
    assert 0 < video.fps <= 50


@pytest.mark.parametrize(
    ("name", "codec", "pix_fmt"), [("clip.webm", "libvpx-vp9", "yuv420p"), ("clip.avi", "mjpeg", "yuvj420p")]
)
def test_other_containers(tmp_path: Path, name: str, codec: str, pix_fmt: str) -> None:
    clip = make_clip(9)
    path = tmp_path / name
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 48, pix_fmt
        for i, frame in enumerate(clip):
            encoded = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format=pix_fmt)
            encoded.pts = i
            container.mux(stream.encode(encoded))
        container.mux(stream.encode(None))
    video = read_video(path)
    assert video.frames.shape == clip.shape
    assert video.fps == 12
    assert psnr(video.frames, clip) > 25.0


# --------------------------------------------------------------------------------------------------
# Atomic writes


@pytest.fixture
def existing(tmp_path: Path) -> tuple[Path, bytes]:
    target = tmp_path / "shot.mp4"
    write_video(target, make_clip(9), 12)
    return target, target.read_bytes()


def test_generator_failure_leaves_target_untouched(tmp_path: Path, existing: tuple[Path, bytes]) -> None:
    target, before = existing

    def frames():
        clip = make_clip(9)
        yield clip[0]
        yield clip[1]
        raise RuntimeError("sampler crashed")

    with pytest.raises(RuntimeError, match="sampler crashed"):
        write_video(target, frames(), 12)
    assert target.read_bytes() == before
    assert dir_listing(tmp_path) == ["shot.mp4"]


def test_keyboard_interrupt_leaves_target_untouched(tmp_path: Path, existing: tuple[Path, bytes]) -> None:
    target, before = existing

    def frames():
        yield make_clip(1)[0]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_video(target, frames(), 12)
    assert target.read_bytes() == before
    assert dir_listing(tmp_path) == ["shot.mp4"]


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((9, 48, 64, 4), np.uint8),  # RGBA
        np.zeros((9, 48, 64, 3), np.float32),  # not uint8
        np.zeros((48, 64, 3), np.uint8),  # a single frame, not [T, H, W, 3]
        np.zeros((0, 48, 64, 3), np.uint8),  # no frames
        [np.zeros((48, 64, 3), np.uint8), np.zeros((48, 66, 3), np.uint8)],  # size changes mid-way
        [np.zeros((48, 64, 3), np.uint8), np.zeros((48, 64), np.uint8)],  # grey frame mid-way
        [],
    ],
    ids=["rgba", "float", "3d", "empty", "size-change", "grey-frame", "empty-list"],
)
def test_bad_frames_leave_target_untouched(tmp_path: Path, existing: tuple[Path, bytes], bad: object) -> None:
    target, before = existing
    with pytest.raises(MediaError):
        write_video(target, bad, 12)  # type: ignore[arg-type]
    assert target.read_bytes() == before
    assert dir_listing(tmp_path) == ["shot.mp4"]


def test_bad_fps_is_refused(tmp_path: Path, existing: tuple[Path, bytes]) -> None:
    target, before = existing
    for fps in (0, -12, float("nan")):
        with pytest.raises(MediaError):
            write_video(target, make_clip(9), fps)
    assert target.read_bytes() == before


def test_png_folder_failure_leaves_folder_untouched(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    write_video(folder, make_clip(9), 12, format="png")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def frames():
        yield from make_clip(3)[::-1]
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        write_video(folder, frames(), 12)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert dir_listing(tmp_path) == ["frames"]


def test_write_errors_are_media_errors(tmp_path: Path) -> None:
    clip = make_clip(9)
    with pytest.raises(MediaError, match="does not exist"):
        write_video(tmp_path / "missing" / "shot.mp4", clip, 12)
    with pytest.raises(MediaError, match=r"\.mp4"):
        write_video(tmp_path / "shot.avi", clip, 12)
    with pytest.raises(MediaError):
        write_video(tmp_path / "shot.mp4", clip, 12, format="webm")
    with pytest.raises(MediaError):
        write_video(tmp_path / "shot.mp4", clip, 12, metadata={"comment": 3})  # type: ignore[dict-item]
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(MediaError):
        write_video(tmp_path / "file", clip, 12, format="png")
    assert dir_listing(tmp_path) == ["file"]


@pytest.fixture
def unwritable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A folder this process may not create files in: a read-only one, or sysfs when running as root
    (root ignores permission bits, but the kernel refuses new files in /sys even to root). Where neither
    exists, the kernel's refusal (EACCES) is given to the writer's first file call in a plain folder."""
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        yield locked
        locked.chmod(0o700)
    elif Path("/sys/kernel").is_dir():
        yield Path("/sys/kernel")
    else:

        class RefusingOs:  # the writer's view of `os` only: everything else keeps the real one
            def __getattr__(self, name: str):
                return getattr(os, name)

            @staticmethod
            def open(path, *args, **kwargs):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))

        monkeypatch.setattr(writing, "os", RefusingOs())
        yield tmp_path


def test_permission_denied_is_a_media_error(unwritable_folder: Path) -> None:
    with pytest.raises(MediaError, match="not allowed"):
        write_video(unwritable_folder / "shot.mp4", make_clip(9), 12)
    assert not (unwritable_folder / "shot.mp4").exists()


# --------------------------------------------------------------------------------------------------
# Read errors


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="could not be found"):
        read_video(tmp_path / "nope.mp4")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        read_video(path)


def test_garbage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "garbage.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(MediaError) as info:
        read_video(path)
    assert "garbage.mp4" in info.value.message
    assert info.value.detail


@pytest.mark.parametrize("fraction", [0.3, 0.7])
def test_truncated_mp4(tmp_path: Path, fraction: float) -> None:
    whole = write_video(tmp_path / "whole.mp4", make_clip(12, 64, 96), 12).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: int(len(whole) * fraction)])
    with pytest.raises(MediaError, match="damaged"):
        read_video(cut)


def test_truncated_mp4_reports_frames_read(tmp_path: Path) -> None:
    whole = write_video(tmp_path / "whole.mp4", make_clip(12, 64, 96), 12).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: int(len(whole) * 0.9)])
    with pytest.raises(MediaError, match=r"only \d+ of 12 frames") as info:
        read_video(cut)
    assert "cut.mp4" in info.value.detail


def test_stream_without_index_that_ends_early_is_kept(tmp_path: Path) -> None:
    clip = make_clip(12)
    whole = write_video(tmp_path / "whole.mkv", clip, 12).read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole[: int(len(whole) * 0.6)])
    video = read_video(cut)
    assert 0 < video.frame_count < 12
    np.testing.assert_array_equal(video.frames, clip[: video.frame_count])


def test_audio_only_file(tmp_path: Path) -> None:
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        for i in range(10):
            samples = np.zeros((1, 1024), np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 44100
            frame.pts = i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(MediaError, match="sound"):
        read_video(path)


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no PNG frames"):
        read_video(tmp_path)


def test_folder_of_mismatched_frames(tmp_path: Path) -> None:
    save_png(tmp_path / "frame_00000.png", make_clip(1)[0])
    save_png(tmp_path / "frame_00001.png", make_clip(1, 32, 32)[0])
    with pytest.raises(MediaError, match="same size"):
        read_video(tmp_path)


def test_absurd_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "wide.png"
    save_png(path, np.zeros((2, 9000, 3), np.uint8))
    with pytest.raises(MediaError, match="8192"):
        read_video(path)
