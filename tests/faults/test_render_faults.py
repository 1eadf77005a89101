"""Render faults: cancel at random steps, out of memory in the backend, a disk that fills up mid-render or
mid-export. The queue goes on, the media cache holds only complete takes, threads and memory come back, an
existing file under the target name is never damaged, the project stays as it was.
"""

from __future__ import annotations

import gc
import os
import random
import resource
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.cache import MediaCache, find_take
from engine.device import pick_device
from engine.errors import MediaError, OutOfMemoryError, ShotlineError
from engine.jobs import JobProgress, JobQueue, JobState
from engine.media import read_video, write_video
from engine.requests import GenerationRequest
from tests.faults._disk import fill_disk

ROOT = Path(__file__).resolve().parents[2]
CANCEL_TRIALS = 24  # ×5 with --runslow
STEPS = 6


def request(seed: int, **changes) -> GenerationRequest:
    fields = dict(
        prompt="a red ball moves right over grass", seed=seed, width=64, height=64, frames=8, steps=STEPS
    )
    return GenerationRequest(**{**fields, **changes})


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def cache_problems(root: Path) -> list[str]:
    """Anything in the media cache that is not a complete, readable take."""
    if not root.exists():
        return []
    problems = []
    for entry in sorted(root.iterdir()):
        take = find_take(entry)
        if take is None:
            problems.append(f"{entry.name} is not a complete take (partial or stray)")
            continue
        frames = read_video(take.frames_path).frames
        if frames.shape[0] != take.recipe["frames"]:
            problems.append(
                f"{entry.name} has {frames.shape[0]} frames, its recipe says {take.recipe['frames']}"
            )
        if take.load_latents() is None:
            problems.append(f"{entry.name} has unreadable latents")
    return problems


class Flaky:
    """The sketch backend, except that its denoiser fails with `error` while `armed` jobs run."""

    def __init__(self, backend, error: BaseException) -> None:
        self._backend = backend
        self._error = error
        self.armed = False
        self.loads = 0

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def denoise(self, x, sigmas, text):
        if self.armed:
            self.armed = False
            raise self._error
        return self._backend.denoise(x, sigmas, text)


def test_cancel_at_random_steps_leaves_nothing_behind(tmp_path, sketch_backend, ledger, scale):
    rng = random.Random(11)
    cache = tmp_path / "cache"
    threads_before = set(threading.enumerate())
    queue = JobQueue(cache, device=pick_device("cpu"), load_backend=lambda *_: sketch_backend)
    cancel_at: dict[int, int] = {}  # job id → the step after which to cancel it

    def listener(event):
        if isinstance(event, JobProgress) and cancel_at.get(event.job_id) == event.step:
            handles[event.job_id].cancel()

    handles = {}
    queue.add_listener(listener)
    warm = queue.submit(request(10_000))  # the first render allocates what every later one reuses
    handles[warm.id] = warm
    warm.wait(120)
    gc.collect()
    baseline = rss_mb()
    counts = {"cancelled": 0, "finished": 0}
    with ledger.area("render faults", "cancel at a random step") as area:
        for trial in range(CANCEL_TRIALS * scale):
            step = rng.randint(0, STEPS + 1)  # 0: before it starts; STEPS + 1: never
            handle = queue.submit(request(trial))
            handles[handle.id] = handle
            if step == 0:
                handle.cancel()
            elif step <= STEPS:
                cancel_at[handle.id] = step
            if not handle.wait_finished(120):
                area.fail(f"trial {trial}: the job did not end")
                continue
            area.tried()
            expected = JobState.DONE if step > STEPS else JobState.CANCELLED
            if handle.state is not expected:
                area.fail(f"trial {trial}: cancelled after step {step} but ended {handle.state.value}")
            if (
                handle.state is JobState.CANCELLED
                and (cache / handle.request.cache_key(sketch_backend.identity)).exists()
            ):
                area.lost(0, f"trial {trial}: a cancelled job left a take in the cache")
            if handle.state is JobState.CANCELLED and handle.step > max(step, 0):
                area.fail(f"trial {trial}: cancelled after step {step} but ran to step {handle.step}")
            counts["cancelled" if handle.state is JobState.CANCELLED else "finished"] += 1
        # A queued job cancelled while another renders never starts.
        first, second = queue.submit(request(90_001, steps=20)), queue.submit(request(90_002))
        second.cancel()
        first.wait(120)
        second.wait_finished(10)
        area.tried()
        if second.state is not JobState.CANCELLED or second.step != 0:
            area.fail(f"a queued job cancelled before it started ran anyway ({second.state.value})")
        for problem in cache_problems(cache):
            area.lost(0, problem)
        gc.collect()
        grown = rss_mb() - baseline
        queue.close()
        leaked = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
        if leaked:
            area.fail(f"threads still alive after the queue closed: {[t.name for t in leaked]}")
        if grown > 150:
            area.fail(f"memory grew by {grown:.0f} MB over {area.cases} jobs (baseline {baseline:.0f} MB)")
        area.note("cancelled", counts["cancelled"])
        area.note("finished", counts["finished"])
        area.note("memory growth in MB", round(grown))
    assert counts["cancelled"] and counts["finished"]


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total)"),
        RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: can't allocate memory"),
        MemoryError(),
    ],
    ids=["cuda", "cpu-allocator", "python"],
)
def test_out_of_memory_fails_that_job_with_advice_and_the_queue_goes_on(
    tmp_path, sketch_backend, ledger, error
):
    flaky = Flaky(sketch_backend, error)

    def load(name, device):
        flaky.loads += 1
        return flaky

    with ledger.area("render faults", "out of memory in the backend") as area:
        for device in (
            "cuda",
            "cpu",
        ):  # the advice fits the device (a simulated CUDA device: nothing runs there)
            queue = JobQueue(tmp_path / device, device=pick_device("cpu"), load_backend=load)
            queue.device = type(queue.device)(torch.device(device), queue.device.dtype)
            flaky.armed = True
            doomed, next_one = queue.submit(request(1)), queue.submit(request(2))
            area.tried()
            try:
                doomed.wait(120)
                area.fail(f"{device}: the job that ran out of memory finished")
            except OutOfMemoryError as failure:
                advice = "graphics card" if device == "cuda" else "computer"
                if advice not in failure.message or "fewer frames" not in failure.message:
                    area.fail(f"{device}: no advice fit for the device: {failure.message!r}")
                if type(error).__name__ not in failure.detail:
                    area.fail(f"{device}: the technical detail is missing: {failure.detail!r}")
            except ShotlineError as other:
                area.fail(f"{device}: reported as {type(other).__name__}: {other.message!r}")
            try:
                next_one.wait(120)
            except ShotlineError as failure:
                area.fail(f"{device}: the next job failed too: {failure.message}")
            for problem in cache_problems(queue.cache.root):
                area.lost(0, f"{device}: {problem}")
            queue.close()
        if flaky.loads < 4:
            area.fail("the model was not loaded again after running out of memory")


