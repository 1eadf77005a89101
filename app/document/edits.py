"""Edits of a project: pure functions `edit(project, ...) -> Project` that fully apply or change nothing.

Each edit returns a new Project sharing every untouched track and item with the old one, or raises
`EditError` with a sentence a filmmaker understands; the project passed in is never changed (it is
immutable), so an undo command keeps `before` and `after` and swaps them.

Diagrams show one track; `|` marks item edges, blank space is a gap.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import PurePath
from typing import Any, TypeVar

from app.document.errors import EditError
from app.document.schema import (
    MAX_SHOT_FRAMES,
    MIN_SHOT_FRAMES,
    ImportedClip,
    Item,
    Project,
    RenderJob,
    Settings,
    Shot,
    ShotSource,
    Take,
    Track,
    find_gaps,
    gap_at,
    item_kind,
    new_id,
)
from app.document.time import TimeRange, parse_rate

F = TypeVar("F", bound=Callable[..., Project])

# Fields a filmmaker sets on a shot in the inspector (and that `add_shot` accepts).
SHOT_FIELDS = (
    "prompt",
    "negative_prompt",
    "seed",
    "seed_locked",
    "steps",
    "guidance",
    "model",
    "aspect",
    "start_image",
    "duration",
    "source",
)
_UNSET: Any = object()


def _edit(fn: F) -> F:
    """Turn a `ValueError` raised while building the new project into an `EditError` with the same words."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Project:
        try:
            return fn(*args, **kwargs)
        except EditError:
            raise
        except ValueError as error:
            raise EditError(str(error), f"{fn.__name__}: {error!r}") from error

    return wrapper  # type: ignore[return-value]


# --- helpers ----------------------------------------------------------------------------------------------
def describe(item: Item) -> str:
    """How messages name an item: the first words of a shot's prompt, or a clip's file name."""
    if isinstance(item, Shot):
        words = item.prompt.split()
        if not words:
            return f"the untitled shot at frame {item.start}"
        text = " ".join(words[:5])
        return f'the shot "{text}{"…" if len(words) > 5 else ""}"'
    return f'the clip "{PurePath(item.media_path).name}"'


def _track_at(project: Project, track_id: str) -> tuple[int, Track]:
    try:
        index = project.track_index(track_id)
    except KeyError:
        raise EditError(f"There is no track {track_id} in this project.") from None
    return index, project.tracks[index]


def _locate(project: Project, item_id: str) -> tuple[int, Track, Item]:
    for index, track in enumerate(project.tracks):
        for item in track.items:
            if item.id == item_id:
                return index, track, item
    raise EditError(f"There is no shot or clip {item_id} in this project: it may have been deleted.")


def _locate_shot(project: Project, shot_id: str) -> tuple[int, Track, Shot]:
    index, track, item = _locate(project, shot_id)
    if not isinstance(item, Shot):
        raise EditError(f"{describe(item)} is your own footage, not a generated shot.")
    return index, track, item


def _with_track(project: Project, index: int, track: Track) -> Project:
    return dataclasses.replace(project, tracks=(*project.tracks[:index], track, *project.tracks[index + 1 :]))


def _with_items(track: Track, items: Iterable[Item]) -> Track:
    return dataclasses.replace(track, items=tuple(items))


def _swap_item(track: Track, item_id: str, new: Item) -> Track:
    return _with_items(track, (new if item.id == item_id else item for item in track.items))


def _check_room(track: Track, span: TimeRange, ignore: Iterable[str] = ()) -> None:
    if span.start < 0:
        raise EditError(f"That would start {-span.start} frames before the beginning of the timeline.")
    skip = set(ignore)
    for item in track.items:
        if item.id not in skip and item.range.overlaps(span):
            raise EditError(
                f"There is no room on track {track.name}: it would overlap {describe(item)} "
                f"(frames {item.start}–{item.end - 1})."
            )


def _check_new_id(project: Project, item_id: str) -> None:
    if project.find(item_id) is not None:
        raise EditError(f"The id {item_id} is already used by another shot or clip.")


def _check_shot_length(duration: int) -> None:
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise EditError(f"A length must be a whole number of frames, not {duration!r}.")
    if not MIN_SHOT_FRAMES <= duration <= MAX_SHOT_FRAMES:
        raise EditError(
            f"A shot lasts from {MIN_SHOT_FRAMES} to {MAX_SHOT_FRAMES} frames (asked for {duration})."
        )


