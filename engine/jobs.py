"""The job queue: one worker thread per device turns requests into takes, streaming progress and previews.

    submit(request) → JobHandle ──► worker: load model → cache hit? → run_generation → media cache
                                     │ events: JobStarted, JobProgress, JobPreview, then one of
                                     ▼         JobFinished / JobFailed / JobCancelled
    listeners (called on the worker thread; a UI marshals them to its own thread)

Cancel is honoured between sampling steps; a cancelled or failed job leaves nothing in the cache.
"""

from __future__ import annotations

import contextlib
import enum
import gc
import itertools
import os
import random
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.backends.base import Backend
from engine.backends.registry import load_backend as default_load_backend
from engine.cache import MediaCache, Take
from engine.device import DeviceChoice, pick_device
from engine.errors import GenerationCancelled, OutOfMemoryError, ShotlineError
from engine.generate import run_generation
from engine.requests import GenerationRequest, resolve


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA's OutOfMemoryError, Python's MemoryError, or torch's CPU allocator giving up (a RuntimeError)."""
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class JobEvent:
    job_id: int


@dataclass(frozen=True)
class JobStarted(JobEvent):
    pass


@dataclass(frozen=True)
class JobProgress(JobEvent):
    step: int
    total: int
    eta_seconds: float | None


@dataclass(frozen=True)
class JobPreview(JobEvent):
    frames: np.ndarray  # uint8 [T, h, w, 3], one image per latent frame of the shot


@dataclass(frozen=True)
class JobFinished(JobEvent):
    take: Take
    from_cache: bool


@dataclass(frozen=True)
class JobFailed(JobEvent):
    error: ShotlineError


@dataclass(frozen=True)
class JobCancelled(JobEvent):
    pass


Listener = Callable[[JobEvent], None]


class JobHandle:
    """What the caller holds for one submitted job."""

    def __init__(self, job_id: int, request: GenerationRequest) -> None:
        self.id = job_id
        self.request = request
        self.state = JobState.QUEUED
        self.step = 0
        self.total = request.steps or 0
        self.eta_seconds: float | None = None
        self.take: Take | None = None
        self.error: ShotlineError | None = None
        self._cancel = threading.Event()
        self._done = threading.Event()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the job to stop: a queued job never starts, a running one stops before its next step."""
        self._cancel.set()

    def wait_finished(self, timeout: float | None = None) -> bool:
        """Block until the job ends or `timeout` passes; True when it ended."""
        return self._done.wait(timeout)

    def wait(self, timeout: float | None = None) -> Take:
        """The take, once done; raises the job's error, or `GenerationCancelled`."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"job {self.id} still running after {timeout} s")
        if self.state is JobState.CANCELLED:
            raise GenerationCancelled()
        if self.error is not None:
            raise self.error
        assert self.take is not None
        return self.take


