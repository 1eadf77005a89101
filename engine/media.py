"""Video and image file I/O: read any common clip into uint8 RGB frames, write clips atomically.

Frames are always uint8 RGB numpy arrays shaped `[T, H, W, 3]` (one frame: `[H, W, 3]`); a frame
rate is always an exact `fractions.Fraction` (NTSC rates are `24000/1001`, never `23.976`).

Reading (`read_video`, `read_image`) goes through PyAV and accepts video containers (mp4, mov,
mkv, webm, avi, gif…), still images (png, jpg, webp, bmp…) and folders of PNG frames. Writing
(`write_video`) makes H.264 `.mp4` deliverables, ProRes 422 HQ `.mov` masters, bit-exact FFV1
`.mkv` files (the media cache) and PNG frame folders. Every failure a user can cause is raised
as a `MediaError` whose message is a plain sentence and whose `detail` holds the technical part.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import secrets
import shutil
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral, Real
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation

from engine.errors import MediaError

__all__ = [
    "MAX_SIDE",
    "Video",
    "iter_video",
    "read_image",
    "read_metadata",
    "read_video",
    "to_fraction",
    "write_video",
]

MAX_SIDE = 8192  # pixels; anything wider or taller is refused when reading
FRAME_PATTERN = "frame_{:05d}.png"
METADATA_FILE = "metadata.json"  # written beside PNG frames: {"fps", "frames", "width", "height", "metadata"}

_FRAME_NAME = re.compile(r"^frame_(\d+)\.png$", re.IGNORECASE)
_H264_CRF = {"high": 12, "standard": 18, "draft": 26}
_FORMAT_BY_SUFFIX = {".mp4": "mp4", ".mov": "prores", ".mkv": "ffv1"}
_FORMATS = ("mp4", "prores", "ffv1", "png")
_SUPPORTED_OUTPUTS = ".mp4 (H.264), .mov (ProRes), .mkv (lossless FFV1) or a folder (PNG frames)"
# Container (muxer) used for each codec when the path's extension does not name a known one.
_DEFAULT_CONTAINER = {"mp4": ("mp4", ".mp4"), "prores": ("mov", ".mov"), "ffv1": ("matroska", ".mkv")}
_CONTAINER_BY_SUFFIX = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
# Keys the mp4/mov muxers write as standard atoms; any other key needs `use_metadata_tags`.
_STANDARD_MOV_KEYS = frozenset(
    {"title", "comment", "artist", "author", "album", "date", "genre", "copyright", "description", "composer"}
)
_AV_ERRORS: tuple[type[BaseException], ...] = (av.FFmpegError, OSError)
_AVCOL_SPC_UNSPECIFIED = 2
_AVCOL_BT709 = 1  # AVCOL_SPC_BT709 == AVCOL_PRI_BT709 == AVCOL_TRC_BT709 == SWS_CS_ITU709
# YUV → RGB: full horizontal chroma interpolation (noticeably better for 4:2:2; 8-bit 4:2:0 keeps
# FFmpeg's fast path either way).
_READ_SCALING = Interpolation.BICUBIC | Interpolation.FULL_CHR_H_INT
# RGB → YUV: box-filtered chroma, accurate rounding, and bit-exact C code. Without BITEXACT the SIMD
# path of libswscale gives run-to-run different 10-bit output for widths that are not a multiple of
# 16 (it reads uninitialised row padding); this path is deterministic and no slower.
_WRITE_SCALING = Interpolation.AREA | Interpolation.ACCURATE_RND | Interpolation.BITEXACT


# --------------------------------------------------------------------------------------------------
# Types and frame rates


@dataclass(frozen=True)
class Video:
    """Decoded frames and their frame rate."""

    frames: np.ndarray  # [T, H, W, 3] uint8 RGB
    fps: Fraction

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def frame_count(self) -> int:
        return int(self.frames.shape[0])


def to_fraction(fps: float | int | Fraction) -> Fraction:
    """An exact frame rate: 12 → 12/1, 23.976 (or 23.98) → 24000/1001, 29.97 → 30000/1001, 12.5 → 25/2.

    Fractions are kept as given. Floats within 0.005 of an NTSC rate (`n * 1000/1001`) snap to it,
    other floats become the nearest fraction with a denominator of at most 1001.
    """
    if isinstance(fps, bool) or not isinstance(fps, Real):
        raise MediaError("The frame rate must be a number.", detail=f"fps={fps!r} ({type(fps).__name__})")
    if isinstance(fps, Fraction):
        rate = fps
    elif isinstance(fps, Integral):
        rate = Fraction(int(fps))
    else:
        value = float(fps)
        if not math.isfinite(value):
            raise MediaError("The frame rate must be a positive number.", detail=f"fps={fps!r}")
        nearest = round(value)
        ntsc = round(value * 1001 / 1000)
        if abs(value - nearest) < 1e-6:
            rate = Fraction(nearest)
        elif ntsc > 0 and abs(value * 1001 / 1000 - ntsc) < 0.005:
            rate = Fraction(ntsc * 1000, 1001)
        else:
            rate = Fraction(value).limit_denominator(1001)
    if rate <= 0:
        raise MediaError("The frame rate must be a positive number.", detail=f"fps={fps!r}")
    return rate


def _normalise_rate(rate: Fraction | None) -> Fraction | None:
    """A stream's rate as a tidy fraction: exact integer and NTSC rates kept, others snapped."""
    if rate is None or rate <= 0:
        return None
    if rate.denominator in (1, 1001):
        return rate
    return to_fraction(float(rate))


