"""Media a filmmaker might drop on the timeline or pass to the CLI: cut short, corrupted, empty, tiny, odd,
huge, with alpha, variable frame rate, sound only. Each is imported correctly or refused with a message that
names the file, through both the engine's reader and the app's import probe, quickly and without a crash.
"""

from __future__ import annotations

import random
import resource
import struct
import time
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from app.media_probe import probe_media
from engine.errors import MediaError
from engine.media import MAX_SIDE, Video, read_video, write_video

SLOW_S = 10.0  # no file may take longer than this to read or refuse (a hang is a failure)
CUTS = 16  # truncation points per container; ×5 with --runslow
FLIPS = 20  # corrupted copies per container; ×5 with --runslow


def clip(frames: int = 12, height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:  # [T, H, W, 3]
    """Gradients with a square sliding across: compresses like footage, every frame different."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        out[t, ..., 0] = 40 + 150 * x / max(width - 1, 1)
        out[t, ..., 1] = 50 + 120 * y / max(height - 1, 1)
        out[t, ..., 2] = 100 + seed
        x0 = (3 * t) % max(width - 8, 1)
        out[t, height // 3 : height // 3 + 8, x0 : x0 + 8] = (230, 40, 30)
    return out


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG header claiming `width`×`height` RGB, followed by only a few rows of pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * (min(width, 4096) * 3) for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A JPEG whose frame header (SOF0) claims `width`×`height`, with no real image data."""
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


def save_png(path: Path, image: np.ndarray) -> Path:
    """`[H, W, 3|4]` uint8 (RGB or RGBA) as a PNG, alpha kept."""
    pix_fmt = "rgba" if image.shape[-1] == 4 else "rgb24"
    encoder = av.CodecContext.create("png", "w")
    encoder.width, encoder.height, encoder.pix_fmt = image.shape[1], image.shape[0], pix_fmt
    packets = encoder.encode(av.VideoFrame.from_ndarray(image, format=pix_fmt))
    path.write_bytes(b"".join(bytes(packet) for packet in packets))
    return path


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def outcome(path: Path, area, label: str) -> Video | None:
    """Read `path` with the engine's reader and the app's import probe and check the contract; returns the
    video, or None when it was refused."""
    video = None
    for reader in (read_video, probe_media):
        started = time.perf_counter()
        try:
            result = reader(path)
        except MediaError as error:
            if path.name not in error.message:
                area.fail(f"{label}: {reader.__name__}'s message does not name the file: {error.message!r}")
            if not error.message.rstrip().endswith((".", ")")) or "\n" in error.message:
                area.fail(f"{label}: {reader.__name__}'s message is not one sentence: {error.message!r}")
            if not error.detail:
                area.fail(f"{label}: {reader.__name__} gives no technical detail")
            result = None
        except Exception as crash:
            area.fail(f"{label}: {reader.__name__} raised {type(crash).__name__}: {crash!s:.200}")
            result = None
        elapsed = time.perf_counter() - started
        if elapsed > SLOW_S:
            area.fail(f"{label}: {reader.__name__} took {elapsed:.1f} s")
        if reader is read_video and result is not None:
            video = result
            frames = result.frames
            if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or 0 in frames.shape:
                area.fail(f"{label}: read_video gave frames {frames.dtype} {frames.shape}")
            if not (isinstance(result.fps, Fraction) and result.fps > 0):
                area.fail(f"{label}: read_video gave the frame rate {result.fps!r}")
        probed_nothing = reader is probe_media and result is not None and result < 1
        if probed_nothing and video is not None and video.frame_count > 1:
            area.fail(f"{label}: the import probe counts {result} frames")
    return video


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, tuple[Path, np.ndarray]]:
    folder = tmp_path_factory.mktemp("originals")
    source = clip(12, 48, 64)
    return {
        suffix: (write_video(folder / f"whole{suffix}", source, 12), source)
        for suffix in (".mp4", ".mov", ".mkv")
    }


