"""The render service: turns "generate this shot", "extend it", "fill this gap" into engine jobs and takes.

```
generate(shot)      queue entry (saved with the project) → plan (main thread: a snapshot of the shot)
                    → request built on a worker (neighbour frames decoded, stored latents loaded)
                    → bridge.submit → progress / preview → finished: "Render take" (one undo step)
extend(shot, dir)   "Extend shot" (undo step: the new shot beside it) → generate(new shot)
fill_gap(track, …)  "Fill gap" (undo step: a bridge sized to the gap) → generate(bridge)
```

The render queue lives in the project (`Project.render_queue`) so it is saved and survives a restart,
but it is live state, not an edit: the service changes it without undo steps and owns it. When an undo,
a redo or anything else puts an older queue into the document, the service writes its own queue back
(dropping the jobs of shots that no longer exist, and cancelling them).

A shot made from a neighbour (an extension, a bridge) waits in the queue until the neighbour has a take.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QUndoStack

from app.bridge import EngineBridge, error_from
from app.commands import push_edit
from app.document import edits
from app.document.errors import EditError
from app.document.events import Change, Document
from app.document.schema import Project, Shot, new_id
from app.render_plan import (  # re-exported: the views and tests import them from here
    ASPECT_RATIOS,
    RenderPlan,
    allowed_aspects,
    build_request,
    draw_seed,
    frames_note,
    neighbour_contexts,
    neighbours_without_take,
    no_take_error,
    render_frames,
    render_size,
    shot_seed,
    take_from,
)
from engine.errors import ShotlineError
from engine.requests import GenerationRequest

__all__ = [
    "ASPECT_RATIOS",
    "Entry",
    "RenderPlan",
    "RenderService",
    "allowed_aspects",
    "build_request",
    "draw_seed",
    "frames_note",
    "render_frames",
    "render_size",
    "take_from",
    "try_intent",
]


# --- the service ---------------------------------------------------------------------------------------
@dataclass
class Entry:
    """A live render-queue entry: the document's `RenderJob` id and the engine job behind it."""

    id: str
    shot_id: str
    seed: int | None = None  # None: the shot's own rule (locked seed, or a new one)
    state: str = "waiting"  # waiting (for a neighbour) | preparing | queued | running | failed
    job: int | None = None
    plan: RenderPlan | None = None
    step: int = 0
    total: int = 0
    eta: float = -1.0
    notes: list[str] = field(default_factory=list)
    error: ShotlineError | None = None


