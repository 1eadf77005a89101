"""Shots an export needs rendered first, and rendering them headlessly with the engine's job queue.

```
shots_to_render(project)            shots on visible tracks with no take, plus the neighbours they continue
render_missing_takes(project, …)    neighbours first: plan → request → queue → take; returns the project
                                    with the takes added (as the app's "Render take" edits do)
```

The caller saves the project only once every shot rendered, so a failure or a cancel leaves the
project file as it was (finished takes stay in the media cache, keyed by their request, and are reused).
The app does the same through its `RenderService`, one render-queue entry per shot.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.document import edits
from app.document.schema import Project, Shot
from app.render_plan import build_request, neighbours_without_take, plan_render, take_from
from engine.errors import GenerationCancelled, ShotlineError
from engine.jobs import JobQueue

__all__ = ["render_missing_takes", "shots_to_render"]


def shots_to_render(project: Project) -> list[Shot]:
    """Shots with no take that the export shows (visible tracks), and the neighbours they continue, in
    timeline order."""
    wanted: dict[str, Shot] = {}
    pending = [item for track in project.tracks if not track.hidden for item in track.items]
    pending = [item for item in pending if isinstance(item, Shot) and item.current is None]
    while pending:
        shot = pending.pop()
        if shot.id not in wanted:
            wanted[shot.id] = shot
            pending.extend(neighbours_without_take(project, shot))
    return sorted(wanted.values(), key=lambda shot: (shot.start, shot.id))


def render_missing_takes(
    project: Project,
    project_path: Path | None,
    queue: JobQueue,
    *,
    on_shot: Callable[[int, int, Shot], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Project:
    """Render every shot of `shots_to_render` with `queue` (whose cache is the project's media folder) and
    return the project with the new takes. `on_shot(number, count, shot)` announces each render.

    Raises `GenerationCancelled` when `should_stop()` turns true, or a `ShotlineError` naming the shot that
    could not be rendered.
    """
    todo = [shot.id for shot in shots_to_render(project)]
    count = len(todo)

    def check_stop() -> None:
        if should_stop is not None and should_stop():
            raise GenerationCancelled()

    for number in range(1, count + 1):
        ready = [shot_id for shot_id in todo if not neighbours_without_take(project, project.shot(shot_id))]
        if not ready:  # cannot happen: neighbours without take are in `todo` too
            raise ShotlineError("Some shots continue neighbours that cannot be rendered.", repr(todo))
        shot = project.shot(ready[0])
        todo.remove(shot.id)
        if on_shot is not None:
            on_shot(number, count, shot)
        try:
            check_stop()  # before loading a model or decoding neighbours, and again after
            plan = plan_render(project, project_path, shot.id)
            request, _notes = build_request(plan, queue.backend(shot.model))
            check_stop()
            handle = queue.submit(request)
            while not handle.wait_finished(0.1):  # wake often: Ctrl-C lands between waits
                if should_stop is not None and should_stop():
                    handle.cancel()
            engine_take = handle.wait()
        except GenerationCancelled:
            raise
        except ShotlineError as error:
            name = edits.describe(shot)
            message = f"{name[:1].upper()}{name[1:]} could not be rendered: {error.message}"
            raise ShotlineError(message, error.detail) from error
        take = take_from(engine_take, shot, plan.made_from)
        seed = engine_take.recipe.get("request", {}).get("seed", plan.seed)
        project = edits.add_take(project, shot.id, take)
        project = edits.set_shot(project, shot.id, seed=seed)
    return project
