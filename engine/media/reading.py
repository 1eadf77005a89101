"""Reading: any common clip, still image or folder of PNG frames into uint8 RGB frames `[T, H, W, 3]`,
through PyAV, with every failure a user can cause raised as a plain-words `MediaError`."""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Iterator
from fractions import Fraction
from numbers import Integral
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Colorspace, Interpolation

from engine.errors import MediaError
from engine.media.video import (
    AV_ERRORS,
    FRAME_NAME,
    MAX_SIDE,
    METADATA_FILE,
    Video,
    normalise_rate,
    os_error_to_media,
    to_fraction,
)

_AVCOL_SPC_UNSPECIFIED = 2
# YUV → RGB: full horizontal chroma interpolation (noticeably better for 4:2:2; 8-bit 4:2:0 keeps
# FFmpeg's fast path either way).
_READ_SCALING = Interpolation.BICUBIC | Interpolation.FULL_CHR_H_INT


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
        raise os_error_to_media("read", source, exc) from exc
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
        except AV_ERRORS as exc:
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
        raise os_error_to_media("read", source, exc) from exc
    except AV_ERRORS as exc:
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
    except AV_ERRORS as exc:
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
        fps = normalise_rate(stream.average_rate) or normalise_rate(stream.guessed_rate) or fallback_fps
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
    except (AttributeError, *AV_ERRORS):
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
        raise os_error_to_media("read", folder, exc) from exc
    pngs = [p for p in pngs if p.is_file()]
    numbered = [(int(m.group(1)), p) for p in pngs if (m := FRAME_NAME.match(p.name))]
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
