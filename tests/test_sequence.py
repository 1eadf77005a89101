"""Tests for app.sequence: which take or clip frame is visible at each timeline frame."""

from __future__ import annotations

from pathlib import Path

from app.document import edits
from app.document.schema import ImportedClip, Project, Shot, Take, Track
from app.sequence import FrameRef, frame_at, frames_in, item_at, sequence_length


def take(take_id: str, frames: int, in_point: int = 0) -> Take:
    return Take(
        id=take_id, cache_key=take_id, media_path=f"{take_id}/frames.mkv", frames=frames, in_point=in_point
    )


def shot(shot_id: str, start: int, duration: int, *takes: Take, current: str | None = None) -> Shot:
    if takes and current is None:
        current = takes[-1].id
    return Shot(id=shot_id, start=start, duration=duration, takes=takes, current_take=current)


def two_tracks(v2_hidden: bool = False) -> Project:
    """
    frame  0        10        20   25   30        40
    V2               |  b (take tb, 10 frames) |
    V1     | a (take ta, 20 f) |         | clip (in 5) |
    """
    v1 = Track(
        id="v1",
        name="V1",
        items=(
            shot("a", 0, 20, take("ta", 20)),
            ImportedClip(
                id="clip", start=30, duration=10, media_path="footage.mov", in_point=5, media_frames=100
            ),
        ),
    )
    v2 = Track(id="v2", name="V2", items=(shot("b", 10, 10, take("tb", 10)),), hidden=v2_hidden)
    return Project(tracks=(v1, v2))


def test_lower_track_shows_where_upper_is_empty() -> None:
    project = two_tracks()
    assert frame_at(project, 0) == FrameRef("take", "a", "ta/frames.mkv", 0)
    assert frame_at(project, 9) == FrameRef("take", "a", "ta/frames.mkv", 9)


def test_upper_track_covers_lower_one() -> None:
    project = two_tracks()
    assert frame_at(project, 10) == FrameRef("take", "b", "tb/frames.mkv", 0)
    assert frame_at(project, 19) == FrameRef("take", "b", "tb/frames.mkv", 9)
    assert item_at(project, 15)[1].id == "b"


def test_hidden_track_is_skipped() -> None:
    project = two_tracks(v2_hidden=True)
    assert frame_at(project, 10) == FrameRef("take", "a", "ta/frames.mkv", 10)
    assert frame_at(project, 19) == FrameRef("take", "a", "ta/frames.mkv", 19)


def test_gap_and_after_the_end_are_black() -> None:
    project = two_tracks()
    assert frame_at(project, 20) is None
    assert frame_at(project, 29) is None
    assert item_at(project, 25) is None
    assert frame_at(project, 40) is None
    assert frame_at(project, -1) is None


def test_clip_shows_from_its_in_point() -> None:
    project = two_tracks()
    assert frame_at(project, 30) == FrameRef("clip", "clip", "footage.mov", 5)
    assert frame_at(project, 39) == FrameRef("clip", "clip", "footage.mov", 14)


def test_still_repeats_its_only_frame() -> None:
    still = ImportedClip(id="still", start=0, duration=50, media_path="/abs/poster.png")
    project = Project(tracks=(Track(id="v1", name="V1", items=(still,)),))
    assert {frame_at(project, f) for f in (0, 25, 49)} == {FrameRef("clip", "still", "/abs/poster.png", 0)}


def test_trimmed_shot_starts_at_its_take_in_point() -> None:
    project = two_tracks()
    trimmed = edits.trim_start(project, "a", 4)  # the take's in-point moves on by 4
    assert frame_at(trimmed, 3) is None
    assert frame_at(trimmed, 4) == FrameRef("take", "a", "ta/frames.mkv", 4)
    split = edits.split_item(project, "a", 6, new_item_id="a2")
    assert frame_at(split, 6) == FrameRef("take", "a2", "ta/frames.mkv", 6)
    assert frame_at(split, 5) == FrameRef("take", "a", "ta/frames.mkv", 5)


def test_frames_the_take_does_not_cover_need_render_and_cover_lower_tracks() -> None:
    # V2's shot "b" lengthened left beyond its take: its in-point becomes negative there.
    project = edits.trim_start(two_tracks(), "b", 7)
    assert item_at(project, 8)[1].id == "b"
    assert frame_at(project, 8) is None  # needs render: black, not V1 showing through
    assert frame_at(project, 10) == FrameRef("take", "b", "tb/frames.mkv", 0)
    longer = edits.trim_end(two_tracks(v2_hidden=True), "a", 25)
    assert frame_at(longer, 19) == FrameRef("take", "a", "ta/frames.mkv", 19)
    assert frame_at(longer, 21) is None


def test_shot_without_a_take_shows_black() -> None:
    project = Project(tracks=(Track(id="v1", name="V1", items=(shot("s", 0, 10),)),))
    assert frame_at(project, 3) is None
    assert item_at(project, 3)[1].id == "s"


def test_current_take_is_the_one_shown() -> None:
    s = shot("s", 0, 10, take("t1", 10), take("t2", 10), current="t1")
    project = Project(tracks=(Track(id="v1", name="V1", items=(s,)),))
    assert frame_at(project, 2).media_path == "t1/frames.mkv"
    switched = edits.set_current_take(project, "s", "t2")
    assert frame_at(switched, 2).media_path == "t2/frames.mkv"


def test_sequence_length_and_frames_in() -> None:
    project = two_tracks()
    assert sequence_length(project) == 40
    assert sequence_length(Project()) == 0
    refs = list(frames_in(project, 18, 32))
    assert len(refs) == 14
    assert refs[0] == FrameRef("take", "b", "tb/frames.mkv", 8)
    assert refs[2:12] == [None] * 10
    assert refs[12] == FrameRef("clip", "clip", "footage.mov", 5)


def test_resolve_uses_the_media_folder_for_takes_and_the_project_folder_for_clips(tmp_path: Path) -> None:
    project_path = tmp_path / "film.shotline"
    assert (
        FrameRef("take", "a", "ta/frames.mkv", 0).resolve(project_path)
        == tmp_path / "film.media/ta/frames.mkv"
    )
    assert FrameRef("clip", "c", "footage.mov", 0).resolve(project_path) == tmp_path / "footage.mov"
