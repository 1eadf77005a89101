"""The engine bridge: the engine's job queue seen from Qt, every job event a signal on the main thread.

```
bridge = EngineBridge(media_folder)           # one JobQueue, one worker thread for the device
bridge.jobProgress.connect(panel.on_progress)  # (job, step, total, eta s)
job = bridge.submit(request)                   # returns at once; the worker renders
take = await bridge.render(request)            # the same, awaited (qasync flows)
```

The engine calls its listeners on its worker thread. The bridge's listener only emits a signal of a
small relay object that lives on the main thread; the queued connection delivers the event there, so
every public signal fires on the Qt main thread and slots may touch widgets and the document.

Media folder: the queue stays alive for the whole session (its loaded models too) and writes takes into
`media_folder`. When the project moves (Save As, first save, Open), `set_media_folder` points the cache at
the project's new `NAME.media/` folder; `link_takes` gives the new folder the takes the project uses
(hard links, or copies where links are impossible), and a job that was already running when the folder
changed has its take linked into the new folder before `jobFinished` is emitted. Both folders stay
readable; the new one is complete on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.media_paths import link_takes  # re-exported: the window links takes on Save As
from engine.backends.base import Backend
from engine.cache import MediaCache, Take, find_take
from engine.device import DeviceChoice
from engine.errors import GenerationCancelled, OutOfMemoryError, ShotlineError
from engine.jobs import (
    JobCancelled,
    JobEvent,
    JobFailed,
    JobFinished,
    JobHandle,
    JobPreview,
    JobProgress,
    JobQueue,
    JobStarted,
    is_out_of_memory,
)
from engine.requests import GenerationRequest

__all__ = ["EngineBridge", "error_from", "link_takes"]


class _Relay(QObject):
    """Lives on the main thread; `event` is emitted from the worker and delivered through the Qt queue."""

    event = Signal(object)


class EngineBridge(QObject):
    """The engine's `JobQueue` behind Qt signals, all emitted on the main thread.

    Signals: `jobQueued(job, prompt)`, `jobStarted(job)`, `jobProgress(job, step, total, eta)` (eta −1 =
    unknown), `jobPreview(job, frames uint8 [T, h, w, 3])`, `jobFinished(job, engine Take)`,
    `jobFailed(job, ShotlineError)`, `jobCancelled(job)`.
    """

    jobQueued = Signal(int, str)
    jobStarted = Signal(int)
    jobProgress = Signal(int, int, int, float)
    jobPreview = Signal(int, object)
    jobFinished = Signal(int, object)
    jobFailed = Signal(int, object)
    jobCancelled = Signal(int)

    def __init__(
        self,
        media_folder: str | os.PathLike[str],
        *,
        device: DeviceChoice | None = None,
        queue: JobQueue | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._folder = Path(media_folder)
        self._queue = queue or JobQueue(self._folder, device=device, low_priority=True)
        self._queue.cache = MediaCache(self._folder)
        self._handles: dict[int, JobHandle] = {}
        self._announced_cancel: set[int] = set()
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shotline-loader")
        self._backends: dict[str, Future[Backend]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._relay = _Relay()
        self._relay.event.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._queue.add_listener(self._on_worker_event)

    # --- public ---------------------------------------------------------------------------------------
    @property
    def media_folder(self) -> Path:
        return self._folder

    @property
    def queue(self) -> JobQueue:
        return self._queue

    def set_media_folder(self, folder: str | os.PathLike[str]) -> None:
        """Write new takes into `folder` (the project's media folder after Save As or Open)."""
        with self._lock:
            self._folder = Path(folder)
            self._queue.cache = MediaCache(self._folder)

    def submit(self, request: GenerationRequest) -> int:
        """Queue a request; returns the job id at once (a missing seed is picked now)."""
        handle = self._queue.submit(request)
        self._handles[handle.id] = handle
        self.jobQueued.emit(handle.id, handle.request.prompt)
        return handle.id

    def request(self, job_id: int) -> GenerationRequest | None:
        """The request of a job, with the seed the queue picked (resolved once the job started)."""
        handle = self._handles.get(job_id)
        return None if handle is None else handle.request

    def cancel(self, job_id: int) -> None:
        """Stop a job: a waiting job is cancelled at once, a running one before its next step."""
        handle = self._handles.get(job_id)
        if handle is None or handle.done:
            return
        waiting = any(pending.id == job_id for pending in self._queue.pending())
        handle.cancel()
        if waiting and job_id not in self._announced_cancel:
            self._announced_cancel.add(job_id)  # the worker's own event, later, is not repeated
            self.jobCancelled.emit(job_id)

    def move(self, job_id: int, index: int) -> None:
        """Move a waiting job to `index` among the waiting jobs (no effect once it runs)."""
        with contextlib.suppress(StopIteration):
            self._queue.move(job_id, index)

    def pending(self) -> list[int]:
        """Ids of the waiting jobs, in the order they will run."""
        return [handle.id for handle in self._queue.pending()]

    def backend(self, model: str) -> Future[Backend]:
        """The loaded model, loaded on a worker thread (loading can take seconds); a `Future`."""
        with self._lock:
            future = self._backends.get(model)
            if future is None or (future.done() and future.exception() is not None):
                future = self._loader.submit(self._queue.backend, model)
                self._backends[model] = future
            return future

    async def render(self, request: GenerationRequest) -> Take:
        """Render `request` and return its take (for qasync flows). Raises the job's `ShotlineError`,
        or `GenerationCancelled` when the job is cancelled."""
        loop = asyncio.get_running_loop()
        result: asyncio.Future[Take] = loop.create_future()
        job_id = -1

        def finished(job: int, take: object) -> None:
            if job == job_id and not result.done():
                result.set_result(take)  # type: ignore[arg-type]

        def failed(job: int, error: object) -> None:
            if job == job_id and not result.done():
                result.set_exception(error)  # type: ignore[arg-type]

        def cancelled(job: int) -> None:
            if job == job_id and not result.done():
                result.set_exception(GenerationCancelled())

        self.jobFinished.connect(finished)
        self.jobFailed.connect(failed)
        self.jobCancelled.connect(cancelled)
        try:
            job_id = self.submit(request)
            try:
                return await result
            except asyncio.CancelledError:
                self.cancel(job_id)
                raise
        finally:
            self.jobFinished.disconnect(finished)
            self.jobFailed.disconnect(failed)
            self.jobCancelled.disconnect(cancelled)

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        """Block until no job waits or runs (tests and shutdown only; the UI never calls it)."""
        return self._queue.wait_until_idle(timeout)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Cancel every job, stop the worker and the loader; no signal is emitted afterwards."""
        if self._closed:
            return
        self._closed = True
        self._queue.close(timeout)
        self._loader.shutdown(wait=True, cancel_futures=True)
        with contextlib.suppress(RuntimeError, TypeError):
            self._relay.event.disconnect(self._deliver)

    # --- events ---------------------------------------------------------------------------------------
    def _on_worker_event(self, event: JobEvent) -> None:
        """On the worker thread: finish file work here, then hand the event to the main thread."""
        if isinstance(event, JobFinished):
            with self._lock:
                folder = self._folder
            if event.take.folder.parent != folder:  # the project moved while the job ran
                linked = link_takes(event.take.folder.parent, folder, [event.take.key])
                if linked:
                    take = find_take(folder / event.take.key)
                    if take is not None:
                        event = JobFinished(event.job_id, take, event.from_cache)
        if not self._closed:
            self._relay.event.emit(event)

    @Slot(object)
    def _deliver(self, event: JobEvent) -> None:
        job = event.job_id
        if isinstance(event, JobStarted):
            self.jobStarted.emit(job)
        elif isinstance(event, JobProgress):
            eta = -1.0 if event.eta_seconds is None else float(event.eta_seconds)
            self.jobProgress.emit(job, event.step, event.total, eta)
        elif isinstance(event, JobPreview):
            self.jobPreview.emit(job, event.frames)
        elif isinstance(event, JobFinished):
            self._handles.pop(job, None)
            self.jobFinished.emit(job, event.take)
        elif isinstance(event, JobFailed):
            self._handles.pop(job, None)
            self.jobFailed.emit(job, event.error)
        elif isinstance(event, JobCancelled):
            self._handles.pop(job, None)
            if job in self._announced_cancel:
                self._announced_cancel.discard(job)
            else:
                self.jobCancelled.emit(job)


def error_from(error: BaseException) -> ShotlineError:
    """Any exception as a `ShotlineError` a filmmaker can read."""
    if isinstance(error, ShotlineError):
        return error
    if is_out_of_memory(error):  # e.g. while loading a model too big for this machine
        return OutOfMemoryError(
            "There is not enough memory to load this model. For a Wan model, turn on offload in Models…; "
            "or close other programs. Your project is safe.",
            repr(error),
        )
    return ShotlineError("Something went wrong inside Shotline. Your project is safe.", repr(error))
