"""What a shot asks of the model, without Qt: its size, length, neighbours' frames, the request, the take.

```
plan_render(project, path, shot_id, seed)  → RenderPlan (a snapshot: the shot, its neighbours' takes)
build_request(plan, backend)               → GenerationRequest (decodes neighbour media: a worker's job)
take_from(engine_take, shot, made_from)    → the document's Take for a finished render
```

The app's render service and the headless `render` command (which renders shots without a take
before an export) plan every shot through these functions, so the same shot gives the same request,
the same cache key and the same frames wherever it is rendered.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from app.document import edits
from app.document.schema import ImportedClip, Project, Shot, Take, new_id
from app.media_paths import resolve_clip, resolve_take
from engine.backends.base import Backend, ModelCapabilities
from engine.cache import Take as EngineTake
from engine.cache import find_take
from engine.errors import InvalidRequestError, ShotlineError
from engine.framing import fit_cover
from engine.media import read_image, read_video
from engine.requests import GenerationRequest, KnownFrames

ASPECT_RATIOS = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0, "2.39:1": 2.39}


# --- what a shot asks of the model (pure functions) --------------------------------------------------------
def render_size(project: Project, aspect: str, caps: ModelCapabilities) -> tuple[int, int] | None:
    """Width × height for a shot: the project's long side (within the model's limits) at the shot's aspect,
    on the model's size grid; None when the model cannot make that aspect at this size."""
    ratio = ASPECT_RATIOS[aspect]
    long_side = min(max(project.width, project.height), caps.max_size)
    width, height = (long_side, long_side / ratio) if ratio >= 1 else (long_side * ratio, long_side)
    f = caps.size_factor
    width, height = (max(f, round(v / f) * f) for v in (width, height))
    if min(width, height) < caps.min_size or max(width, height) > caps.max_size:
        return None
    return int(width), int(height)


def allowed_aspects(project: Project, caps: ModelCapabilities) -> tuple[str, ...]:
    """The aspect presets the model can render for this project."""
    return tuple(aspect for aspect in ASPECT_RATIOS if render_size(project, aspect, caps) is not None)


def render_frames(duration: int, caps: ModelCapabilities) -> int:
    """Frames to render for a shot of `duration` frames: the smallest count the model can make that covers
    it (within the model's limits)."""
    options = caps.temporal.nearest_valid(duration)
    frames = max(options) if max(options) >= duration else duration
    return max(caps.min_frames, min(caps.max_frames, frames))


def frames_note(duration: int, frames: int, model: str) -> str:
    """What to tell the filmmaker when the render length differs from the shot's."""
    if frames == duration:
        return ""
    if frames > duration:
        return (
            f"The {model} model renders {frames} frames for this {duration}-frame shot (it makes clips in "
            f"steps of a few frames); the shot shows {duration} of them."
        )
    return (
        f"The {model} model makes at most {frames} frames; this shot is {duration} frames long, so its "
        f"last {duration - frames} frames will show as needing a render."
    )


def draw_seed() -> int:
    return secrets.randbelow(2**31)


@dataclass(frozen=True)
class Context:
    """A neighbour whose picture the new shot continues: its frames go `before` or `after` the shot."""

    side: str  # "before" | "after"
    neighbour_id: str
    take_id: str | None  # None for an imported clip
    media: Path
    in_point: int
    duration: int
    name: str


@dataclass(frozen=True)
class RenderPlan:
    """Everything needed to build a request, captured on the main thread (immutable)."""

    shot: Shot
    project: Project
    project_path: Path | None
    seed: int
    contexts: tuple[Context, ...] = ()

    @property
    def made_from(self) -> tuple[tuple[str, str], ...]:
        return tuple((c.neighbour_id, c.take_id) for c in self.contexts if c.take_id is not None)