def _store_sizes(tmp_path: Path, sketch_backend) -> tuple[object, dict[str, int]]:
    """A real render result, and how many bytes each file of its take needs."""
    from engine.generate import run_generation

    result = run_generation(sketch_backend, request(5))
    take = MediaCache(tmp_path / "sizes").store("probe", result)
    sizes = {path.name: path.stat().st_size for path in take.folder.iterdir()}
    return result, sizes


def test_a_full_disk_while_storing_a_take_leaves_no_partial_take(
    tmp_path, sketch_backend, monkeypatch, ledger
):
    result, sizes = _store_sizes(tmp_path, sketch_backend)
    frames, latents = sizes["frames.mkv"], sizes["latents.safetensors"]
    rooms = {
        "no room at all": 0,
        "room for part of the frames": frames // 2,
        "room for the frames only": frames + latents // 2,
        "room for all but the recipe": frames + latents + 10,
    }
    with ledger.area("render faults", "disk full while storing a take") as area:
        for label, room in rooms.items():
            cache = MediaCache(tmp_path / f"cache-{room}")
            disk = fill_disk(monkeypatch, room)
            area.tried()
            try:
                cache.store("key", result)
                area.fail(f"{label}: stored a take on a full disk")
            except MediaError as error:
                if "disk" not in error.message.lower():
                    area.fail(f"{label}: the message does not mention the disk: {error.message!r}")
            except Exception as crash:
                area.fail(f"{label}: {type(crash).__name__}: {crash}")
            monkeypatch.undo()
            if not disk.refused:
                area.fail(f"{label}: the simulated disk never filled up")
            leftovers = sorted(p.name for p in cache.root.iterdir()) if cache.root.exists() else []
            if leftovers:
                area.lost(0, f"{label}: left {leftovers} in the media cache")
            # Room again: the same take is stored in full.
            take = cache.store("key", result)
            if read_video(take.frames_path).frames.shape != result.frames.shape:
                area.fail(f"{label}: the take stored after freeing space is wrong")


