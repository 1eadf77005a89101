"""The project's own settings and the render queue."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Any

from app.document.edits._base import (
    _UNSET,
    _edit,
    _locate_shot,
    describe,
)
from app.document.errors import EditError
from app.document.schema import (
    Project,
    RenderJob,
    Settings,
    new_id,
)
from app.document.time import parse_rate


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