# --------------------------------------------------------------------------------------------------
# Reading


def read_video(
    path: str | os.PathLike[str], *, default_fps: float | int | Fraction = 12, max_frames: int | None = None
) -> Video:
    """Decode a video file, a still image or a folder of PNG frames into uint8 RGB frames.

    A still image gives one frame at `default_fps`; a PNG folder uses the rate in its
    `metadata.json` when there is one, `default_fps` otherwise. Images with alpha are composited
    over black. Variable-frame-rate video comes back frame by frame as decoded, with the stream's
    average rate. `max_frames` stops decoding after that many frames.

    A file that stops decoding with an error, or whose own index shows it was cut short, is
    reported as damaged (with how many frames could be read); a stream without an index that
    simply ends is returned as it is.
    """
    source = Path(path)
    fallback_fps = to_fraction(default_fps)
    if max_frames is not None and (
        isinstance(max_frames, bool) or not isinstance(max_frames, Integral) or max_frames < 1
    ):
        raise MediaError(
            "The number of frames to read must be at least 1.", detail=f"max_frames={max_frames!r}"
        )
    if not source.exists():
        raise MediaError(
            f"“{source.name}” could not be found. It may have been moved, renamed or deleted.",
            detail=f"no such file or folder: {source}",
        )
    if source.is_dir():
        return _read_frame_folder(source, fallback_fps, max_frames)
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise _os_error_to_media("read", source, exc) from exc
    if size == 0:
        raise MediaError(
            f"“{source.name}” is empty (0 bytes): it is not a video or image. It may not have finished "
            "copying or downloading.",
            detail=f"{source}: 0 bytes",
        )
    container = _open_input(source)
    try:
        return _decode_container(container, source, size, fallback_fps, max_frames)
    finally:
        container.close()