@pytest.mark.parametrize("target", ["shot.mp4", "shot.mov", "shot.mkv", "frames/"])
def test_a_full_disk_during_export_keeps_the_existing_file(tmp_path, monkeypatch, ledger, target):
    """Re-exporting over last week's file on a full disk: a clear error, last week's file untouched."""
    old = np.full((6, 48, 64, 3), 90, np.uint8)
    new = np.random.default_rng(0).integers(0, 256, (24, 48, 64, 3), dtype=np.uint8)
    path = tmp_path / target
    write_video(str(path) if not target.endswith("/") else str(path) + "/", old, 12)

    def snapshot() -> dict[str, bytes]:
        files = [path] if path.is_file() else sorted(path.iterdir())
        return {f.name: f.read_bytes() for f in files}

    before = snapshot()
    with ledger.area("render faults", "disk full during export") as area:
        for room in (0, 3_000, 40_000):
            area.tried()
            fill_disk(monkeypatch, room)
            try:
                write_video(str(path) + ("/" if target.endswith("/") else ""), new, 12)
                area.fail(f"{target}, {room} bytes free: the export succeeded on a full disk")
            except MediaError as error:
                if "not enough free disk space" not in error.message:
                    area.fail(f"{target}, {room} bytes free: unclear message {error.message!r}")
            except Exception as crash:
                area.fail(f"{target}, {room} bytes free: {type(crash).__name__}: {crash}")
            finally:
                monkeypatch.undo()
            if snapshot() != before:
                area.lost(
                    sum(map(len, before.values())),
                    f"{target}, {room} bytes free: the existing export changed",
                )
            extra = sorted(p.name for p in tmp_path.iterdir() if p.name != path.name)
            if extra:
                area.lost(0, f"{target}, {room} bytes free: left temporary files {extra}")


FILE_SIZE_LIMIT = textwrap.dedent(
    """
    import resource, signal, sys
    import numpy as np
    from engine.errors import MediaError
    from engine.media import write_video
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), not the process
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    frames = np.random.default_rng(1).integers(0, 256, (24, 64, 64, 3), dtype=np.uint8)
    try:
        write_video(sys.argv[1], frames, 12)
    except MediaError as error:
        print(error.message)
        sys.exit(2)
    """
)


def test_the_real_encoder_on_a_file_system_that_refuses_to_grow(tmp_path, ledger):
    """FFmpeg itself meeting a write error (the kernel refuses the write): no damaged file under the name."""
    with ledger.area("render faults", "file system refuses writes (real FFmpeg)") as area:
        for name in ("shot.mp4", "shot.mov", "shot.mkv"):
            target = tmp_path / name
            target.write_bytes(b"last week's export")
            area.tried()
            result = subprocess.run(
                [sys.executable, "-c", FILE_SIZE_LIMIT, str(target), "20000"],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                timeout=120,
            )
            if result.returncode != 2:
                area.fail(f"{name}: exit {result.returncode}: {result.stdout}{result.stderr[-300:]}")
            elif "too large for the disk" not in result.stdout:
                area.fail(f"{name}: unclear message {result.stdout.strip()!r}")
            if target.read_bytes() != b"last week's export":
                area.lost(target.stat().st_size, f"{name}: the existing file changed")
            leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
            if leftovers:
                area.lost(0, f"{name}: left {leftovers}")


def test_a_full_disk_during_a_render_in_the_app_keeps_the_project(
    tmp_path, qtbot, monkeypatch, sketch_backend, ledger
):
    """In the app: the render fails in plain words, the shot gets no take, the project file is untouched, and
    once there is room again the same render goes through and the project saves."""
    from PySide6.QtGui import QUndoStack

    from app.bridge import EngineBridge
    from app.document import Document, serialize
    from app.media_paths import media_folder
    from app.render_service import RenderService
    from tests.test_app_render import tiny_project

    path = tmp_path / "tiny.shotline"
    serialize.save(tiny_project(), path)
    saved = path.read_bytes()
    document = Document.open(path)
    queue = JobQueue(media_folder(path), device=pick_device("cpu"), load_backend=lambda *_: sketch_backend)
    bridge = EngineBridge(media_folder(path), queue=queue)
    service = RenderService(document, QUndoStack(), bridge)
    with ledger.area("render faults", "disk full during a render in the app") as area:
        try:
            area.tried()
            disk = fill_disk(monkeypatch, 0)
            with qtbot.waitSignal(service.failed, timeout=60_000) as failed:
                entry = service.generate("ball")
            monkeypatch.undo()
            message = failed.args[1].message
            if not disk.refused or "disk" not in message.lower():
                area.fail(f"the failure does not say the disk is full: {message!r}")
            if document.project.shot("ball").takes:
                area.fail("the shot got a take from a render that failed")
            if path.read_bytes() != saved:
                area.lost(len(saved), "the project file changed")
            for problem in cache_problems(media_folder(path)):
                area.lost(0, problem)
            with qtbot.waitSignal(service.takeAdded, timeout=60_000):
                service.retry(entry)
            document.save()
            if serialize.load(path) != document.project or not document.project.shot("ball").takes:
                area.lost(0, "the render after freeing space did not land in the saved project")
        finally:
            service.close()
            bridge.shutdown()
