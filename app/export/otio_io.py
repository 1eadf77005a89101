"""OpenTimelineIO: the edit out to an NLE (clips pointing at the rendered takes), and `.otio` files back in.

```
Shotline                              OpenTimelineIO
Project "Storyboard" 12 fps           Timeline "Storyboard", metadata["shotline"] = {generator, ai_generated…}
  Track V1 (hidden → enabled False)   └ Stack ─ Track "V1" (Video)
    gap 0–11                               ├ Gap 12 frames
    Shot (take t1, in 0, 36 frames)        ├ Clip ExternalReference(file:///…/KEY/frames.mkv),
                                           │      source_range (0, 36) at the take's rate,
                                           │      metadata["shotline"] = {prompt, seed, model, steps, take…}
    ImportedClip beach.mp4 (in 5)          └ Clip ExternalReference(file:///…/beach.mp4), source_range (5, …)
```

Export reads nothing but the project. Import runs in three steps so the app can do the slow parts on a
worker and the edit as one undo step: `read_otio` (reads the file, checks and probes the media, writes
nothing) → `link_imported_takes` (gives the project's media folder the takes the clips point at) →
`apply_import` (a pure edit). A clip with Shotline metadata whose take exists becomes a shot with that
take; other media references become imported clips. Whatever Shotline cannot keep (transitions, effects,
markers, nested stacks, audio tracks, missing or non-file media) is listed in `OtioImport.problems`.

Imported clips play frame for frame at the project's rate in Shotline, so their source ranges are
counted in frames; a clip at another rate is imported that way and reported.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio

from app.document import edits
from app.document.schema import MAX_SHOT_FRAMES, ImportedClip, Project, Shot, Take, new_id
from app.document.time import to_timecode
from app.export.provenance import generator, shot_recipe
from app.media_paths import link_takes, media_folder, resolve_clip, resolve_take
from app.media_probe import probe_media
from engine.cache import FRAMES_NAME, find_take
from engine.errors import MediaError, ShotlineError
from engine.media import to_fraction

__all__ = [
    "OtioImport",
    "PlannedClip",
    "PlannedShot",
    "PlannedTrack",
    "apply_import",
    "link_imported_takes",
    "read_otio",
    "to_timeline",
    "write_otio",
]

KEY = "shotline"  # the metadata namespace on timelines and clips
SHOT_FIELDS = ("prompt", "negative_prompt", "seed", "seed_locked", "steps", "guidance", "model", "aspect")


def _time(frames: int, rate: Fraction) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, float(rate))


def _range(start: int, duration: int, rate: Fraction) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(_time(start, rate), _time(duration, rate))


# --- export -----------------------------------------------------------------------------------------------
def _take_rate(take: Take, fallback: Fraction) -> Fraction:
    fps = take.recipe.get("request", {}).get("fps")
    try:
        return to_fraction(fps) if fps else fallback
    except MediaError:
        return fallback


def _shot_clip(shot: Shot, project: Project, project_path: Path | None) -> otio.schema.Clip:
    take = shot.current
    recipe = shot_recipe(shot)
    data: dict[str, Any] = {
        "kind": "shot",
        "shot_id": shot.id,
        **{k: recipe[k] for k in SHOT_FIELDS if k in recipe},
        "seed_locked": shot.seed_locked,
        "aspect": shot.aspect,
        "request": recipe["request"],
        "take": None,
    }
    name = shot.prompt[:80] or shot.id
    if take is None:
        reference: otio.core.MediaReference = otio.schema.MissingReference()
        source = _range(0, shot.duration, project.fps)
    else:
        rate = _take_rate(take, project.fps)
        path = resolve_take(project_path, take.media_path)
        reference = otio.schema.ExternalReference(
            target_url=path.absolute().as_uri(), available_range=_range(0, take.frames, rate)
        )
        source = _range(take.in_point, shot.duration, rate)
        data["take"] = {
            "id": take.id,
            "cache_key": take.cache_key,
            "frames": take.frames,
            "in_point": take.in_point,
            "created": take.created,
            "latents_available": take.latents_available,
            "recipe": take.recipe.to_dict(),
        }
    return otio.schema.Clip(name=name, media_reference=reference, source_range=source, metadata={KEY: data})


def _imported_clip(clip: ImportedClip, project: Project, project_path: Path | None) -> otio.schema.Clip:
    path = resolve_clip(project_path, clip.media_path)
    available = None if clip.is_still else _range(0, clip.media_frames, project.fps)
    reference = otio.schema.ExternalReference(target_url=path.absolute().as_uri(), available_range=available)
    return otio.schema.Clip(
        name=path.name,
        media_reference=reference,
        source_range=_range(clip.in_point, clip.duration, project.fps),
        metadata={KEY: {"kind": "clip", "clip_id": clip.id}},
    )


def to_timeline(project: Project, project_path: Path | None) -> otio.schema.Timeline:
    """The project as an OTIO timeline: one video track per Shotline track (bottom first), gaps as Gaps."""
    rate = project.fps
    timeline = otio.schema.Timeline(
        name=project.name,
        global_start_time=_time(0, rate),
        metadata={
            KEY: {
                "generator": generator(),
                "ai_generated": True,
                "width": project.width,
                "height": project.height,
                "fps": f"{rate.numerator}/{rate.denominator}",
            }
        },
    )
    for track in project.tracks:
        out = otio.schema.Track(name=track.name, kind=otio.schema.TrackKind.Video)
        out.enabled = not track.hidden
        position = 0
        for item in track.items:
            if item.start > position:
                out.append(otio.schema.Gap(source_range=_range(0, item.start - position, rate)))
            if isinstance(item, Shot):
                out.append(_shot_clip(item, project, project_path))
            else:
                out.append(_imported_clip(item, project, project_path))
            position = item.end
        timeline.tracks.append(out)
    return timeline


def write_otio(project: Project, project_path: Path | None, out: Path) -> Path:
    """Write the project as an `.otio` file (a temp name, then a rename)."""
    text = otio.adapters.write_to_string(to_timeline(project, project_path), "otio_json")
    target = Path(out)
    temp = target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")
    try:
        with open(temp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except OSError as error:
        raise MediaError(
            f"Could not write “{target.name}”: check the folder is writable and has room.",
            detail=f"{target}: {error!r}",
        ) from error
    finally:
        temp.unlink(missing_ok=True)
    return target


# --- import: what the file asks for -------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedShot:
    """A clip that carried Shotline metadata: a shot, with its take when the take's files exist."""

    shot_id: str
    start: int
    duration: int
    fields: dict[str, Any] = field(hash=False)
    take: Take | None = None


