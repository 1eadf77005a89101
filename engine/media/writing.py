"""Writing, atomically: H.264 `.mp4` deliverables, ProRes `.mov` masters, bit-exact FFV1 `.mkv` files (the
media cache) and PNG frame folders, from uint8 RGB frames."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from fractions import Fraction
from numbers import Integral
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation

from engine.errors import MediaError
from engine.media.video import (
    AV_ERRORS,
    FRAME_NAME,
    FRAME_PATTERN,
    METADATA_FILE,
    os_error_to_media,
    to_fraction,
)

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
_AVCOL_BT709 = 1  # AVCOL_SPC_BT709 == AVCOL_PRI_BT709 == AVCOL_TRC_BT709 == SWS_CS_ITU709
# RGB → YUV: box-filtered chroma, accurate rounding, and bit-exact C code. Without BITEXACT the SIMD
# path of libswscale gives run-to-run different 10-bit output for widths that are not a multiple of
# 16 (it reads uninitialised row padding); this path is deterministic and no slower.
_WRITE_SCALING = Interpolation.AREA | Interpolation.ACCURATE_RND | Interpolation.BITEXACT


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
        raise os_error_to_media("write", target, exc) from exc

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
        except AV_ERRORS as exc:
            raise os_error_to_media("write", target, exc) from exc
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
        raise os_error_to_media("write", target, exc) from exc
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
                    match = FRAME_NAME.match(stale.name)
                    if match and int(match.group(1)) >= count and stale.is_file():
                        stale.unlink()
                os.rmdir(temp)
        except AV_ERRORS as exc:
            raise os_error_to_media("write", target, exc) from exc
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    _fsync_path(target, directory=True)
    _fsync_path(target.parent, directory=True)
    return target


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