class RenderService(QObject):
    """Renders shots of one document through the engine bridge; see the module docstring.

    Signals: `notice(str)` (a sentence for the status bar), `failed(shot_id, ShotlineError)`,
    `takeAdded(shot_id, take_id)`, `renderingChanged(shot_id, on)`, `preview(shot_id, frames)`,
    `progress(entry_id)` and `entriesChanged()` for the render-queue panel.
    """

    notice = Signal(str)
    failed = Signal(str, object)
    takeAdded = Signal(str, str)
    renderingChanged = Signal(str, bool)
    preview = Signal(str, object)
    progress = Signal(str)
    entriesChanged = Signal()
    _prepared = Signal(str, object, object)  # entry id, (request, notes) or None, error or None

    def __init__(
        self, document: Document, undo_stack: QUndoStack, bridge: EngineBridge, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.undo_stack = undo_stack
        self.bridge = bridge
        self._entries: dict[str, Entry] = {}
        self._by_job: dict[int, str] = {}
        self._queue = document.project.render_queue
        self._workers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shotline-prepare")
        self._closed = False
        self._prepared.connect(self._on_prepared, Qt.ConnectionType.QueuedConnection)
        bridge.jobStarted.connect(self._on_started)
        bridge.jobProgress.connect(self._on_progress)
        bridge.jobPreview.connect(self._on_preview)
        bridge.jobFinished.connect(self._on_finished)
        bridge.jobFailed.connect(self._on_failed)
        bridge.jobCancelled.connect(self._on_cancelled)
        document.changed.connect(self._on_document_changed)

    # --- intents --------------------------------------------------------------------------------------
    def generate(self, shot_id: str, *, seed: int | None = None) -> str:
        """Queue a render of a shot; returns the queue entry's id. Raises `EditError` when it cannot be."""
        shot = self.document.project.shot(shot_id)
        for old in [e for e in self._entries.values() if e.shot_id == shot.id and e.state == "failed"]:
            self._forget(old)  # a new render replaces a failed one
        entry_id = new_id("job")
        self._apply_queue(edits.queue_render, shot.id, job_id=entry_id)
        self._entries[entry_id] = Entry(entry_id, shot.id, seed=seed)
        self.entriesChanged.emit()
        self._advance()
        return entry_id

    def extend(self, shot_id: str, direction: str, duration: int | None = None) -> str:
        """Place a shot that continues `shot_id` forward or leads into it backward, and render it."""
        new_shot = new_id("shot")
        label = "Extend shot forward" if direction == "forward" else "Extend shot backward"
        push_edit(
            self.undo_stack,
            self.document,
            label,
            edits.add_extension,
            shot_id,
            direction,
            duration,
            shot_id=new_shot,
        )
        self.generate(new_shot)
        return new_shot

    def fill_gap(self, track_id: str, start: int, end: int) -> str:
        """Fill the gap [start, end) with a bridge between its neighbours, and render it."""
        project = self.document.project
        track = project.track(track_id)
        left = next((item for item in track.items if item.end == start), None)
        prompt = left.prompt if isinstance(left, Shot) else ""
        bridge_id = new_id("shot")
        push_edit(self.undo_stack, self.document, "Fill gap", edits.add_bridge, track_id, start, prompt,
                  shot_id=bridge_id)  # fmt: skip
        self.generate(bridge_id)
        return bridge_id

    def generate_all(self) -> list[str]:
        """Render every shot that has no take yet (and is not already waiting)."""
        busy = {entry.shot_id for entry in self._entries.values() if entry.state != "failed"}
        started = []
        for shot in list(self.document.project.shots()):
            if not shot.takes and shot.id not in busy:
                started.append(self.generate(shot.id))
        if not started:
            self.notice.emit("Every shot already has a take.")
        return started

    def regenerate(self, shot_id: str, new_seed: bool) -> str:
        """Render a shot again: with the seed of its current take, or a new one (re-render a stale shot)."""
        shot = self.document.project.shot(shot_id)
        seed = draw_seed() if new_seed else self._current_seed(shot)
        return self.generate(shot_id, seed=seed)

    def cancel(self, entry_id: str) -> None:
        """Stop a render, or take a failed one off the queue."""
        entry = self._entries.get(entry_id)
        if entry is None:
            if any(job.id == entry_id for job in self._queue):
                self._apply_queue(edits.remove_render, entry_id)
            return
        if entry.job is not None and entry.state in ("queued", "running"):
            self.bridge.cancel(entry.job)  # jobCancelled removes the entry
            return
        self._drop(entry)

    def retry(self, entry_id: str) -> None:
        """Queue a failed render again."""
        entry = self._entries.get(entry_id)
        if entry is None or entry.state != "failed":
            return
        entry.state, entry.error, entry.job, entry.step = "waiting", None, None, 0
        self._apply_queue(edits.set_render_status, entry_id, "queued")
        self.entriesChanged.emit()
        self._advance()

    def move(self, entry_id: str, position: int) -> None:
        """Re-order the queue; waiting engine jobs follow the new order."""
        self._apply_queue(edits.reorder_render, entry_id, position)
        waiting = set(self.bridge.pending())
        order = [self._entries[job.id].job for job in self._queue if job.id in self._entries]
        for index, job in enumerate(j for j in order if j in waiting):
            self.bridge.move(job, index)
        self.entriesChanged.emit()

    def resume(self) -> int:
        """Submit again the jobs a saved project had queued (after Open); returns how many."""
        count = 0
        for job in self.document.project.render_queue:
            if job.id in self._entries:
                continue
            entry = Entry(job.id, job.shot_id)
            if job.status in ("queued", "running"):
                self._entries[job.id] = entry
                if job.status == "running":
                    self._apply_queue(edits.set_render_status, job.id, "queued")
                count += 1
            elif job.status == "failed":
                entry.state, entry.error = "failed", ShotlineError(job.message or "The render failed.")
                self._entries[job.id] = entry
        self.entriesChanged.emit()
        self._advance()
        return count

    def entries(self) -> list[Entry]:
        """The live entries, in queue order."""
        return [self._entries[job.id] for job in self._queue if job.id in self._entries]

    def entry_for(self, shot_id: str) -> Entry | None:
        return next((e for e in self._entries.values() if e.shot_id == shot_id and e.state != "failed"), None)

    def is_busy(self) -> bool:
        return any(entry.state != "failed" for entry in self._entries.values())

    def close(self) -> None:
        """Cancel this document's renders and stop listening (the document is being closed)."""
        if self._closed:
            return
        self._closed = True
        for entry in list(self._entries.values()):
            if entry.job is not None:
                self.bridge.cancel(entry.job)
        for signal, slot in (
            (self.bridge.jobStarted, self._on_started),
            (self.bridge.jobProgress, self._on_progress),
            (self.bridge.jobPreview, self._on_preview),
            (self.bridge.jobFinished, self._on_finished),
            (self.bridge.jobFailed, self._on_failed),
            (self.bridge.jobCancelled, self._on_cancelled),
        ):
            signal.disconnect(slot)
        self.document.changed.disconnect(self._on_document_changed)
        self._workers.shutdown(wait=True, cancel_futures=True)

    # --- planning -------------------------------------------------------------------------------------
    def _current_seed(self, shot: Shot) -> int:
        current = shot.current
        if current is not None:
            seed = current.recipe.get("request", {}).get("seed")
            if isinstance(seed, int):
                return seed
        return shot.seed if shot.seed is not None else draw_seed()

    def _advance(self) -> None:
        """Plan every waiting entry whose neighbours are ready."""
        for entry in self.entries():
            if entry.state != "waiting":
                continue
            try:
                plan = self._plan(entry)
            except ShotlineError as error:
                self._fail(entry, error)
                continue
            if plan is None:
                continue  # a neighbour is still rendering
            entry.plan, entry.state = plan, "preparing"
            future = self._workers.submit(self._prepare, plan)
            future.add_done_callback(lambda done, entry_id=entry.id: self._prepare_done(entry_id, done))
        self.entriesChanged.emit()

    def _plan(self, entry: Entry) -> RenderPlan | None:
        """The entry's plan, or None while a neighbour it continues is still rendering."""
        project = self.document.project
        shot = project.shot(entry.shot_id)
        for neighbour in neighbours_without_take(project, shot):
            if self.entry_for(neighbour.id) is not None:
                return None
            raise no_take_error(neighbour, shot)
        contexts = neighbour_contexts(project, self.document.path, shot)
        return RenderPlan(shot, project, self.document.path, shot_seed(shot, entry.seed), contexts)

    def _prepare(self, plan: RenderPlan) -> tuple[GenerationRequest, list[str]]:
        """On the worker: load the model, decode neighbours, build the request."""
        backend = self.bridge.backend(plan.shot.model).result()
        return build_request(plan, backend)

    def _prepare_done(self, entry_id: str, future: Future) -> None:
        """On the worker thread: hand the result to the main thread."""
        if future.cancelled():
            return
        error = future.exception()
        result = None if error is not None else future.result()
        if not self._closed:
            self._prepared.emit(entry_id, result, error)

    @Slot(str, object, object)
    def _on_prepared(self, entry_id: str, result: Any, error: Any) -> None:
        entry = self._entries.get(entry_id)
        if entry is None or entry.state != "preparing" or self._closed:
            return
        if error is not None:
            self._fail(entry, error_from(error))
            return
        request, notes = result
        entry.notes = notes
        for note in notes:
            self.notice.emit(note)
        entry.job = self.bridge.submit(request)
        entry.state = "queued"
        entry.total = request.steps or 0
        self._by_job[entry.job] = entry.id
        self.entriesChanged.emit()

    # --- engine events ----------------------------------------------------------------------------------
    def _entry_of(self, job: int) -> Entry | None:
        entry_id = self._by_job.get(job)
        return None if entry_id is None else self._entries.get(entry_id)

    @Slot(int)
    def _on_started(self, job: int) -> None:
        entry = self._entry_of(job)
        if entry is None:
            return
        entry.state = "running"
        self._apply_queue(edits.set_render_status, entry.id, "running")
        self.renderingChanged.emit(entry.shot_id, True)
        self.entriesChanged.emit()

    @Slot(int, int, int, float)
    def _on_progress(self, job: int, step: int, total: int, eta: float) -> None:
        entry = self._entry_of(job)
        if entry is not None:
            entry.step, entry.total, entry.eta = step, total, eta
            self.progress.emit(entry.id)

    @Slot(int, object)
    def _on_preview(self, job: int, frames: object) -> None:
        entry = self._entry_of(job)
        if entry is not None:
            self.preview.emit(entry.shot_id, frames)

    @Slot(int, object)
    def _on_finished(self, job: int, engine_take: object) -> None:
        entry = self._entry_of(job)
        if entry is None or entry.plan is None:
            return
        self._forget(entry)
        self.renderingChanged.emit(entry.shot_id, False)
        project = self.document.project
        if project.find(entry.shot_id) is None:
            return  # the shot was removed while it rendered; the take stays in the cache
        shot = project.shot(entry.shot_id)
        take = take_from(engine_take, shot, entry.plan.made_from)  # type: ignore[arg-type]
        seed = engine_take.recipe.get("request", {}).get("seed", entry.plan.seed)  # type: ignore[attr-defined]

        def render_take(project: Project) -> Project:
            project = edits.add_take(project, entry.shot_id, take)
            return edits.set_shot(project, entry.shot_id, seed=seed)

        push_edit(self.undo_stack, self.document, "Render take", render_take)
        self.takeAdded.emit(entry.shot_id, take.id)
        self.entriesChanged.emit()
        self._advance()  # shots waiting for this one can start

    @Slot(int, object)
    def _on_failed(self, job: int, error: object) -> None:
        entry = self._entry_of(job)
        if entry is None:
            return
        self._by_job.pop(job, None)
        self.renderingChanged.emit(entry.shot_id, False)
        self._fail(entry, error_from(error))  # type: ignore[arg-type]

    @Slot(int)
    def _on_cancelled(self, job: int) -> None:
        entry = self._entry_of(job)
        if entry is None:
            return
        self.renderingChanged.emit(entry.shot_id, False)
        self._drop(entry)

    # --- the queue in the document ------------------------------------------------------------------------
    def _fail(self, entry: Entry, error: ShotlineError) -> None:
        entry.state, entry.error, entry.job = "failed", error, None
        if any(job.id == entry.id for job in self._queue):
            self._apply_queue(edits.set_render_status, entry.id, "failed", error.message)
        self.failed.emit(entry.shot_id, error)
        self.entriesChanged.emit()
        self._fail_dependants(entry.shot_id)

    def _fail_dependants(self, shot_id: str) -> None:
        project = self.document.project
        for other in list(self._entries.values()):
            if other.state != "waiting" or project.find(other.shot_id) is None:
                continue
            if shot_id in project.shot(other.shot_id).source.neighbours:
                self._fail(other, ShotlineError("The neighbour it continues could not be rendered."))

    def _forget(self, entry: Entry) -> None:
        self._entries.pop(entry.id, None)
        if entry.job is not None:
            self._by_job.pop(entry.job, None)
        if any(job.id == entry.id for job in self._queue):
            self._apply_queue(edits.remove_render, entry.id)

    def _drop(self, entry: Entry) -> None:
        self._forget(entry)
        self.entriesChanged.emit()
        self._fail_dependants(entry.shot_id)

    def _apply_queue(self, edit: Callable[..., Project], *args: Any, **kwargs: Any) -> None:
        """Change the render queue in the document (live state: no undo step)."""
        project = edit(self.document.project, *args, **kwargs)
        self._queue = project.render_queue
        self.document.set_project(project)

    def _on_document_changed(self, change: Change) -> None:
        if change.after.render_queue != self._queue:
            QTimer.singleShot(0, self, self._reconcile)

    @Slot()
    def _reconcile(self) -> None:
        """Put the service's queue back after an undo or redo changed it; drop jobs of removed shots."""
        if self._closed:
            return
        project = self.document.project
        shots = {shot.id for shot in project.shots()}
        for entry in list(self._entries.values()):
            if entry.shot_id not in shots:
                if entry.job is not None:
                    self.bridge.cancel(entry.job)
                self._entries.pop(entry.id, None)
                self.renderingChanged.emit(entry.shot_id, False)
        self._queue = tuple(job for job in self._queue if job.shot_id in shots)
        if project.render_queue != self._queue:
            self.document.set_project(dataclasses.replace(project, render_queue=self._queue))
        self.entriesChanged.emit()


def try_intent(action: Callable[[], Any], on_error: Callable[[ShotlineError], None]) -> Any:
    """Run a user intent; an `EditError` or other `ShotlineError` goes to `on_error` instead of raising."""
    try:
        return action()
    except (EditError, ShotlineError) as error:
        on_error(error)
    except KeyError as error:
        on_error(ShotlineError("That shot is no longer in the project.", repr(error)))
    return None