@dataclass(frozen=True)
class PlannedClip:
    """A media reference Shotline can show: an imported clip."""

    start: int
    duration: int
    media_path: str
    in_point: int = 0
    media_frames: int | None = None


@dataclass(frozen=True)
class PlannedTrack:
    name: str
    hidden: bool
    items: tuple[PlannedShot | PlannedClip, ...]


Planned = PlannedShot | PlannedClip


@dataclass(frozen=True)
class OtioImport:
    """What an `.otio` file lays out, what could not be kept (`problems`, in words), and the take folders to
    give the project's media folder (`takes_to_link`: (folder holding the take, its key))."""

    source: Path
    tracks: tuple[PlannedTrack, ...]
    problems: tuple[str, ...]
    takes_to_link: tuple[tuple[Path, str], ...] = ()

    @property
    def item_count(self) -> int:
        return sum(len(track.items) for track in self.tracks)


def _plain(value: Any) -> Any:
    """OTIO's AnyDictionary / AnyVector as plain dicts and lists."""
    if isinstance(value, (dict, otio._otio.AnyDictionary)):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, otio._otio.AnyVector)):
        return [_plain(v) for v in value]
    return value


def _load(path: Path) -> otio.schema.Timeline:
    try:
        loaded = otio.adapters.read_from_file(str(path))
    except Exception as error:  # OTIO raises many kinds (adapter, JSON, schema) for a bad file
        raise MediaError(
            f"“{path.name}” could not be read as an OpenTimelineIO file: it is damaged or not a timeline.",
            detail=f"{path}: {type(error).__name__}: {error}",
        ) from error
    if isinstance(loaded, otio.schema.Timeline):
        return loaded
    timelines = []
    if isinstance(loaded, otio.schema.SerializableCollection):
        timelines = [item for item in loaded if isinstance(item, otio.schema.Timeline)]
    if not timelines:
        raise MediaError(
            f"“{path.name}” holds no timeline to import.", detail=f"{path}: {type(loaded).__name__}"
        )
    return timelines[0]