def iter_video(path: str | os.PathLike[str], *, start: int = 0) -> Iterator[np.ndarray]:
    """Frames `start`, `start + 1` … of a video file, still image or PNG folder, one uint8 `[H, W, 3]` at a
    time, decoded forward: a long clip never sits in memory whole. Frames before `start` are decoded but
    not converted. A still gives its one frame (at `start` 0). Raises `MediaError` as `read_video` does;
    closing the iterator closes the file.
    """
    source = Path(path)
    if not source.exists():
        raise MediaError(
            f"“{source.name}” could not be found. It may have been moved, renamed or deleted.",
            detail=f"no such file or folder: {source}",
        )
    if source.is_dir():
        for file in _frame_files(source)[max(0, start) :]:
            yield read_image(file)
        return
    container = _open_input(source)
    try:
        if not container.streams.video:
            raise MediaError(
                f"“{source.name}” has no picture: choose a video or image file.",
                detail=f"{source}: format={container.format.name}",
            )
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        _check_size(stream.codec_context.width, stream.codec_context.height, source)
        size: tuple[int, int] | None = None
        index = 0
        try:
            for frame in container.decode(stream):
                if size is None:
                    size = (frame.width, frame.height)
                if index >= start:
                    yield _frame_to_rgb(frame, size)
                index += 1
                if _is_still_image(container):
                    break
        except _AV_ERRORS as exc:
            raise MediaError(
                f"“{source.name}” is damaged or incomplete: only {index} frames could be read.",
                detail=f"{source}: {type(exc).__name__}: {exc}",
            ) from exc
    finally:
        container.close()


def read_image(path: str | os.PathLike[str]) -> np.ndarray:  # [H, W, 3] uint8
    """The first frame of an image, video or PNG folder, as uint8 RGB `[H, W, 3]`."""
    return read_video(path, max_frames=1).frames[0]


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """Container metadata (keys lower-cased) of a video file, or a PNG folder's `metadata.json`."""
    source = Path(path)
    if not source.exists():
        raise MediaError(f"“{source.name}” could not be found.", detail=f"no such file or folder: {source}")
    if source.is_dir():
        info = _folder_info(source)
        meta = info.get("metadata", {})
        return {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
    container = _open_input(source)
    try:
        return {str(k).lower(): str(v) for k, v in container.metadata.items()}
    finally:
        container.close()


def _open_input(source: Path) -> av.container.InputContainer:
    try:
        # Metadata in another encoding than UTF-8 (old cameras, editors) must not make a good clip unreadable.
        return av.open(str(source), mode="r", metadata_errors="replace")
    except PermissionError as exc:
        raise _os_error_to_media("read", source, exc) from exc
    except _AV_ERRORS as exc:
        raise MediaError(
            f"“{source.name}” could not be opened: it is not a video or image Shotline can read, or it is "
            "damaged.",
            detail=f"{source}: {exc}",
        ) from exc


def _is_still_image(container: av.container.InputContainer) -> bool:
    # FFmpeg reads single images with the image2 demuxer or one of the *_pipe image demuxers.
    names = container.format.name.split(",")
    return any(name == "image2" or name.endswith("_pipe") for name in names)


def _check_size(width: int, height: int, source: Path) -> None:
    if width > MAX_SIDE or height > MAX_SIDE:
        raise MediaError(
            f"“{source.name}” is {width}×{height} pixels, larger than Shotline can handle "
            f"({MAX_SIDE} pixels on either side). Scale it down first.",
            detail=f"{source}: {width}x{height} > {MAX_SIDE}",
        )


def _decode_container(
    container: av.container.InputContainer,
    source: Path,
    file_size: int,
    fallback_fps: Fraction,
    max_frames: int | None,
) -> Video:
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams})
        has_audio = bool(container.streams.audio)
        raise MediaError(
            f"“{source.name}” has no picture: it "
            + ("only contains sound." if has_audio else "contains no video.")
            + " Choose a video or image file.",
            detail=f"{source}: streams={kinds or 'none'}, format={container.format.name}",
        )
    stream = container.streams.video[0]
    if stream.codec_context is None:  # FFmpeg found no decoder: a damaged header or an unknown codec
        raise MediaError(
            f"“{source.name}” is damaged or uses a video format Shotline cannot decode. "
            "Try copying or exporting it again.",
            detail=f"{source}: no decoder for the video stream, format={container.format.name}",
        )
    _check_size(stream.codec_context.width, stream.codec_context.height, source)
    still = _is_still_image(container)
    limit = 1 if still else max_frames
    stream.thread_type = "AUTO"

    frames: list[np.ndarray] = []  # each [H, W, 3] uint8
    size: tuple[int, int] | None = None  # (width, height) of the first frame; later frames follow it
    failure: BaseException | None = None
    try:
        for frame in container.decode(stream):
            if size is None:
                _check_size(frame.width, frame.height, source)
                size = (frame.width, frame.height)
            frames.append(_frame_to_rgb(frame, size))
            if limit is not None and len(frames) >= limit:
                break
    except _AV_ERRORS as exc:
        failure = exc

    stopped_early = limit is not None and len(frames) >= limit
    if failure is None and not stopped_early:
        index_end = _index_end(stream)
        if index_end > file_size:
            failure = EOFError(f"the container's index runs to byte {index_end}, the file has {file_size}")
    if failure is not None:
        if still and not frames:  # FFmpeg refuses huge images before saying how big they are
            _check_size(*_declared_image_size(source), source)
        declared = f" of {stream.frames}" if stream.frames else ""
        raise MediaError(
            f"“{source.name}” is damaged or incomplete (perhaps a copy or download was cut short): "
            + (
                f"only {len(frames)}{declared} frames could be read."
                if frames
                else "none of its frames could be read."
            )
            + " Try copying or exporting it again.",
            detail=f"{source}: {type(failure).__name__}: {failure}; decoded {len(frames)} frames",
        ) from failure
    if not frames:
        raise MediaError(
            f"“{source.name}” contains no video frames that could be decoded.",
            detail=f"{source}: format={container.format.name}, codec={stream.codec_context.name}",
        )

    if still:
        fps = fallback_fps
    else:
        fps = _normalise_rate(stream.average_rate) or _normalise_rate(stream.guessed_rate) or fallback_fps
    return Video(frames=np.stack(frames), fps=fps)


