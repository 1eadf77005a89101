"""The engine bridge: job events arrive as Qt signals on the main thread, in order; cancel and failures."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from app.bridge import EngineBridge, link_takes
from engine.cache import Take
from engine.errors import InvalidRequestError, ShotlineError
from engine.requests import GenerationRequest

TINY = dict(width=64, height=64, frames=8, steps=2, seed=3)


@pytest.fixture
def bridge(tmp_path, qapp):
    bridge = EngineBridge(tmp_path / "project.media")
    yield bridge
    bridge.shutdown()


def _record(bridge: EngineBridge) -> list[tuple[str, int, bool]]:
    events: list[tuple[str, int, bool]] = []

    def on(name):
        def slot(job, *_):
            events.append((name, job, QThread.currentThread() is QApplication.instance().thread()))

        return slot

    for name in ("jobQueued", "jobStarted", "jobProgress", "jobPreview", "jobFinished", "jobFailed"):
        getattr(bridge, name).connect(on(name))
    bridge.jobCancelled.connect(on("jobCancelled"))
    return events


def test_a_tiny_render_streams_progress_and_previews_on_the_main_thread(bridge, qtbot):
    events = _record(bridge)
    previews: list[np.ndarray] = []
    bridge.jobPreview.connect(lambda _job, frames: previews.append(frames))
    request = GenerationRequest(prompt="a red ball moves right over grass", **TINY)
    with qtbot.waitSignal(bridge.jobFinished, timeout=60_000) as finished:
        job = bridge.submit(request)
    take = finished.args[1]
    assert finished.args[0] == job and isinstance(take, Take)
    assert take.frames_path.exists() and take.folder.parent == bridge.media_folder
    names = [name for name, _, _ in events]
    assert names[0] == "jobQueued" and names[1] == "jobStarted" and names[-1] == "jobFinished"
    steps = 2 + 1  # 2 steps for each of the 2 latent frames, the second settling 1 step (the frame lag) later
    assert names.count("jobProgress") == steps and "jobPreview" in names
    assert names.index("jobProgress") < names.index("jobFinished")
    assert all(on_main for _, _, on_main in events)
    assert all(job_id == job for _, job_id, _ in events)
    assert previews[0].dtype == np.uint8 and previews[0].ndim == 4 and previews[0].shape[-1] == 3


def test_cancel_stops_jobs_and_leaves_nothing_in_the_cache(bridge, qtbot):
    events = _record(bridge)
    long = GenerationRequest(prompt="a blue box", **{**TINY, "steps": 60})
    running = bridge.submit(long)
    waiting = bridge.submit(long.replace(seed=4))
    with qtbot.waitSignal(bridge.jobCancelled, timeout=5_000) as cancelled:
        bridge.cancel(waiting)  # still waiting: cancelled at once
    assert cancelled.args == [waiting]
    qtbot.waitUntil(lambda: any(name == "jobProgress" for name, _, _ in events), timeout=60_000)
    with qtbot.waitSignal(bridge.jobCancelled, timeout=60_000) as cancelled:
        bridge.cancel(running)
    assert cancelled.args == [running]
    assert bridge.wait_until_idle(10)
    qtbot.wait(50)  # let any stray queued event arrive
    names = [name for name, _, _ in events]
    assert "jobFinished" not in names and names.count("jobCancelled") == 2
    folder = bridge.media_folder
    assert not folder.exists() or not [p for p in folder.iterdir() if not p.name.startswith(".")]


def test_a_bad_request_fails_with_words_for_the_user(bridge, qtbot):
    with qtbot.waitSignal(bridge.jobFailed, timeout=60_000) as failed:
        bridge.submit(GenerationRequest(prompt="a car", **{**TINY, "frames": 7}))
    error = failed.args[1]
    assert isinstance(error, InvalidRequestError) and isinstance(error, ShotlineError)
    assert "frames" in error.message


def test_the_model_loads_on_a_worker_thread(bridge, qtbot):
    future = bridge.backend("sketch")
    qtbot.waitUntil(future.done, timeout=60_000)
    backend = future.result()
    assert backend.name == "sketch" and bridge.backend("sketch") is future
    failing = bridge.backend("no-such-model")
    qtbot.waitUntil(failing.done, timeout=10_000)
    assert isinstance(failing.exception(), ShotlineError)


_QASYNC_SCRIPT = """
import asyncio, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import pytest, qasync
from PySide6.QtWidgets import QApplication
from app.bridge import EngineBridge
from engine.cache import Take
from engine.errors import GenerationCancelled
from engine.requests import GenerationRequest

app = QApplication([])
bridge = EngineBridge(sys.argv[1])
loop = qasync.QEventLoop(app, already_running=False)
request = GenerationRequest(prompt="a yellow bird flies left", width=64, height=64, frames=8, steps=2, seed=3)
take = loop.run_until_complete(asyncio.wait_for(bridge.render(request), 60))
assert isinstance(take, Take) and take.recipe["request"]["seed"] == 3


async def cancelled_render():
    task = asyncio.ensure_future(bridge.render(request.replace(seed=9, steps=60)))
    await asyncio.sleep(0)
    bridge.cancel(max(bridge._handles))
    return await task


with pytest.raises(GenerationCancelled):
    loop.run_until_complete(asyncio.wait_for(cancelled_render(), 60))
bridge.shutdown()
print("ok")
"""


def test_render_awaits_a_take_under_qasync(tmp_path):
    # In its own process: a qasync loop closed inside pytest's QApplication leaves a notifier that
    # crashes later tests' event processing; the app itself runs one loop for its whole life.
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", _QASYNC_SCRIPT, str(tmp_path / "project.media")],
        capture_output=True, text=True, timeout=240, cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_a_take_finished_after_the_project_moved_lands_in_the_new_folder(bridge, qtbot, tmp_path):
    request = GenerationRequest(prompt="a white car drives left on a road", **TINY)
    with qtbot.waitSignal(bridge.jobStarted, timeout=60_000):
        bridge.submit(request)
    moved = tmp_path / "moved.media"
    bridge.set_media_folder(moved)
    with qtbot.waitSignal(bridge.jobFinished, timeout=60_000) as finished:
        pass
    take = finished.args[1]
    assert take.folder == moved / take.key and take.frames_path.exists()
    copied = link_takes(moved, tmp_path / "third.media", [take.key, "missing"])
    assert copied == [take.key] and (tmp_path / "third.media" / take.key / "recipe.json").exists()
