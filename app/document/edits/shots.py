"""A shot's settings and its takes."""

from __future__ import annotations

import dataclasses
from typing import Any

from app.document.edits._base import (
    SHOT_FIELDS,
    _check_room,
    _check_shot_length,
    _edit,
    _locate_shot,
    _swap_item,
    _with_track,
    describe,
)
from app.document.errors import EditError
from app.document.schema import (
    Project,
    Shot,
    Take,
)


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