class _Planner:
    """Reads one timeline into planned tracks, collecting problems as sentences."""

    def __init__(self, source: Path, project: Project, project_path: Path | None) -> None:
        self.source = source
        self.project = project
        self.project_path = project_path
        self.rate = project.fps
        self.problems: list[str] = []
        self.links: dict[str, Path] = {}

    def where(self, track_name: str, frame: int) -> str:
        return f"on {track_name or 'a track'} at {to_timecode(frame, self.rate)}"

    def frames(self, time: otio.opentime.RationalTime) -> int:
        return round(time.rescaled_to(float(self.rate)).value)

    def plan(self, timeline: otio.schema.Timeline) -> tuple[PlannedTrack, ...]:
        planned: list[PlannedTrack] = []
        for index, composable in enumerate(timeline.tracks):
            name = composable.name or f"track {index + 1}"
            if not isinstance(composable, otio.schema.Track):
                self.problems.append(f"A nested sequence (“{name}”) above the tracks was left out.")
                continue
            if composable.kind != otio.schema.TrackKind.Video:
                if len(composable):
                    self.problems.append(
                        f"The {composable.kind.lower()} track “{name}” was left out: "
                        "Shotline has video tracks only."
                    )
                continue
            for what, things in (("effects", composable.effects), ("markers", composable.markers)):
                if things:
                    self.problems.append(f"The {what} on track “{name}” were left out.")
            planned.append(PlannedTrack(name, not composable.enabled, self.track_items(composable, name)))
        return tuple(planned)

    def track_items(self, track: otio.schema.Track, name: str) -> tuple[Planned, ...]:
        items: list[Planned] = []
        ranges = track.range_of_all_children()
        end = 0
        for child in track:
            start = self.frames(ranges[child].start_time)
            duration = self.frames(ranges[child].duration)
            where = self.where(name, start)
            if isinstance(child, otio.schema.Gap):
                continue
            if isinstance(child, otio.schema.Transition):
                self.problems.append(f"A transition {where} was left out: the clips cut instead.")
                continue
            if not isinstance(child, otio.schema.Clip):
                nested = isinstance(child, (otio.schema.Stack, otio.schema.Track))
                label = "nested sequence" if nested else type(child).__name__
                self.problems.append(f"A {label} (“{child.name}”) {where} was left out: a gap stays there.")
                continue
            if duration <= 0:
                continue
            if start < end:
                self.problems.append(f"“{child.name}” {where} overlaps the clip before it and was left out.")
                continue
            item = self.clip(child, start, duration, where)
            if item is not None:
                items.append(item)
                end = start + item.duration
        return tuple(items)

    def media_path(self, clip: otio.schema.Clip) -> Path | None:
        reference = clip.media_reference
        if not isinstance(reference, otio.schema.ExternalReference) or not reference.target_url:
            return None
        url = reference.target_url
        path = Path(otio.url_utils.filepath_from_url(url)) if url.startswith("file:") else Path(url)
        return path if path.is_absolute() else (self.source.parent / path)

    def clip(self, clip: otio.schema.Clip, start: int, duration: int, where: str) -> Planned | None:
        label = f"“{clip.name}” {where}"
        for what, things in (("effects", clip.effects), ("markers", clip.markers)):
            if things:
                self.problems.append(f"The {what} on {label} were left out.")
        data = _plain(clip.metadata.get(KEY)) if KEY in clip.metadata else None
        path = self.media_path(clip)
        if isinstance(data, dict) and data.get("kind") == "shot":
            return self.shot(clip, data, path, start, duration, label)
        if path is None:
            kind = type(clip.media_reference).__name__.replace("Reference", "").lower() or "no"
            self.problems.append(f"{label} was left out: it has {kind} media, not a file Shotline can show.")
            return None
        return self.imported(clip, path, start, duration, label)

    def imported(
        self, clip: otio.schema.Clip, path: Path, start: int, duration: int, label: str
    ) -> PlannedClip | None:
        if not path.exists():
            self.problems.append(f"{label} was left out: its media {path} is missing.")
            return None
        try:
            media_frames = probe_media(path)
        except ShotlineError as error:
            self.problems.append(f"{label} was left out: {error.message}")
            return None
        source = clip.source_range or clip.trimmed_range()
        if abs(source.start_time.rate - float(self.rate)) > 1e-6:
            self.problems.append(
                f"{label} is at {source.start_time.rate:g} fps: Shotline shows it frame by frame at the "
                f"project's {float(self.rate):g} fps."
            )
        in_point = 0 if media_frames is None else max(0, round(source.start_time.value))
        if media_frames is not None and in_point + duration > media_frames:
            if in_point >= media_frames:
                self.problems.append(f"{label} was left out: it starts after the end of its media.")
                return None
            duration = media_frames - in_point
            self.problems.append(f"{label} was shortened to the {media_frames} frames its media has.")
        return PlannedClip(start, duration, self.stored_path(path), in_point, media_frames)

    def stored_path(self, path: Path) -> str:
        """Relative to the project's folder when inside it, else absolute (as dropped clips are stored)."""
        path = path.resolve()
        if self.project_path is not None:
            with contextlib.suppress(ValueError):
                return path.relative_to(Path(self.project_path).resolve().parent).as_posix()
        return str(path)

    def shot(
        self, clip: otio.schema.Clip, data: dict, path: Path | None, start: int, duration: int, label: str
    ) -> Planned | None:
        fields = self.shot_fields(data, label)
        shot_id = str(data.get("shot_id") or "")
        if duration > MAX_SHOT_FRAMES:
            self.problems.append(f"{label} was shortened to {MAX_SHOT_FRAMES} frames, the longest shot.")
            duration = MAX_SHOT_FRAMES
        engine_take = find_take(path) if path is not None and path.exists() else None
        take_data = data.get("take") if isinstance(data.get("take"), dict) else {}
        if engine_take is None:
            if path is not None and path.exists():
                self.problems.append(f"{label}: its media is not a Shotline take, so it came in as a clip.")
                return self.imported(clip, path, start, duration, label)
            if take_data:
                self.problems.append(f"{label}: its take {path} is missing: the shot needs rendering again.")
            return PlannedShot(shot_id, start, duration, fields)
        source = clip.source_range or clip.trimmed_range()
        recipe = take_data.get("recipe") if isinstance(take_data.get("recipe"), dict) else engine_take.recipe
        try:
            take = Take(
                id=str(take_data.get("id") or new_id("take")),
                cache_key=engine_take.key,
                media_path=f"{engine_take.key}/{FRAMES_NAME}",
                frames=int(engine_take.recipe.get("frames") or take_data.get("frames") or duration),
                recipe=recipe,
                created=str(take_data.get("created") or ""),
                latents_available=engine_take.latents_path.exists(),
                in_point=round(source.start_time.value),
            )
        except (ValueError, TypeError) as error:
            self.problems.append(f"{label}: its take could not be read ({error}); the shot needs rendering.")
            return PlannedShot(shot_id, start, duration, fields)
        if engine_take.folder.parent.resolve() != media_folder(self.project_path).resolve():
            self.links[engine_take.key] = engine_take.folder.parent
        return PlannedShot(shot_id, start, duration, fields, take)

    def shot_fields(self, data: dict, label: str) -> dict[str, Any]:
        fields = {k: data[k] for k in SHOT_FIELDS if k in data and data[k] is not None}
        try:
            Shot(id="probe", start=0, duration=1, **fields)
        except (ValueError, TypeError) as error:
            self.problems.append(
                f"{label}: some of its settings were not valid ({error}); the prompt was kept."
            )
            fields = {"prompt": str(data.get("prompt", ""))}
        return fields