def _similar(a: np.ndarray, b: np.ndarray, exact: bool) -> bool:
    if a.shape != b.shape:
        return False
    difference = np.abs(a.astype(np.int16) - b.astype(np.int16)).mean()
    return difference == 0 if exact else difference < 8


def test_files_cut_short_at_any_point(tmp_path, originals, ledger, scale):
    rng = random.Random(1)
    counts = {"imported": 0, "refused": 0}
    with ledger.area("media", "truncated files") as area:
        for suffix, (path, source) in originals.items():
            whole = path.read_bytes()
            cuts = sorted(
                {0, 1, 8, 64, len(whole) - 1, *(rng.randrange(len(whole)) for _ in range(CUTS * scale))}
            )
            for cut in cuts:
                damaged = tmp_path / f"cut{suffix}"
                damaged.write_bytes(whole[:cut])
                label = f"{suffix} cut at {cut}/{len(whole)}"
                area.tried()
                video = outcome(damaged, area, label)
                counts["imported" if video is not None else "refused"] += 1
                # What is imported from a cut file is the start of the clip, never other pictures.
                if video is not None and not _similar(
                    video.frames, source[: video.frame_count], suffix == ".mkv"
                ):
                    area.fail(
                        f"{label}: imported {video.frames.shape} frames that are not the clip's first ones"
                    )
        area.note("imported (a prefix)", counts["imported"])
        area.note("refused", counts["refused"])
    assert counts["refused"] > 0


def test_corrupted_bytes_anywhere(tmp_path, originals, ledger, scale):
    rng = random.Random(2)
    with ledger.area("media", "corrupted files") as area:
        for suffix, (path, _) in originals.items():
            whole = path.read_bytes()
            for index in range(FLIPS * scale):
                data = bytearray(whole)
                for _ in range(rng.choice([1, 4, 64])):
                    data[rng.randrange(len(data))] = rng.randrange(256)
                if index % 4 == 0:  # a block of garbage, as a bad sector or a failed transfer leaves
                    start = rng.randrange(len(data))
                    data[start : start + 512] = rng.randbytes(min(512, len(data) - start))
                damaged = tmp_path / f"bad{suffix}"
                damaged.write_bytes(bytes(data))
                area.tried()
                outcome(damaged, area, f"{suffix} corrupted #{index}")


def _zero_frame_file(path: Path, codec: str, pix_fmt: str) -> Path:
    container = av.open(str(path), "w")
    stream = container.add_stream(codec, rate=12)
    stream.width, stream.height, stream.pix_fmt = 64, 48, pix_fmt
    container.start_encoding()  # the header is written; no frame ever is
    container.close()
    return path


def _vfr_mp4(path: Path, frames: np.ndarray, times_ms: list[int]) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.codec_context.options = {"crf": "10", "bf": "0"}
        for frame, ms in zip(frames, times_ms, strict=True):
            encoded = av.VideoFrame.from_ndarray(frame, format="rgb24")
            encoded.pts, encoded.time_base = ms, Fraction(1, 1000)
            container.mux(stream.encode(encoded))
        container.mux(stream.encode(None))
    return path


def _sound_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=44100)
        for i in range(8):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _latin1_title(path: Path) -> Path:
    """A good clip whose title tag is Latin-1, not UTF-8 (as older cameras and editors write them)."""
    write_video(path, clip(4), 12, metadata={"title": "café"})
    data = path.read_bytes()
    assert data.count("café".encode()) == 1
    path.write_bytes(data.replace("café".encode(), "café!".encode("latin-1")))  # same length: still valid
    return path