def _declared_image_size(source: Path) -> tuple[int, int]:
    """(width, height) a PNG or JPEG header claims, or (0, 0): read from the first bytes, nothing decoded."""
    try:
        with open(source, "rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return 0, 0
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    if head.startswith(b"\xff\xd8"):  # JPEG: walk the markers to the frame header (SOFn)
        at = 2
        while at + 9 <= len(head) and head[at] == 0xFF:
            marker, length = head[at + 1], struct.unpack(">H", head[at + 2 : at + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", head[at + 5 : at + 9])
                return width, height
            at += 2 + length
    return 0, 0


def _index_end(stream: av.video.stream.VideoStream) -> int:
    """The byte offset just past the last packet the container's index promises (0 if no index)."""
    end = 0
    try:
        for entry in stream.index_entries:
            if entry.pos >= 0:
                end = max(end, entry.pos + entry.size)
    except (AttributeError, *_AV_ERRORS):
        return 0
    return end


def _frame_to_rgb(frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray:  # [H, W, 3] uint8
    """One decoded frame as RGB at `size` (width, height); alpha is composited over black."""
    fmt = frame.format
    kwargs: dict[str, object] = {"interpolation": _READ_SCALING}
    if (frame.width, frame.height) != size:
        kwargs["width"], kwargs["height"] = size
    untagged_yuv = not fmt.is_rgb and not fmt.has_palette and frame.colorspace == _AVCOL_SPC_UNSPECIFIED
    if untagged_yuv and (frame.width >= 1280 or frame.height > 576):
        # FFmpeg assumes BT.601 for untagged YUV; players assume BT.709 for HD. Follow the players.
        kwargs["src_colorspace"] = Colorspace.ITU709
    has_alpha = fmt.has_palette or any(component.is_alpha for component in fmt.components)
    if has_alpha:
        rgba = frame.to_ndarray(format="rgba", **kwargs)  # [H, W, 4] uint8
        alpha = rgba[..., 3:4].astype(np.uint16)
        rgb = (rgba[..., :3].astype(np.uint16) * alpha + 127) // 255
        return rgb.astype(np.uint8)
    return np.ascontiguousarray(frame.to_ndarray(format="rgb24", **kwargs))


def _folder_info(folder: Path) -> dict[str, object]:
    info_path = folder / METADATA_FILE
    if not info_path.is_file():
        return {}
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _frame_files(folder: Path) -> list[Path]:
    """The PNG frames of a folder: `frame_NNNNN.png` in numeric order, else every PNG in natural order."""
    try:
        pngs = [p for p in folder.iterdir() if p.suffix.lower() == ".png" and not p.name.startswith(".")]
    except OSError as exc:
        raise _os_error_to_media("read", folder, exc) from exc
    pngs = [p for p in pngs if p.is_file()]
    numbered = [(int(m.group(1)), p) for p in pngs if (m := _FRAME_NAME.match(p.name))]
    if numbered:
        return [p for _, p in sorted(numbered)]

    def natural(p: Path) -> list[object]:
        return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", p.name)]

    return sorted(pngs, key=natural)


def _read_frame_folder(folder: Path, fallback_fps: Fraction, max_frames: int | None) -> Video:
    files = _frame_files(folder)
    if not files:
        raise MediaError(
            f"The folder “{folder.name}” contains no PNG frames. Choose a video file, an image, or a folder "
            "of PNG frames (frame_00000.png, frame_00001.png …).",
            detail=f"{folder}: no *.png files",
        )
    if max_frames is not None:
        files = files[:max_frames]
    frames: list[np.ndarray] = []  # each [H, W, 3] uint8
    for file in files:
        image = read_video(file, max_frames=1).frames[0]
        if frames and image.shape != frames[0].shape:
            raise MediaError(
                f"The frames in “{folder.name}” are not all the same size: “{file.name}” is "
                f"{image.shape[1]}×{image.shape[0]}, "
                f"the first frame is {frames[0].shape[1]}×{frames[0].shape[0]}.",
                detail=f"{file}: {image.shape} vs {files[0]}: {frames[0].shape}",
            )
        frames.append(image)
    fps = fallback_fps
    stored = _folder_info(folder).get("fps")
    if isinstance(stored, (str, int, float)):
        try:
            fps = to_fraction(Fraction(stored)) if not isinstance(stored, float) else to_fraction(stored)
        except (ValueError, ZeroDivisionError, MediaError):
            fps = fallback_fps
    return Video(frames=np.stack(frames), fps=fps)


# --------------------------------------------------------------------------------------------------
# Writing


def write_video(
    path: str | os.PathLike[str],
    frames: np.ndarray | Iterable[np.ndarray],
    fps: float | int | Fraction,
    *,
    format: str | None = None,
    quality: str = "high",
    crf: int | None = None,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write frames (`[T, H, W, 3]` uint8, or an iterable of `[H, W, 3]` uint8) and return the final path.

    `format` is inferred from the path when None: `.mp4` → H.264 (libx264, CRF 12/18/26 for
    quality "high"/"standard"/"draft", or `crf` 0–51 when given; preset medium, faststart; 4:2:0,
    or 4:4:4 when the width or height is odd so the exact size is kept), `.mov` → ProRes 422 HQ
    (10-bit 4:2:2; ProRes 4444 when the width is odd, for the same reason), `.mkv` → lossless FFV1
    RGB (bit-exact), an existing folder or a path ending in a separator → PNG frames
    `frame_00000.png` …. Explicit values: "mp4", "prores", "ffv1", "png". YUV outputs are
    BT.709, limited range, and tagged as such.

    `metadata` goes into the container (mp4/mov/mkv) or, for PNG, into `metadata.json` beside the
    frames as `{"fps": "24000/1001", "frames": T, "width": W, "height": H, "metadata": {...}}`.

    The write is atomic: output goes to a temporary name beside the target and replaces it only
    when complete, so on any failure (including an exception raised by `frames` or Ctrl-C) nothing
    is left behind and an existing target is untouched. For PNG folders the new frames replace the
    old ones file by file, and old `frame_NNNNN.png` beyond the new length are removed.
    """
    raw = os.fspath(path)
    target = Path(raw)
    kind = _resolve_format(raw, target, format)
    rate = to_fraction(fps)
    if quality not in _H264_CRF:
        raise MediaError(
            f"Unknown quality “{quality}”. Choose one of: {', '.join(_H264_CRF)}.",
            detail=f"quality={quality!r}",
        )
    if crf is not None and (isinstance(crf, bool) or not isinstance(crf, Integral) or not 0 <= crf <= 51):
        raise MediaError(
            "The H.264 quality (CRF) must be a whole number from 0 (lossless) to 51 (smallest).",
            detail=f"crf={crf!r}",
        )
    meta = _check_metadata(metadata)

    frame_iter = _iter_frames(frames)
    first = next(frame_iter, None)
    if first is None:
        raise MediaError("There are no frames to save.", detail="frames is empty")

    parent = target.parent
    if not parent.is_dir():
        raise MediaError(
            f"The folder “{parent}” does not exist. Choose an existing folder to save into.",
            detail=f"missing parent folder: {parent}",
        )
    if kind == "png":
        if target.exists() and not target.is_dir():
            raise MediaError(
                f"“{target.name}” is a file, not a folder, so PNG frames cannot be saved there.",
                detail=f"{target} exists and is not a directory",
            )
        return _write_png_folder(target, first, frame_iter, rate, meta)
    if target.is_dir():
        raise MediaError(
            f"“{target.name}” is a folder. Give a file name ending in .mp4, .mov or .mkv.",
            detail=f"{target} is a directory (format {kind})",
        )
    chosen_crf = _H264_CRF[quality] if crf is None else int(crf)
    return _write_container(target, first, frame_iter, rate, kind, chosen_crf, meta)


def _resolve_format(raw: str, target: Path, format: str | None) -> str:
    if format is not None:
        if format not in _FORMATS:
            raise MediaError(
                f"Unknown video format “{format}”. Choose one of: {', '.join(_FORMATS)}.",
                detail=f"format={format!r}",
            )
        return format
    if raw.endswith(("/", os.sep)) or target.is_dir():
        return "png"
    kind = _FORMAT_BY_SUFFIX.get(target.suffix.lower())
    if kind is None:
        raise MediaError(
            f"Shotline cannot save “{target.name}”: save as {_SUPPORTED_OUTPUTS}.",
            detail=f"unsupported extension {target.suffix or '(none)'!r}",
        )
    return kind


def _check_metadata(metadata: dict[str, str] | None) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in metadata.items()
    ):
        raise MediaError(
            "The file's metadata must be pairs of text (name and value).", detail=f"metadata={metadata!r}"
        )
    return dict(metadata)


def _iter_frames(frames: np.ndarray | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Validated `[H, W, 3]` uint8 frames, all the size of the first one."""
    if isinstance(frames, np.ndarray):
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
            raise MediaError(
                "The frames to save must be 8-bit RGB video (frames × height × width × 3).",
                detail=f"got dtype={frames.dtype}, shape={frames.shape}; expected uint8 [T, H, W, 3]",
            )
        if frames.shape[0] == 0:
            raise MediaError("There are no frames to save.", detail=f"shape={frames.shape}")
        if frames.shape[1] == 0 or frames.shape[2] == 0:
            raise MediaError("The frames to save have no pixels.", detail=f"shape={frames.shape}")
    elif isinstance(frames, (str, bytes)) or not isinstance(frames, Iterable):
        raise MediaError(
            "The frames to save must be an array or a sequence of images.",
            detail=f"got {type(frames).__name__}",
        )
    return _validated(frames)


def _validated(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    shape: tuple[int, ...] | None = None
    for index, frame in enumerate(frames):
        if (
            not isinstance(frame, np.ndarray)
            or frame.dtype != np.uint8
            or frame.ndim != 3
            or frame.shape[-1] != 3
            or 0 in frame.shape
        ):
            described = (
                f"dtype={frame.dtype}, shape={frame.shape}"
                if isinstance(frame, np.ndarray)
                else type(frame).__name__
            )
            raise MediaError(
                "The frames to save must be 8-bit RGB images (height × width × 3).",
                detail=f"frame {index}: {described}; expected uint8 [H, W, 3]",
            )
        if shape is None:
            shape = frame.shape
        elif frame.shape != shape:
            raise MediaError(
                "All frames of a video must be the same size.",
                detail=f"frame {index} has shape {frame.shape}, frame 0 has {shape}",
            )
        yield np.ascontiguousarray(frame)


def _temp_name(target: Path, suffix: str) -> Path:
    return target.parent / f".{target.name}.tmp-{secrets.token_hex(4)}{suffix}"


def _fsync_path(path: Path, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:  # some platforms/filesystems cannot open folders; best effort there
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def _write_container(
    target: Path,
    first: np.ndarray,  # [H, W, 3] uint8
    rest: Iterator[np.ndarray],  # each [H, W, 3] uint8
    rate: Fraction,
    kind: str,
    crf: int,
    metadata: dict[str, str],
) -> Path:
    height, width = first.shape[:2]
    container_name = _CONTAINER_BY_SUFFIX.get(target.suffix.lower())
    default_container, default_suffix = _DEFAULT_CONTAINER[kind]
    if container_name is None:
        container_name = default_container
    known_suffix = target.suffix.lower() in _CONTAINER_BY_SUFFIX
    temp = _temp_name(target, target.suffix if known_suffix else default_suffix)

    container_options: dict[str, str] = {}
    if container_name in ("mp4", "mov"):
        flags = "+faststart"
        if set(metadata) - _STANDARD_MOV_KEYS:
            flags += "+use_metadata_tags"  # otherwise the muxer silently drops non-standard keys
        container_options["movflags"] = flags

    if kind == "mp4":
        codec = "libx264"
        # 4:2:0 needs even sizes; for odd sizes use 4:4:4 (High 4:4:4 profile) rather than crop or pad,
        # so the clip keeps its exact size. Fewer hardware players handle 4:4:4.
        pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        options = {"crf": str(crf), "preset": "medium"}
    elif kind == "prores" and width % 2 == 0:
        codec, pix_fmt, options = "prores_ks", "yuv422p10le", {"profile": "3", "vendor": "apl0"}  # 422 HQ
    elif kind == "prores":
        # FFmpeg's ProRes 4:2:2 mangles odd widths (badly when width % 16 == 1): use ProRes 4444 there.
        codec, pix_fmt, options = "prores_ks", "yuv444p10le", {"profile": "4", "vendor": "apl0"}
    else:
        codec, pix_fmt, options = "ffv1", "bgr0", {"level": "3", "slicecrc": "1", "g": "1"}
    yuv = kind != "ffv1"

    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        os.close(fd)
    except OSError as exc:
        raise _os_error_to_media("write", target, exc) from exc

    container: av.container.OutputContainer | None = None
    try:
        try:
            container = av.open(
                str(temp), mode="w", format=container_name, container_options=container_options
            )
            stream = container.add_stream(codec, rate=rate, options=options)
            stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
            if yuv:
                context = stream.codec_context
                context.colorspace = _AVCOL_BT709
                context.color_primaries = _AVCOL_BT709
                context.color_trc = _AVCOL_BT709
                context.color_range = int(ColorRange.MPEG)
            container.metadata.update(metadata)
            time_base = 1 / rate

            def encode(index: int, array: np.ndarray) -> None:
                frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                if yuv:
                    frame = frame.reformat(
                        format=pix_fmt,
                        dst_colorspace=Colorspace.ITU709,
                        dst_color_range=ColorRange.MPEG,
                        interpolation=_WRITE_SCALING,
                    )
                else:
                    frame = frame.reformat(format=pix_fmt)
                frame.pts = index
                frame.time_base = time_base
                container.mux(stream.encode(frame))

            encode(0, first)
            for index, array in enumerate(rest, start=1):
                encode(index, array)
            container.mux(stream.encode(None))
            container.close()
            container = None
            _fsync_path(temp)
            os.replace(temp, target)
        except _AV_ERRORS as exc:
            raise _os_error_to_media("write", target, exc) from exc
    except BaseException:
        if container is not None:
            with contextlib.suppress(BaseException):  # already failing: the original error matters
                container.close()
        _remove_quietly(temp)
        raise
    _fsync_path(target.parent, directory=True)
    return target


def _write_png_folder(
    target: Path,
    first: np.ndarray,  # [H, W, 3] uint8
    rest: Iterator[np.ndarray],  # each [H, W, 3] uint8
    rate: Fraction,
    metadata: dict[str, str],
) -> Path:
    height, width = first.shape[:2]
    temp = _temp_name(target, "")
    try:
        os.mkdir(temp, 0o777)
    except OSError as exc:
        raise _os_error_to_media("write", target, exc) from exc
    count = 0
    try:
        try:
            encoder = av.CodecContext.create("png", "w")
            encoder.width, encoder.height, encoder.pix_fmt = width, height, "rgb24"

            def save(index: int, array: np.ndarray) -> None:
                packets = encoder.encode(av.VideoFrame.from_ndarray(array, format="rgb24"))
                with open(temp / FRAME_PATTERN.format(index), "wb") as handle:
                    for packet in packets:
                        handle.write(bytes(packet))
                    handle.flush()
                    os.fsync(handle.fileno())

            save(0, first)
            count = 1
            for array in rest:
                save(count, array)
                count += 1
            info = {
                "fps": f"{rate.numerator}/{rate.denominator}",
                "frames": count,
                "width": width,
                "height": height,
                "metadata": metadata,
            }
            with open(temp / METADATA_FILE, "w", encoding="utf-8") as handle:
                json.dump(info, handle, indent=2, ensure_ascii=False)
                handle.flush()
                os.fsync(handle.fileno())

            if not target.exists():
                os.replace(temp, target)  # the whole folder at once
            else:
                for index in range(count):
                    name = FRAME_PATTERN.format(index)
                    os.replace(temp / name, target / name)
                os.replace(temp / METADATA_FILE, target / METADATA_FILE)
                for stale in target.iterdir():  # frames left over from a longer sequence
                    match = _FRAME_NAME.match(stale.name)
                    if match and int(match.group(1)) >= count and stale.is_file():
                        stale.unlink()
                os.rmdir(temp)
        except _AV_ERRORS as exc:
            raise _os_error_to_media("write", target, exc) from exc
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _fsync_path(target, directory=True)
    _fsync_path(target.parent, directory=True)
    return target


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _os_error_to_media(action: str, path: Path, exc: BaseException) -> MediaError:
    """A plain-words MediaError for an OS or FFmpeg error while reading or writing `path`."""
    code = getattr(exc, "errno", None)
    name = path.name or str(path)
    if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", -1):
        message = f"There is not enough free disk space to save “{name}”. Free some space and try again."
    elif code == errno.EFBIG:
        message = (
            f"“{name}” is too large for the disk it is being saved to (FAT32 drives, such as many USB "
            "sticks, hold at most 4 GB per file). Save it to another drive."
        )
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        where = path.parent if action == "write" else path
        message = (
            f"Shotline is not allowed to {action} “{where}”. "
            "Choose another location or check the permissions."
        )
    elif code == errno.ENOENT:
        message = (
            f"The folder “{path.parent}” does not exist. Choose an existing folder."
            if action == "write"
            else f"“{name}” could not be found."
        )
    else:
        message = f"Shotline could not {action} “{name}”" + (
            f": {exc.strerror}." if isinstance(exc, OSError) and exc.strerror else "."
        )
    return MediaError(message, detail=f"{path}: {type(exc).__name__}: {exc}")
