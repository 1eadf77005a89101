"""Timeline time: integer frames at a rational frame rate, converted to seconds or timecode only at the edges.

Every position and length in a project is a whole number of frames. The project's rate is a
`Fraction` (24, 25, 24000/1001, 12…), so 23.976 fps is exactly 24000/1001 and never drifts.

Timecode is SMPTE-style `HH:MM:SS:FF`, **non-drop-frame**: frames are counted at the nominal whole
rate (`timecode_rate`: 24 for 23.976, 30 for 29.97), as every editor shows NDF timecode. At NTSC
rates NDF timecode runs 0.1% slower than the wall clock (one hour of timecode is 1h 0m 3.6s of
video); drop-frame timecode (`;` separator) is not supported.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from numbers import Integral, Rational

MAX_RATE = Fraction(240)

# What filmmakers call the usual rates, keyed by the exact rate.
COMMON_RATES: dict[Fraction, str] = {
    Fraction(12): "12",
    Fraction(15): "15",
    Fraction(24000, 1001): "23.976",
    Fraction(24): "24",
    Fraction(25): "25",
    Fraction(30000, 1001): "29.97",
    Fraction(30): "30",
    Fraction(50): "50",
    Fraction(60000, 1001): "59.94",
    Fraction(60): "60",
}

_RATE_TEXT = re.compile(r"^\s*(\d+)\s*(?:/\s*(\d+))?\s*$")
_TIMECODE = re.compile(r"^(-)?(\d+):(\d{2}):(\d{2})([:;])(\d+)$")


def parse_rate(value: int | str | Fraction | float) -> Fraction:
    """A frame rate as an exact Fraction: `24`, `"24000/1001"`, `Fraction(25)`, or a float like 23.976.

    Floats within 0.0005 of a whole or NTSC rate are read as that rate (23.976 → 24000/1001,
    29.97 → 30000/1001); other floats as the nearest fraction with a denominator up to 1001.
    Raises `ValueError` for rates that are not above 0 and at most 240.
    """
    if isinstance(value, bool):
        raise ValueError(f"A frame rate must be a number, not {value!r}.")
    if isinstance(value, str):
        match = _RATE_TEXT.match(value)
        if match is None:
            raise ValueError(f"'{value}' is not a frame rate: write it as 24, 25 or 24000/1001.")
        num, den = int(match[1]), int(match[2] or 1)
        if den == 0:
            raise ValueError(f"'{value}' is not a frame rate: the denominator is 0.")
        rate = Fraction(num, den)
    elif isinstance(value, Rational):
        rate = Fraction(value.numerator, value.denominator)
    elif isinstance(value, float) and math.isfinite(value):
        rate = _rate_from_float(value)
    else:
        raise ValueError(f"A frame rate must be a number, not {value!r}.")
    if not 0 < rate <= MAX_RATE:
        raise ValueError(f"A frame rate must be above 0 and at most {MAX_RATE} fps (got {rate}).")
    return rate


def _rate_from_float(value: float) -> Fraction:
    """Read 23.976 as 24000/1001: a whole rate, an NTSC rate (N × 1000/1001), else a near small fraction."""
    for candidate in (Fraction(round(value)), Fraction(round(value * 1.001) * 1000, 1001)):
        if candidate > 0 and abs(float(candidate) - value) < 0.0005:
            return candidate
    return Fraction(value).limit_denominator(1001)


def rate_label(rate: Fraction) -> str:
    """How a filmmaker writes the rate: "23.976", "24", or the decimal rounded to 3 places."""
    if rate in COMMON_RATES:
        return COMMON_RATES[rate]
    if rate.denominator == 1:
        return str(rate.numerator)
    return f"{float(rate):.3f}".rstrip("0").rstrip(".")


def frames_to_seconds(frames: int, rate: Fraction) -> Fraction:
    """The exact time of `frames` frames at `rate`."""
    return Fraction(_whole(frames, "frames")) / rate


def seconds_to_frames(seconds: float | Fraction, rate: Fraction) -> int:
    """The nearest whole frame to `seconds` at `rate` (halves round up)."""
    exact = Fraction(seconds) * rate
    return math.floor(exact + Fraction(1, 2))


def timecode_rate(rate: Fraction) -> int:
    """Frames per timecode second: the rate rounded up to a whole number (24 for 23.976)."""
    return math.ceil(rate)


def to_timecode(frames: int, rate: Fraction) -> str:
    """`HH:MM:SS:FF` non-drop-frame timecode of frame `frames` (negative frames get a leading '-')."""
    frames = _whole(frames, "frames")
    base = timecode_rate(rate)
    sign = "-" if frames < 0 else ""
    seconds, ff = divmod(abs(frames), base)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    width = len(str(base - 1))
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}:{ff:0{max(2, width)}d}"


def from_timecode(text: str, rate: Fraction) -> int:
    """The frame number of a non-drop-frame `HH:MM:SS:FF` timecode at `rate`; `ValueError` if malformed."""
    match = _TIMECODE.match(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not a timecode: write it as HH:MM:SS:FF, e.g. 00:01:02:12.")
    sign, hh, mm, ss, separator, ff = match.groups()
    if separator == ";":
        raise ValueError(
            f"'{text}' is drop-frame timecode, which Shotline does not read yet: use ':' before frames."
        )
    base = timecode_rate(rate)
    hours, minutes, secs, frames = int(hh), int(mm), int(ss), int(ff)
    if minutes >= 60 or secs >= 60:
        raise ValueError(f"'{text}' is not a timecode: minutes and seconds go from 00 to 59.")
    if frames >= base:
        raise ValueError(
            f"'{text}' is not a timecode at {rate_label(rate)} fps: frames go from 0 to {base - 1}."
        )
    total = ((hours * 60 + minutes) * 60 + secs) * base + frames
    return -total if sign else total


def _whole(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be a whole number of frames, not {value!r}")
    return int(value)


@dataclass(frozen=True, order=True)
class TimeRange:
    """A span of frames `[start, start + duration)`: `start` is included, `end` is not.

    ```
    frame   0   1   2   3   4   5
                |  TimeRange(1, 3)  |      start=1, end=4, contains 1, 2, 3
    ```
    """

    start: int
    duration: int

    def __post_init__(self) -> None:
        _whole(self.start, "start")
        _whole(self.duration, "duration")
        if self.duration < 0:
            raise ValueError(f"A time range cannot last a negative number of frames ({self.duration}).")

    @classmethod
    def from_bounds(cls, start: int, end: int) -> TimeRange:
        """The range from `start` up to (not including) `end`."""
        return cls(start, end - start)

    @property
    def end(self) -> int:
        """The first frame after the range (exclusive end)."""
        return self.start + self.duration

    @property
    def is_empty(self) -> bool:
        return self.duration == 0

    def contains(self, frame: int) -> bool:
        """Whether `frame` lies inside the range (`start <= frame < end`)."""
        return self.start <= frame < self.end

    def contains_range(self, other: TimeRange) -> bool:
        """Whether all of `other` lies inside this range."""
        return self.start <= other.start and other.end <= self.end

    def overlaps(self, other: TimeRange) -> bool:
        """Whether the two ranges share at least one frame (touching ends do not overlap)."""
        return max(self.start, other.start) < min(self.end, other.end)

    def intersection(self, other: TimeRange) -> TimeRange | None:
        """The frames both ranges share, or None when they share none."""
        start, end = max(self.start, other.start), min(self.end, other.end)
        return TimeRange.from_bounds(start, end) if start < end else None

    def shifted(self, delta: int) -> TimeRange:
        """The same range moved by `delta` frames."""
        return TimeRange(self.start + delta, self.duration)

    def seconds(self, rate: Fraction) -> tuple[Fraction, Fraction]:
        """(start, duration) in exact seconds."""
        return frames_to_seconds(self.start, rate), frames_to_seconds(self.duration, rate)