def test_unusual_files_are_imported_or_refused_clearly(tmp_path, ledger):
    """Each case: how to make the file, then what must come of it (frames/size, or words in the refusal)."""
    rgba = np.zeros((6, 10, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[:, :5, 3] = 255  # left half opaque, right half fully transparent
    rgba[:, 5:, 3] = 0
    vfr_frames = clip(8, 48, 64)
    cases = {
        "random.mp4": (lambda p: p.write_bytes(random.Random(3).randbytes(50_000)), "could not be opened"),
        "page.mp4": (
            lambda p: p.write_bytes(b"<!doctype html><title>404</title>Not found"),
            "could not be opened",
        ),
        "empty.mov": (lambda p: p.write_bytes(b""), "empty"),
        "notes.png": (lambda p: p.write_bytes(b"just some text, not a picture"), "damaged"),
        "zero frames.mp4": (lambda p: _zero_frame_file(p, "libx264", "yuv420p"), "no video"),
        "zero frames.mkv": (lambda p: _zero_frame_file(p, "ffv1", "bgr0"), "could not be opened"),
        "sound.m4a": (_sound_only, "only contains sound"),
        "huge.png": (lambda p: p.write_bytes(png_claiming(100_000, 100_000)), "100000×100000"),
        "wide.png": (lambda p: p.write_bytes(png_claiming(MAX_SIDE + 1, 300)), f"{MAX_SIDE + 1}×300"),
        "huge.jpg": (lambda p: p.write_bytes(jpeg_claiming(40_000, 30_000)), "40000×30000"),
        "one pixel.png": (lambda p: save_png(p, np.full((1, 1, 3), 77, np.uint8)), (1, 1, 1, 3)),
        "one pixel.mp4": (lambda p: write_video(p, clip(4, 1, 1), 12), (4, 1, 1, 3)),
        "one pixel.mov": (lambda p: write_video(p, clip(4, 1, 1), 12), (4, 1, 1, 3)),
        "odd size.mp4": (lambda p: write_video(p, clip(5, 81, 127), 12), (5, 81, 127, 3)),
        "odd size.mov": (lambda p: write_video(p, clip(5, 81, 127), 12), (5, 81, 127, 3)),
        "odd size.mkv": (lambda p: write_video(p, clip(5, 81, 127), 12), (5, 81, 127, 3)),
        "alpha.png": (lambda p: save_png(p, rgba), (1, 6, 10, 3)),
        "vfr.mp4": (lambda p: _vfr_mp4(p, vfr_frames, [0, 40, 80, 200, 240, 400, 440, 480]), (8, 48, 64, 3)),
        "latin-1 title.mp4": (_latin1_title, (4, 48, 64, 3)),
    }
    with ledger.area("media", "unusual files") as area:
        for name, (make, expected) in cases.items():
            path = tmp_path / name
            make(path)
            area.tried()
            rss_before = max_rss_mb()
            errors = []
            try:
                video = read_video(path)
            except MediaError as error:
                video, errors = None, [error.message]
            except Exception as crash:
                area.fail(f"{name}: {type(crash).__name__}: {crash}")
                continue
            outcome(path, area, name)  # the same contract through the import probe
            if max_rss_mb() - rss_before > 400:
                area.fail(f"{name}: reading it took {max_rss_mb() - rss_before:.0f} MB more memory")
            if isinstance(expected, tuple):
                if video is None:
                    area.fail(f"{name}: refused ({errors[0]}) but it is a valid file")
                elif video.frames.shape != expected:
                    area.fail(f"{name}: imported as {video.frames.shape}, expected {expected}")
            elif video is not None:
                area.fail(f"{name}: imported as {video.frames.shape}, expected a refusal")
            elif expected not in errors[0]:
                area.fail(f"{name}: refused with {errors[0]!r}, which does not say {expected!r}")
    # What came through is right, not only the right size:
    alpha = read_video(tmp_path / "alpha.png").frames[0]
    assert (alpha[:, :5] == 200).all() and (alpha[:, 5:] == 0).all()  # transparent → black, as documented
    vfr = read_video(tmp_path / "vfr.mp4").frames
    assert _similar(vfr, vfr_frames, exact=False)  # every frame, in order, none dropped or doubled
    assert probe_media(tmp_path / "vfr.mp4") == 8
