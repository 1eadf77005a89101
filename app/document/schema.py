"""The project's data: frozen dataclasses Project → Track → Shot / ImportedClip → Take; gaps; staleness.

Every object is immutable: an edit builds a new Project that shares the untouched parts with the
old one (see `edits.py`), so an undo command can keep the project before and after, and a view can
tell what changed by identity. Objects check their own invariants when built and raise
`ValueError` with a sentence a filmmaker understands.

```
Project  name, fps (Fraction), width × height, settings, render queue
└─ Track  "V1" …           items sorted by start, never overlapping; gaps are computed, not stored
   ├─ Shot                 prompt, seed, steps…, source (generate / extend ± / bridge), takes
   │  └─ Take              one render in the media folder, with its full recipe
   └─ ImportedClip         the filmmaker's own footage or still, with an in-point
```

Ids are short strings (`new_id("shot")` → `"shot-3fa91c0b"`) chosen once and never changed, so an
undo command, a render job or a bridge can point at a shot across edits.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Integral, Real
from typing import Any

from app.document.time import TimeRange, parse_rate

ASPECT_PRESETS = ("16:9", "9:16", "1:1", "2.39:1")
TRACK_KINDS = ("video",)
SOURCE_KINDS = ("generate", "extend_forward", "extend_backward", "bridge")
RENDER_STATUSES = ("queued", "running", "failed", "cancelled", "done")
MIN_SHOT_FRAMES = 1
MAX_SHOT_FRAMES = 7200  # five minutes at 24 fps; each model's own limit is checked by the engine
MAX_STEPS = 200
MAX_GUIDANCE = 30.0
MAX_SEED = 2**63  # exclusive
MAX_SIZE = 8192
# The last frame a timeline may reach: 2**30 frames is over a year at 24 fps, and leaves room below the 32-bit
# limits of the widgets that show frame numbers (a damaged file must not crash the window).
MAX_FRAME = 2**30
MAX_AUTOSAVE_SECONDS = 24 * 3600

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def new_id(kind: str) -> str:
    """A fresh id such as `shot-3fa91c0b` (32 random bits; edits refuse an id already in use)."""
    return f"{kind}-{secrets.token_hex(4)}"


# --- checks shared by the dataclasses ---------------------------------------------------------------------
def _fail(message: str) -> None:
    raise ValueError(message)


def _check_id(value: object, what: str) -> None:
    if not isinstance(value, str) or not _ID.match(value):
        _fail(f"{value!r} is not a valid {what} id: use 1 to 64 letters, digits, '-', '_' or '.'.")


def _check_int(value: object, what: str, low: int | None = None, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral):
        _fail(f"The {what} must be a whole number, not {value!r}.")
    if low is not None and value < low:
        _fail(f"The {what} must be at least {low} (got {value}).")
    if high is not None and value > high:
        _fail(f"The {what} must be at most {high} (got {value}).")


def _check_str(value: object, what: str) -> None:
    if not isinstance(value, str):
        _fail(f"The {what} must be text, not {value!r}.")


def _check_bool(value: object, what: str) -> None:
    if not isinstance(value, bool):
        _fail(f"The {what} must be on or off (true or false), not {value!r}.")


def _check_relative_media(path: object, what: str) -> None:
    _check_str(path, what)
    parts = path.replace("\\", "/").split("/")
    if not path or path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path) or ".." in parts:
        _fail(f"The {what} '{path}' must be a path inside the project's media folder.")


def _as_tuple(owner: object, name: str) -> None:
    value = getattr(owner, name)
    if not isinstance(value, tuple):
        object.__setattr__(owner, name, tuple(value))


# --- recipes ---------------------------------------------------------------------------------------------
class Recipe(Mapping[str, Any]):
    """A take's recipe: read-only JSON data (what was asked of the engine, the seed, the model…).

    Stored as canonical JSON text, so it cannot be changed through a reference, compares exactly
    and hashes. Reading a key gives a fresh copy; `to_dict()` gives a plain, mutable dict.
    """

    __slots__ = ("_data", "_text")

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        if isinstance(data, Recipe):
            text = data._text
        else:
            if data is not None and not isinstance(data, Mapping):
                raise ValueError(f"A take's recipe must be a JSON object, not {type(data).__name__}.")
            try:
                text = json.dumps(dict(data or {}), sort_keys=True, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError) as error:
                raise ValueError(f"A take's recipe must be plain JSON data: {error}") from error
        self._text = text
        self._data: dict[str, Any] = json.loads(text)

    def __getitem__(self, key: str) -> Any:
        return copy.deepcopy(self._data[key])

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Recipe):
            return self._text == other._text
        if isinstance(other, Mapping):
            try:
                return self._text == Recipe(other)._text
            except ValueError:
                return False
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._text)

    def __repr__(self) -> str:
        return f"Recipe({self._text if len(self._text) < 80 else self._text[:77] + '...'})"

    def to_dict(self) -> dict[str, Any]:
        """A plain copy of the recipe, safe to change."""
        return json.loads(self._text)


# --- takes and shots -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Take:
    """One render of a shot, kept in the media cache under `cache_key`.

    `media_path` is relative to the project's media folder (e.g. `"3fa91c…/frames.mkv"`). `recipe`
    is everything needed to render it again (the engine's `GenerationRequest.to_recipe()` and the
    model identity). `created` is an ISO 8601 UTC time.

    `in_point` is the frame of the take shown at the shot's first frame: 0 for a fresh render, more
    after a split or a trim at the start, negative when the shot was lengthened to the left beyond
    the take (frames the take does not cover show as "needs render").

    `made_from` records, for extensions and bridges, which take of each neighbour the render used,
    as `(shot id, take id)` pairs: when a neighbour's current take is no longer that take, the shot is
    stale (`is_stale`).
    """

    id: str
    cache_key: str
    media_path: str
    frames: int
    recipe: Recipe = field(default_factory=Recipe, repr=False)
    created: str = ""
    latents_available: bool = False
    in_point: int = 0
    made_from: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        _check_id(self.id, "take")
        _check_str(self.cache_key, "take's cache key")
        _check_relative_media(self.media_path, "take's media path")
        _check_int(self.frames, "number of frames in a take", 1, MAX_FRAME)
        if not isinstance(self.recipe, Recipe):
            object.__setattr__(self, "recipe", Recipe(self.recipe))
        _check_str(self.created, "take's creation time")
        _check_bool(self.latents_available, "'latents available' flag")
        _check_int(self.in_point, "take's in-point", -MAX_FRAME, MAX_FRAME)
        pairs = tuple(tuple(pair) for pair in self.made_from)
        for pair in pairs:
            if len(pair) != 2:
                _fail(f"A take is made from (shot, take) pairs, not {pair!r}.")
            _check_id(pair[0], "neighbour shot")
            _check_str(pair[1], "neighbour take")
        object.__setattr__(self, "made_from", pairs)


@dataclass(frozen=True)
class ShotSource:
    """How a shot was made: generated from its prompt, extended forward or backward from a neighbour,
    or a bridge between a left and a right neighbour. `neighbours` holds the item ids it was made
    from: none, one (extensions) or two, left then right (bridges).
    """

    kind: str = "generate"
    neighbours: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _as_tuple(self, "neighbours")
        if self.kind not in SOURCE_KINDS:
            _fail(f"Unknown way to make a shot: '{self.kind}' (use {', '.join(SOURCE_KINDS)}).")
        wanted = {"generate": 0, "extend_forward": 1, "extend_backward": 1, "bridge": 2}[self.kind]
        if len(self.neighbours) != wanted:
            _fail(f"A '{self.kind}' shot is made from {wanted} neighbour(s), not {len(self.neighbours)}.")
        for neighbour in self.neighbours:
            _check_id(neighbour, "neighbour")


@dataclass(frozen=True)
class Shot:
    """A span of the timeline with a prompt, rendered by the engine into takes.

    `seed` None means "pick one at render time" (the take's recipe records the real one);
    `seed_locked` keeps the seed for every new render. `steps` and `guidance` None mean the model's
    defaults. `start_image` is a still the shot begins on (absolute, or relative to the project file).
    """

    id: str
    start: int
    duration: int
    prompt: str = ""
    negative_prompt: str = ""
    seed: int | None = None
    seed_locked: bool = False
    steps: int | None = None
    guidance: float | None = None
    model: str = "sketch"
    aspect: str = "16:9"
    start_image: str | None = None
    takes: tuple[Take, ...] = ()
    current_take: str | None = None
    source: ShotSource = field(default_factory=ShotSource)

    def __post_init__(self) -> None:
        _as_tuple(self, "takes")
        _check_id(self.id, "shot")
        _check_int(self.start, "start of a shot", 0, MAX_FRAME - MAX_SHOT_FRAMES)
        _check_int(self.duration, "length of a shot (in frames)", MIN_SHOT_FRAMES, MAX_SHOT_FRAMES)
        _check_str(self.prompt, "prompt")
        _check_str(self.negative_prompt, "negative prompt")
        if self.seed is not None:
            _check_int(self.seed, "seed", 0, MAX_SEED - 1)
        _check_bool(self.seed_locked, "seed lock")
        if self.steps is not None:
            _check_int(self.steps, "number of steps", 1, MAX_STEPS)
        if self.guidance is not None:
            if isinstance(self.guidance, bool) or not isinstance(self.guidance, Real):
                _fail(f"Guidance must be a number, not {self.guidance!r}.")
            if not 0.0 <= self.guidance <= MAX_GUIDANCE:
                _fail(
                    f"Guidance must be between 0 and {MAX_GUIDANCE:g} (got {self.guidance}); 1 turns it off."
                )
            object.__setattr__(self, "guidance", float(self.guidance))
        _check_str(self.model, "model")
        if not self.model:
            _fail("A shot needs a model.")
        if self.aspect not in ASPECT_PRESETS:
            _fail(f"Unknown aspect '{self.aspect}': use {', '.join(ASPECT_PRESETS)}.")
        if self.start_image is not None:
            _check_str(self.start_image, "start image")
            if not self.start_image:
                _fail("A start image needs a file path (or none at all).")
        ids = [take.id for take in self.takes]
        if len(set(ids)) != len(ids):
            _fail(f"Shot {self.id} has two takes with the same id.")
        if not all(isinstance(take, Take) for take in self.takes):
            _fail(f"Shot {self.id} holds something that is not a take.")
        if self.current_take is not None and self.current_take not in ids:
            _fail(f"Shot {self.id} shows take {self.current_take}, which it does not have.")
        if not isinstance(self.source, ShotSource):
            _fail(f"Shot {self.id} has no valid source.")

    @property
    def range(self) -> TimeRange:
        return TimeRange(self.start, self.duration)

    @property
    def end(self) -> int:
        return self.start + self.duration

    @property
    def current(self) -> Take | None:
        """The take shown on the timeline, if any."""
        return None if self.current_take is None else self.take(self.current_take)

    def take(self, take_id: str) -> Take:
        for take in self.takes:
            if take.id == take_id:
                return take
        raise KeyError(f"Shot {self.id} has no take {take_id}")

    def covered_by(self, take: Take) -> bool:
        """Whether the take has a frame for every frame of the shot."""
        return take.in_point >= 0 and take.in_point + self.duration <= take.frames

    @property
    def needs_render(self) -> bool:
        """No take yet, or the current take does not cover the whole shot (after lengthening it)."""
        current = self.current
        return current is None or not self.covered_by(current)


@dataclass(frozen=True)
class ImportedClip:
    """The filmmaker's own footage or still on the timeline.

    `media_path` is absolute or relative to the project file's folder. `in_point` is the first frame
    of the media shown; `media_frames` is the media's length (None for a still image, which can be
    held for any length).
    """

    id: str
    start: int
    duration: int
    media_path: str
    in_point: int = 0
    media_frames: int | None = None

    def __post_init__(self) -> None:
        _check_id(self.id, "clip")
        _check_int(self.start, "start of a clip", 0, MAX_FRAME // 2)
        _check_int(self.duration, "length of a clip (in frames)", 1, MAX_FRAME // 2)
        _check_str(self.media_path, "clip's file")
        if not self.media_path:
            _fail("An imported clip needs a file.")
        _check_int(self.in_point, "clip's in-point", 0, MAX_FRAME)
        if self.media_frames is not None:
            _check_int(self.media_frames, "length of the clip's media", 1, MAX_FRAME)
            if self.in_point + self.duration > self.media_frames:
                _fail(
                    f"The clip {self.id} would show frames {self.in_point} to "
                    f"{self.in_point + self.duration - 1} but its media has only {self.media_frames} frames."
                )

    @property
    def range(self) -> TimeRange:
        return TimeRange(self.start, self.duration)

    @property
    def end(self) -> int:
        return self.start + self.duration

    @property
    def is_still(self) -> bool:
        return self.media_frames is None


Item = Shot | ImportedClip
ITEM_TYPES = (Shot, ImportedClip)


def item_kind(item: Item) -> str:
    """'shot' or 'clip': how messages name the item."""
    return "shot" if isinstance(item, Shot) else "clip"


# --- tracks ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Track:
    """A row of the timeline. Items are kept sorted by start and never overlap."""

    id: str
    name: str
    kind: str = "video"
    items: tuple[Item, ...] = ()
    muted: bool = False
    hidden: bool = False

    def __post_init__(self) -> None:
        _check_id(self.id, "track")
        _check_str(self.name, "track name")
        if self.kind not in TRACK_KINDS:
            _fail(f"Unknown track kind '{self.kind}': Shotline has {', '.join(TRACK_KINDS)} tracks.")
        _check_bool(self.muted, "mute")
        _check_bool(self.hidden, "hide")
        for item in self.items:
            if not isinstance(item, ITEM_TYPES):
                _fail(f"Track {self.name} holds something that is neither a shot nor a clip: {item!r}.")
        items = tuple(sorted(self.items, key=lambda item: item.start))
        for left, right in itertools.pairwise(items):
            if left.end > right.start:
                _fail(
                    f"On track {self.name}, {item_kind(left)} {left.id} (frames {left.start}–{left.end - 1}) "
                    f"overlaps {item_kind(right)} {right.id} (from frame {right.start})."
                )
        object.__setattr__(self, "items", items)

    def index_of(self, item_id: str) -> int:
        for index, item in enumerate(self.items):
            if item.id == item_id:
                return index
        raise KeyError(f"Track {self.name} has no item {item_id}")

    def item_at(self, frame: int) -> Item | None:
        """The item covering `frame`, if any."""
        for item in self.items:
            if item.start <= frame < item.end:
                return item
        return None

    @property
    def end(self) -> int:
        """The frame after the last item (0 for an empty track)."""
        return self.items[-1].end if self.items else 0


# --- project -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RenderJob:
    """An entry of the render queue, saved with the project so the queue survives a restart."""

    id: str
    shot_id: str
    status: str = "queued"
    message: str = ""
    attempts: int = 0

    def __post_init__(self) -> None:
        _check_id(self.id, "render job")
        _check_id(self.shot_id, "shot")
        if self.status not in RENDER_STATUSES:
            _fail(f"Unknown render status '{self.status}' (use {', '.join(RENDER_STATUSES)}).")
        _check_str(self.message, "render message")
        _check_int(self.attempts, "number of attempts", 0)


@dataclass(frozen=True)
class Settings:
    """Project-wide choices: defaults for new shots, where takes live, how often to autosave."""

    media_folder: str = "media"  # relative to the project file's folder
    default_model: str = "sketch"
    default_aspect: str = "16:9"
    default_shot_frames: int = 48
    default_steps: int | None = None
    default_guidance: float | None = None
    autosave_seconds: int = 60
    snapping: bool = True

    def __post_init__(self) -> None:
        _check_relative_media(self.media_folder, "media folder")
        _check_str(self.default_model, "default model")
        if not self.default_model:
            _fail("The project needs a default model.")
        if self.default_aspect not in ASPECT_PRESETS:
            _fail(f"Unknown aspect '{self.default_aspect}': use {', '.join(ASPECT_PRESETS)}.")
        _check_int(self.default_shot_frames, "default shot length", MIN_SHOT_FRAMES, MAX_SHOT_FRAMES)
        if self.default_steps is not None:
            _check_int(self.default_steps, "default number of steps", 1, MAX_STEPS)
        if self.default_guidance is not None:
            if isinstance(self.default_guidance, bool) or not isinstance(self.default_guidance, Real):
                _fail(f"Guidance must be a number, not {self.default_guidance!r}.")
            if not 0.0 <= self.default_guidance <= MAX_GUIDANCE:
                _fail(f"Guidance must be between 0 and {MAX_GUIDANCE:g} (got {self.default_guidance}).")
            object.__setattr__(self, "default_guidance", float(self.default_guidance))
        _check_int(self.autosave_seconds, "autosave interval (seconds)", 0, MAX_AUTOSAVE_SECONDS)
        _check_bool(self.snapping, "snapping")


@dataclass(frozen=True)
class Project:
    """A whole edit: its format, its tracks (top to bottom) and its render queue."""

    name: str = "Untitled"
    fps: Fraction = Fraction(24)
    width: int = 832
    height: int = 480
    tracks: tuple[Track, ...] = ()
    render_queue: tuple[RenderJob, ...] = ()
    settings: Settings = field(default_factory=Settings)

    def __post_init__(self) -> None:
        _as_tuple(self, "tracks")
        _as_tuple(self, "render_queue")
        _check_str(self.name, "project name")
        object.__setattr__(self, "fps", parse_rate(self.fps))
        _check_int(self.width, "width", 1, MAX_SIZE)
        _check_int(self.height, "height", 1, MAX_SIZE)
        if not isinstance(self.settings, Settings):
            _fail("The project settings are missing.")
        track_ids: set[str] = set()
        item_ids: set[str] = set()
        shot_ids: set[str] = set()
        for track in self.tracks:
            if not isinstance(track, Track):
                _fail(f"The project holds something that is not a track: {track!r}.")
            if track.id in track_ids:
                _fail(f"Two tracks share the id {track.id}.")
            track_ids.add(track.id)
            for item in track.items:
                if item.id in item_ids:
                    _fail(f"Two shots or clips share the id {item.id}.")
                item_ids.add(item.id)
                if isinstance(item, Shot):
                    shot_ids.add(item.id)
        job_ids: set[str] = set()
        for job in self.render_queue:
            if not isinstance(job, RenderJob):
                _fail(f"The render queue holds something that is not a render job: {job!r}.")
            if job.id in job_ids:
                _fail(f"Two render jobs share the id {job.id}.")
            job_ids.add(job.id)
            if job.shot_id not in shot_ids:
                _fail(f"The render queue has a job for shot {job.shot_id}, which is not in the project.")

    # lookups --------------------------------------------------------------------------------------------
    def track(self, track_id: str) -> Track:
        return self.tracks[self.track_index(track_id)]

    def track_index(self, track_id: str) -> int:
        for index, track in enumerate(self.tracks):
            if track.id == track_id:
                return index
        raise KeyError(f"There is no track {track_id}")

    def items(self) -> Iterator[tuple[Track, Item]]:
        """Every (track, item), track by track, in timeline order."""
        for track in self.tracks:
            for item in track.items:
                yield track, item

    def find(self, item_id: str) -> tuple[Track, Item] | None:
        """The item with this id and its track, or None."""
        for track, item in self.items():
            if item.id == item_id:
                return track, item
        return None

    def item(self, item_id: str) -> Item:
        found = self.find(item_id)
        if found is None:
            raise KeyError(f"There is no shot or clip {item_id}")
        return found[1]

    def shot(self, shot_id: str) -> Shot:
        item = self.item(shot_id)
        if not isinstance(item, Shot):
            raise KeyError(f"{shot_id} is an imported clip, not a shot")
        return item

    def shots(self) -> Iterator[Shot]:
        for _, item in self.items():
            if isinstance(item, Shot):
                yield item

    @property
    def duration(self) -> int:
        """Frames from the start of the timeline to the end of the last item on any track."""
        return max((track.end for track in self.tracks), default=0)


# --- what follows from the data: gaps and staleness -------------------------------------------------------
@dataclass(frozen=True)
class Gap:
    """An empty span of a track, selectable as (track id, range). `left` / `right` are the ids of the items
    on either side (None at the start of the track). A gap between two items can be filled with a bridge.
    """

    track_id: str
    range: TimeRange
    left: str | None
    right: str | None

    @property
    def can_bridge(self) -> bool:
        return self.left is not None and self.right is not None


def gaps(track: Track) -> tuple[TimeRange, ...]:
    """The empty spans between items on `track`, including the one before its first item.

    ```
    frame 0        10      20    30     40
          |  gap   |  A    | gap |  B   |          → (TimeRange(0, 10), TimeRange(20, 10))
    ```
    Space after the last item is open-ended and not a gap.
    """
    return tuple(gap.range for gap in find_gaps(track))


def find_gaps(track: Track) -> tuple[Gap, ...]:
    """Like `gaps`, with the neighbours on either side of each gap."""
    found: list[Gap] = []
    position, left = 0, None
    for item in track.items:
        if item.start > position:
            found.append(Gap(track.id, TimeRange.from_bounds(position, item.start), left, item.id))
        position, left = item.end, item.id
    return tuple(found)


def gap_at(track: Track, frame: int) -> Gap | None:
    """The gap on `track` containing `frame`, or None (inside an item, or after the last one)."""
    for gap in find_gaps(track):
        if gap.range.contains(frame):
            return gap
    return None


def stale_neighbours(project: Project, shot_id: str) -> tuple[str, ...]:
    """Ids of the neighbours whose current take is no longer the one this shot's current take was made from.

    A neighbour that was removed from the project no longer counts (there is nothing to re-render
    from); a neighbour whose current take was deleted does count.
    """
    take = project.shot(shot_id).current
    if take is None:
        return ()
    stale: list[str] = []
    for neighbour_id, take_id in take.made_from:
        found = project.find(neighbour_id)
        if found is None:
            continue
        neighbour = found[1]
        if isinstance(neighbour, Shot) and neighbour.current_take != take_id:
            stale.append(neighbour_id)
    return tuple(stale)


def is_stale(project: Project, shot_id: str) -> bool:
    """Whether the shot was rendered from a neighbour's take that the neighbour no longer shows.

    ```
    A (take a1) → bridge B made from a1 → A switches to a2  →  B is stale (one click re-renders it)
    ```
    """
    return bool(stale_neighbours(project, shot_id))


def stale_shots(project: Project) -> tuple[str, ...]:
    """Ids of every stale shot, in timeline order."""
    return tuple(shot.id for shot in project.shots() if is_stale(project, shot.id))
