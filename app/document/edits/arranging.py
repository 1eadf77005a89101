"""Moving with snapping, trimming, splitting and duplicating items."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from app.document.edits._base import (
    _check_new_id,
    _check_room,
    _check_shot_length,
    _edit,
    _frame,
    _locate,
    _start,
    _swap_item,
    _track_at,
    _with_items,
    _with_track,
    describe,
)
from app.document.errors import EditError
from app.document.schema import (
    Item,
    Project,
    Shot,
    Take,
    find_gaps,
    item_kind,
    new_id,
)


# --- moving and snapping ------------------------------------------------------------------------------------
@_edit
def move_item(
    project: Project, item_id: str, *, start: int | None = None, track_id: str | None = None
) -> Project:
    """Move an item to a new start and/or another track; it must land in empty space.

    ```
    V1 | A |   | B |        ->   V1 | A | B |          (B to an earlier start)
    V1 | A | B |            ->   V1 | A |
                                 V2     | B |          (B to another track)
    V1 | A | B |  (A onto B) ->  EditError: A would overlap B
    ```
    """
    index, track, item = _locate(project, item_id)
    start = item.start if start is None else _start(start)
    target_index, target = (index, track) if track_id is None else _track_at(project, track_id)
    if start == item.start and target_index == index:
        return project
    moved = dataclasses.replace(item, start=start)
    _check_room(target, moved.range, ignore=(item.id,))
    if target_index == index:
        return _with_track(project, index, _swap_item(track, item.id, moved))
    project = _with_track(project, index, _with_items(track, (i for i in track.items if i.id != item.id)))
    return _with_track(project, target_index, _with_items(target, (*target.items, moved)))


def snap_points(
    project: Project,
    *,
    playhead: int | None = None,
    exclude: Iterable[str] = (),
    track_ids: Iterable[str] | None = None,
) -> tuple[int, ...]:
    """Frames worth snapping to: frame 0, the playhead, and both edges of every item (except `exclude`)."""
    skip = set(exclude)
    wanted = None if track_ids is None else set(track_ids)
    points = {0}
    if playhead is not None:
        points.add(playhead)
    for track in project.tracks:
        if wanted is not None and track.id not in wanted:
            continue
        for item in track.items:
            if item.id not in skip:
                points.update((item.start, item.end))
    return tuple(sorted(points))


def snap(
    project: Project,
    frame: int,
    threshold: int,
    *,
    playhead: int | None = None,
    exclude: Iterable[str] = (),
) -> int:
    """The nearest snap point (item edge, playhead, frame 0) within `threshold` frames of `frame`, else
    `frame` itself.

    ```
    | A |      ^ frame 12, A ends at 10, threshold 3   ->   10
    ```
    Ties go to the earlier frame. The caller converts a pixel threshold to frames at the current zoom.
    """
    best = frame
    best_distance = threshold + 1
    for point in snap_points(project, playhead=playhead, exclude=exclude):
        distance = abs(point - frame)
        if distance < best_distance:
            best, best_distance = point, distance
    return best


def snap_move(
    project: Project, item_id: str, start: int, threshold: int, *, playhead: int | None = None
) -> int:
    """Where a dragged item should start so that its start or its end snaps (whichever is nearer).

    ```
    | A |   [B] dragged to start 12, A ends at 10, threshold 3   ->   10
    ```
    """
    _, _, item = _locate(project, item_id)
    points = snap_points(project, playhead=playhead, exclude=(item_id,))
    best, best_distance = start, threshold + 1
    for point in points:
        for candidate in (point, point - item.duration):
            distance = abs(candidate - start)
            if candidate >= 0 and distance < best_distance:
                best, best_distance = candidate, distance
    return best


# --- trimming and splitting ---------------------------------------------------------------------------------
def _shift_takes(shot: Shot, delta: int) -> tuple[Take, ...]:
    return tuple(dataclasses.replace(take, in_point=take.in_point + delta) for take in shot.takes)


@_edit
def trim_start(project: Project, item_id: str, start: int) -> Project:
    """Move an item's left edge to `start`; its end stays.

    ```
    |   AAAA|   ->   |     AA|      (shorter: the takes' / media's in-point moves on)
    |   AAAA|   ->   | AAAAAA|      (longer: a clip needs media before its in-point;
                                     a shot shows "needs render" where no take covers it)
    ```
    """
    index, track, item = _locate(project, item_id)
    start = _start(start)
    delta = start - item.start
    duration = item.duration - delta
    if duration < 1:
        raise EditError(f"{describe(item)} would have no frames left: trim to before frame {item.end}.")
    if isinstance(item, Shot):
        _check_shot_length(duration)
        trimmed: Item = dataclasses.replace(
            item, start=start, duration=duration, takes=_shift_takes(item, delta)
        )
    else:
        if item.in_point + delta < 0:
            raise EditError(
                f"{describe(item)} cannot start earlier: its media has only {item.in_point} more frames "
                "before the current first frame."
            )
        trimmed = dataclasses.replace(item, start=start, duration=duration, in_point=item.in_point + delta)
    _check_room(track, trimmed.range, ignore=(item.id,))
    return _with_track(project, index, _swap_item(track, item.id, trimmed))


@_edit
def trim_end(project: Project, item_id: str, end: int) -> Project:
    """Move an item's right edge to `end` (exclusive); its start stays.

    ```
    |AAAA   |   ->   |AA     |      (shorter)
    |AAAA   |   ->   |AAAAAA |      (longer: a clip cannot pass the end of its media)
    ```
    """
    index, track, item = _locate(project, item_id)
    duration = _frame(end, "end") - item.start
    if duration < 1:
        raise EditError(f"{describe(item)} would have no frames left: trim to after frame {item.start}.")
    if isinstance(item, Shot):
        _check_shot_length(duration)
    elif item.media_frames is not None and item.in_point + duration > item.media_frames:
        available = item.media_frames - item.in_point
        raise EditError(
            f"{describe(item)} cannot be longer than its media: at most {available} frames from here."
        )
    trimmed = dataclasses.replace(item, duration=duration)
    _check_room(track, trimmed.range, ignore=(item.id,))
    return _with_track(project, index, _swap_item(track, item.id, trimmed))


@_edit
def split_item(project: Project, item_id: str, frame: int, *, new_item_id: str | None = None) -> Project:
    """Cut an item in two at `frame` (e.g. the playhead); the right part gets a new id.

    ```
    | A A A A |   ->   | A A | A'A' |
    ```
    A shot's halves share its prompt, settings, source and takes: both point at the same rendered
    media, the right half's takes with their in-points moved on by the left half's length, so the
    picture does not change. Render jobs stay with the left half. A clip's right part starts its
    media further in.
    """
    index, track, item = _locate(project, item_id)
    frame = _frame(frame, "frame")
    if not item.start < frame < item.end:
        raise EditError(
            f"Place the playhead inside {describe(item)} (after frame {item.start} and before frame "
            f"{item.end}) to split it."
        )
    new_item_id = new_item_id or new_id(item_kind(item))
    _check_new_id(project, new_item_id)
    cut = frame - item.start
    left = dataclasses.replace(item, duration=cut)
    if isinstance(item, Shot):
        right: Item = dataclasses.replace(
            item, id=new_item_id, start=frame, duration=item.duration - cut, takes=_shift_takes(item, cut)
        )
    else:
        right = dataclasses.replace(
            item, id=new_item_id, start=frame, duration=item.duration - cut, in_point=item.in_point + cut
        )
    items = [i for i in track.items if i.id != item.id]
    return _with_track(project, index, _with_items(track, (*items, left, right)))


@_edit
def duplicate_item(
    project: Project,
    item_id: str,
    *,
    start: int | None = None,
    track_id: str | None = None,
    new_item_id: str | None = None,
) -> Project:
    """Copy an item (a shot keeps its takes) to `start`, or to the first free place that fits after it
    (on its own track) or from its start (on another track).

    ```
    | A |   | B |         ->   | A |   | B | A'|      (no room right after A: first gap that fits)
    | A |      | B |      ->   | A | A'  | B |
    ```
    """
    _, track, item = _locate(project, item_id)
    target_index, target = _track_at(project, track_id or track.id)
    new_item_id = new_item_id or new_id(item_kind(item))
    _check_new_id(project, new_item_id)
    if start is None:
        start = item.end if target.id == track.id else item.start
        for gap in find_gaps(target):
            if gap.range.end <= start:
                continue
            begin = max(gap.range.start, start)
            if gap.range.end - begin >= item.duration:
                start = begin
                break
        else:
            start = max(start, target.end)
    copy = dataclasses.replace(item, id=new_item_id, start=_start(start))
    _check_room(target, copy.range)
    return _with_track(project, target_index, _with_items(target, (*target.items, copy)))