def _frame(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EditError(f"The {what} must be a whole frame number, not {value!r}.")
    return value


def _start(value: int) -> int:
    start = _frame(value, "start")
    if start < 0:
        raise EditError(f"That would start {-start} frames before the beginning of the timeline.")
    return start


def _queue_without(project: Project, shot_ids: set[str]) -> tuple[RenderJob, ...]:
    """The render queue less the jobs of `shot_ids` (set together with the tracks: a job needs its shot)."""
    queue = tuple(job for job in project.render_queue if job.shot_id not in shot_ids)
    return project.render_queue if len(queue) == len(project.render_queue) else queue


# --- tracks -----------------------------------------------------------------------------------------------
@_edit
def add_track(
    project: Project, name: str | None = None, *, track_id: str | None = None, index: int | None = None
) -> Project:
    """Add an empty video track, at the bottom or at `index`.

    ```
    V1 | A |          V1 | A |
                 ->   V2           (new, empty)
    ```
    """
    track_id = track_id or new_id("track")
    if any(track.id == track_id for track in project.tracks):
        raise EditError(f"The id {track_id} is already used by another track.")
    if name is None:
        names = {track.name for track in project.tracks}
        number = len(project.tracks) + 1
        while f"V{number}" in names:
            number += 1
        name = f"V{number}"
    track = Track(id=track_id, name=name)
    position = len(project.tracks) if index is None else max(0, min(index, len(project.tracks)))
    return dataclasses.replace(
        project, tracks=(*project.tracks[:position], track, *project.tracks[position:])
    )


@_edit
def remove_track(project: Project, track_id: str) -> Project:
    """Remove a track with everything on it (and their render jobs).

    ```
    V1 | A |          V1 | A |
    V2 | B |     ->
    ```
    """
    index, track = _track_at(project, track_id)
    return dataclasses.replace(
        project,
        tracks=(*project.tracks[:index], *project.tracks[index + 1 :]),
        render_queue=_queue_without(project, {item.id for item in track.items}),
    )


@_edit
def set_track(
    project: Project, track_id: str, *, name: str = _UNSET, muted: bool = _UNSET, hidden: bool = _UNSET
) -> Project:
    """Rename a track, or mute / hide it.  `V1 | A |  ->  Wide | A |`"""
    index, track = _track_at(project, track_id)
    changes = {k: v for k, v in {"name": name, "muted": muted, "hidden": hidden}.items() if v is not _UNSET}
    return _with_track(project, index, dataclasses.replace(track, **changes))


# --- placing shots and clips ------------------------------------------------------------------------------
@_edit
def add_shot(
    project: Project,
    track_id: str,
    start: int,
    duration: int | None = None,
    prompt: str = "",
    *,
    shot_id: str | None = None,
    **fields: Any,
) -> Project:
    """Place a new shot (no take yet) on a track; it must fit in the empty space.

    ```
    | A |        | B |   ->   | A |  S  | B |        (S at `start`, `duration` frames)
    | A |  | B |         ->   EditError: S would overlap B
    ```
    `duration` defaults to the project's default shot length; model, aspect, steps and guidance to
    the project's defaults. `fields` are any of `SHOT_FIELDS`.
    """
    unknown = set(fields) - set(SHOT_FIELDS)
    if unknown:
        raise TypeError(f"add_shot() got unknown shot fields: {', '.join(sorted(unknown))}")
    index, track = _track_at(project, track_id)
    start = _start(start)
    settings = project.settings
    duration = settings.default_shot_frames if duration is None else duration
    _check_shot_length(duration)
    shot_id = shot_id or new_id("shot")
    _check_new_id(project, shot_id)
    _check_room(track, TimeRange(start, duration))
    source = fields.get("source")
    if source is not None:
        for neighbour in source.neighbours:
            if project.find(neighbour) is None:
                raise EditError(f"The shot is made from {neighbour}, which is not in the project.")
    values = {
        "model": settings.default_model,
        "aspect": settings.default_aspect,
        "steps": settings.default_steps,
        "guidance": settings.default_guidance,
        **fields,
    }
    shot = Shot(id=shot_id, start=start, duration=duration, prompt=prompt, **values)
    return _with_track(project, index, _with_items(track, (*track.items, shot)))


@_edit
def add_extension(
    project: Project,
    item_id: str,
    direction: str,
    duration: int | None = None,
    prompt: str | None = None,
    *,
    shot_id: str | None = None,
) -> Project:
    """Place a shot that continues an item forward (what happens next) or leads into it (what came before).

    ```
    forward:    | A |          ->   | A | A→ |
    backward:          | A |   ->   | ←A | A |
    ```
    The new shot touches the item, takes its prompt, model, aspect and negative prompt when the item
    is a shot, and records it as its source (`extend_forward` / `extend_backward`).
    """
    if direction not in ("forward", "backward"):
        raise EditError(f"Extend goes 'forward' or 'backward', not '{direction}'.")
    _, track, item = _locate(project, item_id)
    duration = project.settings.default_shot_frames if duration is None else duration
    _check_shot_length(duration)
    start = item.end if direction == "forward" else item.start - duration
    if start < 0:
        raise EditError(
            f"There is no room before {describe(item)} to extend it backward by {duration} frames: "
            "move it later on the timeline first."
        )
    fields: dict[str, Any] = {"source": ShotSource(f"extend_{direction}", (item.id,))}
    if isinstance(item, Shot):
        fields.update(
            negative_prompt=item.negative_prompt,
            model=item.model,
            aspect=item.aspect,
            steps=item.steps,
            guidance=item.guidance,
        )
        prompt = item.prompt if prompt is None else prompt
    return add_shot(project, track.id, start, duration, prompt or "", shot_id=shot_id, **fields)


@_edit
def add_bridge(
    project: Project, track_id: str, frame: int, prompt: str = "", *, shot_id: str | None = None
) -> Project:
    """Fill the gap at `frame` with a bridge: a shot that starts where the left item ends and arrives where
    the right one begins.

    ```
    | A |       | B |   ->   | A | A~B | B |
    ```
    The gap must lie between two items (not before the first one).
    """
    _, track = _track_at(project, track_id)
    gap = gap_at(track, _frame(frame, "frame"))
    if gap is None:
        raise EditError("There is no gap there: place the playhead between two clips to fill the gap.")
    if not gap.can_bridge:
        raise EditError(
            "A bridge needs a clip on both sides of the gap; this gap is at the start of the track."
        )
    if gap.range.duration > MAX_SHOT_FRAMES:
        raise EditError(
            f"The gap is {gap.range.duration} frames long; a bridge lasts at most {MAX_SHOT_FRAMES}."
        )
    left, right = project.item(gap.left), project.item(gap.right)  # type: ignore[arg-type]
    fields: dict[str, Any] = {"source": ShotSource("bridge", (left.id, right.id))}
    if isinstance(left, Shot):
        fields.update(model=left.model, aspect=left.aspect, negative_prompt=left.negative_prompt)
    return add_shot(project, track_id, gap.range.start, gap.range.duration, prompt, shot_id=shot_id, **fields)


@_edit
def add_clip(
    project: Project,
    track_id: str,
    start: int,
    media_path: str,
    *,
    media_frames: int | None = None,
    duration: int | None = None,
    in_point: int = 0,
    clip_id: str | None = None,
) -> Project:
    """Place the filmmaker's own footage (`media_frames` long) or a still image (`media_frames` None).

    ```
    | A |          ->   | A | clip |
    ```
    `duration` defaults to the rest of the media after `in_point`, or the default shot length for a still.
    """
    index, track = _track_at(project, track_id)
    start = _start(start)
    if duration is None:
        duration = project.settings.default_shot_frames if media_frames is None else media_frames - in_point
    clip_id = clip_id or new_id("clip")
    _check_new_id(project, clip_id)
    clip = ImportedClip(
        id=clip_id,
        start=start,
        duration=duration,
        media_path=media_path,
        in_point=in_point,
        media_frames=media_frames,
    )
    _check_room(track, clip.range)
    return _with_track(project, index, _with_items(track, (*track.items, clip)))


# --- removing ---------------------------------------------------------------------------------------------
@_edit
def remove_item(project: Project, item_id: str, *, ripple: bool = False) -> Project:
    """Remove a shot or clip (and its render jobs); with `ripple`, later items on that track close the gap.

    ```
    ripple=False:   | A | B | C |   ->   | A |   | C |
    ripple=True:    | A | B | C |   ->   | A | C |        (other tracks do not move)
    ```
    """
    index, track, removed = _locate(project, item_id)
    items: list[Item] = []
    for item in track.items:
        if item.id == item_id:
            continue
        if ripple and item.start >= removed.end:
            item = dataclasses.replace(item, start=item.start - removed.duration)
        items.append(item)
    tracks = (*project.tracks[:index], _with_items(track, items), *project.tracks[index + 1 :])
    return dataclasses.replace(project, tracks=tracks, render_queue=_queue_without(project, {item_id}))


@_edit
def close_gap(project: Project, track_id: str, frame: int) -> Project:
    """Delete the gap at `frame` with ripple: everything after it on that track moves left.

    ```
    | A |     | B | C |   ->   | A | B | C |
    ```
    """
    index, track = _track_at(project, track_id)
    gap = gap_at(track, _frame(frame, "frame"))
    if gap is None:
        raise EditError("There is no gap there to close.")
    shift = gap.range.duration
    items = [
        dataclasses.replace(item, start=item.start - shift) if item.start >= gap.range.end else item
        for item in track.items
    ]
    return _with_track(project, index, _with_items(track, items))


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


# --- shot settings ----------------------------------------------------------------------------------------
@_edit
def set_shot(project: Project, shot_id: str, **changes: Any) -> Project:
    """Change a shot's prompt, negative prompt, seed, seed lock, steps, guidance, model, aspect, duration,
    start image or source (any of `SHOT_FIELDS`).

    ```
    | A "a red ball" |   ->   | A "a blue ball" |
    | A |  | B |  duration+  ->   | A   | B |   (longer only into empty space)
    ```
    """
    unknown = set(changes) - set(SHOT_FIELDS)
    if unknown:
        raise TypeError(f"set_shot() got unknown shot fields: {', '.join(sorted(unknown))}")
    index, track, shot = _locate_shot(project, shot_id)
    if "duration" in changes:
        _check_shot_length(changes["duration"])
    updated = dataclasses.replace(shot, **changes)
    if updated == shot:
        return project
    if updated.duration != shot.duration:
        _check_room(track, updated.range, ignore=(shot.id,))
    return _with_track(project, index, _swap_item(track, shot.id, updated))


# --- takes ------------------------------------------------------------------------------------------------
@_edit
def add_take(project: Project, shot_id: str, take: Take, *, make_current: bool = True) -> Project:
    """Add a finished render to a shot and (by default) show it.

    ```
    shot A  takes [t1]  current t1   ->   takes [t1, t2]  current t2
    ```
    When the shot was made from neighbours and `take.made_from` is empty, it is filled with the
    neighbours' current takes, as they are now: pass it explicitly when the render used other takes.
    """
    index, track, shot = _locate_shot(project, shot_id)
    if any(existing.id == take.id for existing in shot.takes):
        raise EditError(f"The shot already has a take {take.id}.")
    if not take.made_from and shot.source.neighbours:
        pairs = []
        for neighbour_id in shot.source.neighbours:
            found = project.find(neighbour_id)
            if found is not None and isinstance(found[1], Shot) and found[1].current_take is not None:
                pairs.append((neighbour_id, found[1].current_take))
        take = dataclasses.replace(take, made_from=tuple(pairs))
    updated = dataclasses.replace(
        shot, takes=(*shot.takes, take), current_take=take.id if make_current else shot.current_take
    )
    return _with_track(project, index, _swap_item(track, shot.id, updated))


@_edit
def set_current_take(project: Project, shot_id: str, take_id: str | None) -> Project:
    """Show another take of a shot (None: show none). Shots made from this one may become stale.

    ```
    A [t1* t2]   ->   A [t1 t2*]
    ```
    """
    index, track, shot = _locate_shot(project, shot_id)
    if take_id is not None and all(take.id != take_id for take in shot.takes):
        raise EditError(f"{describe(shot)} has no take {take_id}.")
    if take_id == shot.current_take:
        return project
    return _with_track(
        project, index, _swap_item(track, shot.id, dataclasses.replace(shot, current_take=take_id))
    )


@_edit
def delete_take(project: Project, shot_id: str, take_id: str) -> Project:
    """Remove a take from a shot (its media stays in the cache); if it was shown, the newest remaining
    take is shown instead.

    ```
    A [t1 t2 t3*]   ->   A [t1 t2*]
    ```
    """
    index, track, shot = _locate_shot(project, shot_id)
    if all(take.id != take_id for take in shot.takes):
        raise EditError(f"{describe(shot)} has no take {take_id}.")
    takes = tuple(take for take in shot.takes if take.id != take_id)
    current = shot.current_take
    if current == take_id:
        current = takes[-1].id if takes else None
    updated = dataclasses.replace(shot, takes=takes, current_take=current)
    return _with_track(project, index, _swap_item(track, shot.id, updated))


# --- project ----------------------------------------------------------------------------------------------
@_edit
def set_project(
    project: Project,
    *,
    name: str = _UNSET,
    fps: Fraction | int | str = _UNSET,
    width: int = _UNSET,
    height: int = _UNSET,
) -> Project:
    """Rename the project or change its format. The frame rate can only change while the timeline is empty,
    since every position is counted in frames.

    ```
    "Untitled" 24 fps 832×480   ->   "Storyboard" 24 fps 1280×720
    ```
    """
    changes = {k: v for k, v in {"name": name, "width": width, "height": height}.items() if v is not _UNSET}
    if fps is not _UNSET:
        rate = parse_rate(fps)
        if rate != project.fps and any(True for _ in project.items()):
            raise EditError(
                "Choose the frame rate before placing shots: everything on the timeline is counted in frames "
                f"at {project.fps} fps."
            )
        changes["fps"] = rate
    return dataclasses.replace(project, **changes)


@_edit
def set_settings(project: Project, **changes: Any) -> Project:
    """Change project settings (`Settings` fields: default model, aspect, shot length, autosave, snapping…).

    ```
    settings autosave 60 s   ->   autosave 120 s
    ```
    """
    names = {f.name for f in dataclasses.fields(Settings)}
    unknown = set(changes) - names
    if unknown:
        raise TypeError(f"set_settings() got unknown settings: {', '.join(sorted(unknown))}")
    return dataclasses.replace(project, settings=dataclasses.replace(project.settings, **changes))


# --- render queue -----------------------------------------------------------------------------------------
def _job_index(project: Project, job_id: str) -> int:
    for index, job in enumerate(project.render_queue):
        if job.id == job_id:
            return index
    raise EditError(f"There is no render job {job_id} in the queue.")


@_edit
def queue_render(project: Project, shot_id: str, *, job_id: str | None = None) -> Project:
    """Add a render of a shot at the end of the render queue.

    ```
    queue [A]   ->   [A, B]
    ```
    """
    _, _, shot = _locate_shot(project, shot_id)
    if any(job.shot_id == shot_id and job.status in ("queued", "running") for job in project.render_queue):
        raise EditError(f"{describe(shot)} is already waiting in the render queue.")
    job_id = job_id or new_id("job")
    if any(job.id == job_id for job in project.render_queue):
        raise EditError(f"The id {job_id} is already used by another render job.")
    return dataclasses.replace(
        project, render_queue=(*project.render_queue, RenderJob(id=job_id, shot_id=shot_id))
    )


@_edit
def set_render_status(project: Project, job_id: str, status: str, message: str = "") -> Project:
    """Record a job's progress: queued → running (counts an attempt) → done / failed / cancelled.

    ```
    queue [A queued]   ->   [A running (attempt 1)]
    ```
    """
    index = _job_index(project, job_id)
    job = project.render_queue[index]
    attempts = job.attempts + 1 if status == "running" and job.status != "running" else job.attempts
    updated = dataclasses.replace(job, status=status, message=message, attempts=attempts)
    queue = (*project.render_queue[:index], updated, *project.render_queue[index + 1 :])
    return dataclasses.replace(project, render_queue=queue)


@_edit
def remove_render(project: Project, job_id: str) -> Project:
    """Take a job out of the render queue.  `[A, B, C]  ->  [A, C]`"""
    index = _job_index(project, job_id)
    queue = (*project.render_queue[:index], *project.render_queue[index + 1 :])
    return dataclasses.replace(project, render_queue=queue)


@_edit
def reorder_render(project: Project, job_id: str, position: int) -> Project:
    """Move a job to `position` in the render queue.  `[A, B, C]  ->  [C, A, B]`"""
    index = _job_index(project, job_id)
    queue = list(project.render_queue)
    job = queue.pop(index)
    queue.insert(max(0, min(position, len(queue))), job)
    return dataclasses.replace(project, render_queue=tuple(queue))
