"""Tracks, and placing and removing shots, extensions, bridges and imported clips."""

from __future__ import annotations

import dataclasses
from typing import Any

from app.document.edits._base import (
    _UNSET,
    SHOT_FIELDS,
    _check_new_id,
    _check_room,
    _check_shot_length,
    _edit,
    _frame,
    _locate,
    _queue_without,
    _start,
    _track_at,
    _with_items,
    _with_track,
    describe,
)
from app.document.errors import EditError
from app.document.schema import (
    MAX_SHOT_FRAMES,
    ImportedClip,
    Item,
    Project,
    Shot,
    ShotSource,
    Track,
    gap_at,
    new_id,
)
from app.document.time import TimeRange


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
