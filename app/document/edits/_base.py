"""What every edit shares: the error wrapper, lookups of tracks and items, the checks of room and length."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from pathlib import PurePath
from typing import Any, TypeVar

from app.document.errors import EditError
from app.document.schema import (
    MAX_SHOT_FRAMES,
    MIN_SHOT_FRAMES,
    Item,
    Project,
    RenderJob,
    Shot,
    Track,
)
from app.document.time import TimeRange

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
