"""What a media file is before it goes on the timeline: a video's frame count, or a still (no Qt)."""

from __future__ import annotations

from pathlib import Path

from engine.errors import MediaError

__all__ = ["probe_media"]


def probe_media(path: Path) -> int | None:
    """How many frames a video file has, or None for a still image. Raises `MediaError` (in words a
    filmmaker understands) when it is not a picture Shotline can read. Slow: call it on a worker thread."""
    import av

    from engine import media

    if path.is_dir():
        raise MediaError(
            f"“{path.name}” is a folder: drop video or image files onto the timeline.", detail=str(path)
        )
    media.read_video(path, max_frames=1)  # refuses damaged, empty or sound-only files with a clear message
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")  # as engine.media reads it
    except (av.FFmpegError, OSError) as error:
        raise MediaError(f"“{path.name}” could not be opened.", detail=f"{path}: {error}") from error
    try:
        names = container.format.name.split(",")
        if any(name == "image2" or name.endswith("_pipe") for name in names):
            return None
        stream = container.streams.video[0]
        if stream.frames and stream.frames > 0:
            return int(stream.frames)
        return max(1, sum(1 for packet in container.demux(stream) if packet.size > 0))  # no decoding
    finally:
        container.close()