def _visible_frames(context: Context, backend: Backend) -> KnownFrames:
    """The neighbour's frames next to the new shot (and its stored latents when they line up)."""
    caps = backend.capabilities
    layout, f = caps.temporal, caps.temporal.factor
    latents, latent_space = None, ""
    take = find_take(context.media) if context.take_id is not None else None
    if take is not None:
        video = take.load_video()
        stored = take.load_latents()
        if stored is not None:
            latents, latent_space = stored
    else:
        video = read_video(context.media)
    frames = video.frames
    start = max(0, context.in_point)
    end = min(len(frames), context.in_point + context.duration)
    if end - start < f:
        raise InvalidRequestError(
            f"{context.name} shows only {max(0, end - start)} rendered frames: extend and bridge need at "
            f"least {f}. Render it first.",
        )
    count = min(caps.context_frames, ((end - start) // f) * f)
    first = end - count if context.side == "before" else start
    chunk = frames[first : first + count]
    known_latents = None
    aligned = not layout.first_frame_alone or first == 0
    if (
        latents is not None
        and aligned
        and first % f == 0
        and count % f == 0
        and layout.pixel_count(latents.shape[1]) == len(frames)
    ):
        known_latents = latents[:, first // f : (first + count) // f]
    return KnownFrames(
        position=0,  # placed by `build_request`
        frames=np.ascontiguousarray(chunk),
        latents=known_latents,
        latent_space=latent_space,
        source=context.name,
    )


def joining_note(backend: Backend, joins_clips: bool) -> str:
    """A warning when a shot joins neighbouring clips with a model that was not trained to (latent
    replacement: lower quality), or "" when the model joins them natively or there is nothing to join."""
    caps = backend.capabilities
    if not joins_clips or caps.native_conditioning or caps.control_context:
        return ""
    return (
        f"The {getattr(backend, 'label', backend.name)} model was not trained to continue clips: this join "
        "uses latent replacement and may show a seam. A Wan VACE model (Shot → Models…) joins clips properly."
    )


def build_request(plan: RenderPlan, backend: Backend) -> tuple[GenerationRequest, list[str]]:
    """The engine request for a plan, and notes for the filmmaker (rounded length, unknown words).
    Decodes neighbour media: run it on a worker thread."""
    shot, project, caps = plan.shot, plan.project, backend.capabilities
    size = render_size(project, shot.aspect, caps)
    if size is None:
        raise InvalidRequestError(
            f"The {backend.name} model cannot make a {shot.aspect} picture at this project's size "
            f"({project.width}×{project.height}): choose another aspect."
        )
    width, height = size
    frames = render_frames(shot.duration, caps)
    notes = [note for note in [frames_note(shot.duration, frames, backend.name)] if note]
    unknown = backend.unknown_words(shot.prompt)
    if unknown:
        notes.append(f"The {backend.name} model does not know: {', '.join(unknown)}")
    known: list[KnownFrames] = []
    if shot.start_image:
        image = read_image(resolve_clip(plan.project_path, shot.start_image))[None]
        known.append(
            KnownFrames(
                position=0, frames=fit_cover(image, width, height), source=Path(shot.start_image).name
            )
        )
    notes += [note for note in [joining_note(backend, bool(plan.contexts))] if note]
    for context in plan.contexts:
        piece = _visible_frames(context, backend)
        if piece.size != (width, height):
            piece = dataclasses.replace(
                piece, frames=fit_cover(piece.frames, width, height), latents=None, latent_space=""
            )
        position = -piece.count if context.side == "before" else frames
        known.append(dataclasses.replace(piece, position=position))
    request = GenerationRequest(
        prompt=shot.prompt,
        negative_prompt=shot.negative_prompt,
        width=width,
        height=height,
        frames=frames,
        fps=float(project.fps),
        seed=plan.seed,
        steps=shot.steps,
        guidance=shot.guidance,
        model=shot.model,
        known=tuple(known),
    )
    return request, notes


def take_from(engine_take: EngineTake, shot: Shot, made_from: tuple[tuple[str, str], ...]) -> Take:
    """The document's record of a finished render."""
    frames = int(engine_take.recipe.get("frames", shot.duration))
    backward = shot.source.kind == "extend_backward"
    return Take(
        id=new_id("take"),
        cache_key=engine_take.key,
        media_path=f"{engine_take.key}/{engine_take.frames_path.name}",
        frames=frames,
        recipe=engine_take.recipe,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        latents_available=engine_take.latents_path.exists(),
        in_point=max(0, frames - shot.duration) if backward else 0,  # backward: its end meets the neighbour
        made_from=made_from,
    )


# --- neighbours: what an extension or a bridge continues ----------------------------------------------
_SIDES = {"extend_forward": ("before",), "extend_backward": ("after",), "bridge": ("before", "after")}


def neighbours_without_take(project: Project, shot: Shot) -> tuple[Shot, ...]:
    """The neighbour shots an extension or bridge continues that have no take yet (render them first)."""
    waiting = []
    for neighbour_id in shot.source.neighbours:
        found = project.find(neighbour_id)
        if found is not None and isinstance(found[1], Shot) and found[1].current is None:
            waiting.append(found[1])
    return tuple(waiting)


def no_take_error(neighbour: Shot, shot: Shot) -> ShotlineError:
    """What to say when `shot` continues a neighbour that has no take and nothing is rendering it."""
    action = "fill the gap" if shot.source.kind == "bridge" else "extend it"
    return ShotlineError(
        f"{edits.describe(neighbour).capitalize()} has no take yet: generate it first, then {action}."
    )


def neighbour_contexts(project: Project, project_path: Path | None, shot: Shot) -> tuple[Context, ...]:
    """The neighbours' pictures the shot continues (a removed neighbour is skipped: the prompt alone
    renders it). Raises `ShotlineError` when a neighbour shot has no take."""
    contexts: list[Context] = []
    sides = _SIDES.get(shot.source.kind, ())
    for side, neighbour_id in zip(sides, shot.source.neighbours, strict=True):
        found = project.find(neighbour_id)
        if found is None:
            continue
        neighbour = found[1]
        if isinstance(neighbour, ImportedClip):
            media = resolve_clip(project_path, neighbour.media_path)
            contexts.append(
                Context(side, neighbour.id, None, media, neighbour.in_point, neighbour.duration, media.name)
            )
            continue
        take = neighbour.current
        if take is None:
            raise no_take_error(neighbour, shot)
        media = resolve_take(project_path, take.media_path)
        name = edits.describe(neighbour)
        contexts.append(Context(side, neighbour.id, take.id, media, take.in_point, neighbour.duration, name))
    return tuple(contexts)


def shot_seed(shot: Shot, chosen: int | None = None) -> int:
    """The seed a render uses: `chosen`, else the shot's locked seed, else a new one."""
    if chosen is not None:
        return chosen
    if shot.seed_locked and shot.seed is not None:
        return shot.seed
    return draw_seed()


def plan_render(
    project: Project, project_path: Path | None, shot_id: str, seed: int | None = None
) -> RenderPlan:
    """A snapshot of everything rendering `shot_id` needs (see `neighbour_contexts` for its errors)."""
    shot = project.shot(shot_id)
    contexts = neighbour_contexts(project, project_path, shot)
    return RenderPlan(shot, project, project_path, shot_seed(shot, seed), contexts)
