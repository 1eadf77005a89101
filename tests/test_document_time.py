"""Timeline time: rational frame rates, frames ↔ seconds, non-drop-frame timecode and TimeRange."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.document.time import (
    COMMON_RATES,
    TimeRange,
    frames_to_seconds,
    from_timecode,
    parse_rate,
    rate_label,
    seconds_to_frames,
    timecode_rate,
    to_timecode,
)

NTSC_FILM = Fraction(24000, 1001)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (24, Fraction(24)),
        ("24000/1001", NTSC_FILM),
        (" 30000 / 1001 ", Fraction(30000, 1001)),
        (NTSC_FILM, NTSC_FILM),
        (23.976, NTSC_FILM),
        (29.97, Fraction(30000, 1001)),
        (12.0, Fraction(12)),
    ],
)
def test_parse_rate_gives_exact_fractions(value, expected):
    assert parse_rate(value) == expected


@pytest.mark.parametrize("value", [0, -24, 241, "abc", "24/0", "23.976", True, float("nan"), None])
def test_parse_rate_refuses_nonsense(value):
    with pytest.raises(ValueError):
        parse_rate(value)


def test_rate_labels_are_what_filmmakers_write():
    assert rate_label(NTSC_FILM) == "23.976"
    assert rate_label(Fraction(25)) == "25"
    assert rate_label(Fraction(48)) == "48"
    assert rate_label(Fraction(25, 2)) == "12.5"


def test_frames_to_seconds_is_exact_at_ntsc_rates():
    assert frames_to_seconds(24000, NTSC_FILM) == 1001
    assert frames_to_seconds(1, NTSC_FILM) == Fraction(1001, 24000)
    assert frames_to_seconds(12, Fraction(12)) == 1


def test_seconds_to_frames_rounds_to_nearest_with_halves_up():
    assert seconds_to_frames(1001, NTSC_FILM) == 24000
    assert seconds_to_frames(Fraction(1, 24), Fraction(24)) == 1
    assert seconds_to_frames(Fraction(1, 48), Fraction(24)) == 1  # exactly half a frame
    assert seconds_to_frames(Fraction(1, 49), Fraction(24)) == 0
    assert seconds_to_frames(2.5, Fraction(12)) == 30


@given(frames=st.integers(-(10**7), 10**7), rate=st.sampled_from(sorted(COMMON_RATES)))
@settings(max_examples=200, deadline=None)
def test_frames_survive_a_trip_through_seconds(frames, rate):
    assert seconds_to_frames(frames_to_seconds(frames, rate), rate) == frames


@pytest.mark.parametrize(
    ("frames", "rate", "text"),
    [
        (0, Fraction(24), "00:00:00:00"),
        (23, Fraction(24), "00:00:00:23"),
        (24, Fraction(24), "00:00:01:00"),
        (24 * 3600 + 24 * 61 + 5, Fraction(24), "01:01:01:05"),
        (13, Fraction(12), "00:00:01:01"),
        (86400, NTSC_FILM, "01:00:00:00"),  # non-drop: counted at 24, although it lasts 3603.6 s
        (30, Fraction(30000, 1001), "00:00:01:00"),
        (119, Fraction(120), "00:00:00:119"),
        (-1, Fraction(24), "-00:00:00:01"),
    ],
)
def test_timecode_both_ways(frames, rate, text):
    assert to_timecode(frames, rate) == text
    assert from_timecode(text, rate) == frames


def test_ntsc_timecode_is_non_drop_and_runs_behind_the_clock():
    assert timecode_rate(NTSC_FILM) == 24
    assert timecode_rate(Fraction(60000, 1001)) == 60
    one_hour_of_timecode = from_timecode("01:00:00:00", NTSC_FILM)
    assert frames_to_seconds(one_hour_of_timecode, NTSC_FILM) == Fraction(36036, 10)


@pytest.mark.parametrize(
    "text", ["", "1:2:3", "00:00:00:24", "00:60:00:00", "00:00:60:00", "aa:bb:cc:dd", "00:00:01;02"]
)
def test_bad_timecode_is_refused_with_a_message(text):
    with pytest.raises(ValueError, match=r"timecode|drop-frame"):
        from_timecode(text, Fraction(24))


@given(frames=st.integers(0, 10**7), rate=st.sampled_from(sorted(COMMON_RATES)))
@settings(max_examples=200, deadline=None)
def test_timecode_round_trips(frames, rate):
    assert from_timecode(to_timecode(frames, rate), rate) == frames


def test_time_range_edges():
    span = TimeRange(10, 5)
    assert span.end == 15
    assert span.contains(10) and span.contains(14)
    assert not span.contains(9) and not span.contains(15)
    assert TimeRange.from_bounds(10, 15) == span
    assert span.shifted(-10) == TimeRange(0, 5)
    assert span.contains_range(TimeRange(11, 4)) and not span.contains_range(TimeRange(11, 5))
    assert span.seconds(Fraction(5)) == (2, 1)
    assert TimeRange(3, 0).is_empty


def test_time_range_overlap_and_intersection():
    a, b = TimeRange(0, 10), TimeRange(5, 10)
    assert a.overlaps(b) and b.overlaps(a)
    assert a.intersection(b) == TimeRange(5, 5)
    touching = TimeRange(10, 3)
    assert not a.overlaps(touching)
    assert a.intersection(touching) is None
    assert not TimeRange(4, 0).overlaps(a)  # an empty range holds no frame


@given(
    a=st.tuples(st.integers(-50, 50), st.integers(0, 30)),
    b=st.tuples(st.integers(-50, 50), st.integers(0, 30)),
)
@settings(max_examples=200, deadline=None)
def test_intersection_agrees_with_frame_by_frame(a, b):
    left, right = TimeRange(*a), TimeRange(*b)
    shared = {f for f in range(-60, 90) if left.contains(f) and right.contains(f)}
    result = left.intersection(right)
    assert left.overlaps(right) == bool(shared)
    assert (set() if result is None else set(range(result.start, result.end))) == shared


def test_time_range_refuses_negative_length_and_fractional_frames():
    with pytest.raises(ValueError):
        TimeRange(0, -1)
    with pytest.raises(TypeError):
        TimeRange(0.5, 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TimeRange(True, 3)