class JobQueue:
    """A first-in first-out queue of generation jobs with one worker for one device."""

    def __init__(
        self,
        cache: MediaCache | Path,
        *,
        device: DeviceChoice | None = None,
        load_backend: Callable[[str, DeviceChoice], Backend] = default_load_backend,
        low_priority: bool = False,
    ) -> None:
        self.cache = cache if isinstance(cache, MediaCache) else MediaCache(Path(cache))
        self.device = device or pick_device()
        self._load_backend = load_backend
        self._backends: dict[str, Backend] = {}
        self._pending: list[JobHandle] = []
        self._running: JobHandle | None = None
        self._listeners: list[Listener] = []
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._closed = False
        self._low_priority = low_priority  # a GUI lowers the worker's CPU priority so the UI never starves
        self._worker = threading.Thread(
            target=self._work, name=f"shotline-worker-{self.device.device}", daemon=True
        )
        self._worker.start()

    # --- public -----------------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def backend(self, model: str) -> Backend:
        """The loaded backend for `model` (loaded now if needed; raises a `ShotlineError` if it cannot be)."""
        if model not in self._backends:
            self._backends[model] = self._load_backend(model, self.device)
        return self._backends[model]

    def forget_backends(self, keep: tuple[str, ...] = ("sketch",)) -> None:
        """Drop loaded models (but `keep`) so the next job loads them with their current settings;
        a job running now keeps its own reference and finishes as it began."""
        for model in list(self._backends):
            if model not in keep:
                self._backends.pop(model, None)

    def submit(self, request: GenerationRequest) -> JobHandle:
        """Queue a request; a missing seed is picked now so the recipe records it."""
        if request.seed is None:
            request = request.replace(seed=random.SystemRandom().randrange(2**31))
        with self._lock:
            if self._closed:
                raise RuntimeError("the job queue is closed")
            handle = JobHandle(next(self._ids), request)
            self._pending.append(handle)
            self._lock.notify_all()
        return handle

    def pending(self) -> list[JobHandle]:
        with self._lock:
            return list(self._pending)

    def move(self, job_id: int, index: int) -> None:
        """Re-order a queued job."""
        with self._lock:
            handle = next(h for h in self._pending if h.id == job_id)
            self._pending.remove(handle)
            self._pending.insert(max(0, min(index, len(self._pending))), handle)

    def wait_until_idle(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._pending or self._running is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._lock.wait(remaining)
        return True

    def close(self, timeout: float | None = 30.0) -> None:
        """Cancel everything and stop the worker."""
        with self._lock:
            self._closed = True
            for handle in self._pending:
                handle.cancel()
            if self._running is not None:
                self._running.cancel()
            self._lock.notify_all()
        self._worker.join(timeout)

    # --- worker -----------------------------------------------------------------------------------
    def _emit(self, event: JobEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not kill the worker
                traceback.print_exc()

    def _next(self) -> JobHandle | None:
        with self._lock:
            while not self._pending and not self._closed:
                self._lock.wait()
            if not self._pending:
                return None
            handle = self._pending.pop(0)
            self._running = handle
            return handle

    def _work(self) -> None:
        if self._low_priority and hasattr(os, "setpriority"):
            with contextlib.suppress(OSError):  # Linux: the nice value of this thread (and threads it starts)
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        while (handle := self._next()) is not None:
            try:
                self._run(handle)
            finally:
                with self._lock:
                    self._running = None
                    handle._done.set()
                    self._lock.notify_all()

    def _run(self, handle: JobHandle) -> None:
        if handle.cancel_requested:
            self._finish_cancelled(handle)
            return
        handle.state = JobState.RUNNING
        self._emit(JobStarted(handle.id))
        try:
            backend = self.backend(handle.request.model)
            request = resolve(handle.request, backend.capabilities)
            handle.request, handle.total = request, request.steps
            key = request.cache_key(backend.identity)
            cached = self.cache.lookup(key)
            if cached is not None:
                self._finish(handle, cached, from_cache=True)
                return
            started = time.perf_counter()

            def on_step(step: int, total: int) -> None:
                elapsed = time.perf_counter() - started
                handle.step, handle.total = step, total
                handle.eta_seconds = elapsed / step * (total - step) if step else None
                self._emit(JobProgress(handle.id, step, total, handle.eta_seconds))

            result = run_generation(
                backend,
                request,
                on_step=on_step,
                on_preview=lambda frames: self._emit(JobPreview(handle.id, frames)),
                should_stop=handle._cancel.is_set,
            )
            take = self.cache.store(key, result, {"model": backend.name, "model_identity": backend.identity})
            self._finish(handle, take, from_cache=False)
        except GenerationCancelled:
            self._finish_cancelled(handle)
        except ShotlineError as error:
            self._fail(handle, error)
        except Exception as error:  # report, keep the worker alive
            if is_out_of_memory(error):
                self._out_of_memory(handle, error)
                return
            self._fail(
                handle,
                ShotlineError(
                    "The render failed because of an internal error. Your project is safe; "
                    "the details below help us fix it.",
                    "".join(traceback.format_exception(error)),
                ),
            )

    def _out_of_memory(self, handle: JobHandle, error: BaseException) -> None:
        backend = self._backends.get(handle.request.model)
        advice = backend.memory_advice() if backend is not None else "use fewer frames or a smaller size"
        self._backends.clear()  # the next job loads the model afresh, into memory freed now
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        where = "graphics card" if self.device.device.type == "cuda" else "computer"
        message = (
            f"The {where} ran out of memory for this shot. To make it fit: {advice}. "
            "Closing other programs that use the memory helps too. Your project is safe."
        )
        self._fail(handle, OutOfMemoryError(message, repr(error)))

    def _finish(self, handle: JobHandle, take: Take, from_cache: bool) -> None:
        handle.take, handle.state = take, JobState.DONE
        handle.step = handle.total
        self._emit(JobFinished(handle.id, take, from_cache))

    def _finish_cancelled(self, handle: JobHandle) -> None:
        handle.state = JobState.CANCELLED
        self._emit(JobCancelled(handle.id))

    def _fail(self, handle: JobHandle, error: ShotlineError) -> None:
        handle.error, handle.state = error, JobState.FAILED
        self._emit(JobFailed(handle.id, error))