def read_otio(path: str | os.PathLike[str], project: Project, project_path: Path | None) -> OtioImport:
    """What importing the `.otio` file at `path` into `project` would lay out. Reads the file and probes the
    media it points at (slow: a worker's job); writes nothing. Raises `MediaError` for an unreadable file."""
    source = Path(path)
    timeline = _load(source)
    planner = _Planner(source, project, project_path)
    tracks = planner.plan(timeline)
    links = tuple((folder, key) for key, folder in planner.links.items())
    return OtioImport(source, tracks, tuple(planner.problems), links)


def link_imported_takes(plan: OtioImport, project_path: Path | None) -> None:
    """Give the project's media folder the takes the imported shots use (hard links, else copies)."""
    target = media_folder(project_path)
    for folder, key in plan.takes_to_link:
        if key not in link_takes(folder, target, [key]):
            raise MediaError(
                f"Could not bring the take {key} into the project's media folder: check it is writable.",
                detail=f"{folder / key} → {target / key}",
            )


def apply_import(project: Project, plan: OtioImport) -> Project:
    """Edit: lay out the planned tracks. Each fills the next empty track, or a new track on top.

    ```
    V1 (empty)            V1 | S1 |  gap  | S2 |        OTIO track 1
    V2 | A |        ->    V2 | A |
                          V3   | clip |                 OTIO track 2 (V2 was not empty)
    ```
    """
    empty = [track.id for track in project.tracks if not track.items]
    used = {item.id for _, item in project.items()}
    for planned in plan.tracks:
        if not planned.items:
            continue
        if empty:
            track_id = empty.pop(0)
        else:
            track_id = new_id("track")
            project = edits.add_track(project, planned.name or None, track_id=track_id)
        if planned.hidden:
            project = edits.set_track(project, track_id, hidden=True)
        for item in planned.items:
            if isinstance(item, PlannedClip):
                project = edits.add_clip(
                    project,
                    track_id,
                    item.start,
                    item.media_path,
                    media_frames=item.media_frames,
                    duration=item.duration,
                    in_point=item.in_point,
                )
                continue
            shot_id = item.shot_id if item.shot_id and item.shot_id not in used else new_id("shot")
            used.add(shot_id)
            fields = dict(item.fields)
            prompt = fields.pop("prompt", "")
            project = edits.add_shot(
                project, track_id, item.start, item.duration, prompt, shot_id=shot_id, **fields
            )
            if item.take is not None:
                project = edits.add_take(project, shot_id, item.take)
    return project
