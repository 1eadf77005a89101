"""What reading and writing share: the `Video` type, exact frame rates, the frame-folder layout and
plain-words errors for OS and FFmpeg failures."""

from __future__ import annotations

import errno
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral, Real
from pathlib import Path

import av
import numpy as np

from engine.errors import MediaError

MAX_SIDE = 8192  # pixels; anything wider or taller is refused when reading
FRAME_PATTERN = "frame_{:05d}.png"
METADATA_FILE = "metadata.json"  # written beside PNG frames: {"fps", "frames", "width", "height", "metadata"}
FRAME_NAME = re.compile(r"^frame_(\d+)\.png$", re.IGNORECASE)
AV_ERRORS: tuple[type[BaseException], ...] = (av.FFmpegError, OSError)


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


def normalise_rate(rate: Fraction | None) -> Fraction | None:
    """A stream's rate as a tidy fraction: exact integer and NTSC rates kept, others snapped."""
    if rate is None or rate <= 0:
        return None
    if rate.denominator in (1, 1001):
        return rate
    return to_fraction(float(rate))


def os_error_to_media(action: str, path: Path, exc: BaseException) -> MediaError:
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
