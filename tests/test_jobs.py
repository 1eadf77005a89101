"""The job queue: takes land in the media cache, progress and previews stream, cancel/failures clean."""

import json
import threading

import numpy as np
import pytest

from engine.cache import MediaCache
from engine.device import pick_device
from engine.errors import GenerationCancelled, InvalidRequestError
from engine.jobs import JobCancelled, JobFailed, JobFinished, JobPreview, JobProgress, JobQueue, JobState


@pytest.fixture
def queue(tmp_path, sketch_backend):
    q = JobQueue(
        tmp_path / "cache", device=pick_device("cpu"), load_backend=lambda name, device: sketch_backend
    )
    events = []
    q.add_listener(events.append)
    q.events = events
    yield q
    q.close()
    assert not q._worker.is_alive()


def test_a_finished_job_leaves_frames_latents_and_recipe(queue, small_request):
    take = queue.submit(small_request).wait(120)
    assert take.frames_path.exists() and take.latents_path.exists()
    recipe = json.loads((take.folder / "recipe.json").read_text())
    assert recipe["request"]["prompt"] == small_request.prompt and recipe["request"]["seed"] == 7
    video = take.load_video()
    assert video.frames.shape == (8, 64, 64, 3) and video.fps == 12
    latents, space = take.load_latents()
    assert latents.shape == queue.backend("sketch").latent_shape(64, 64, 8) and space.startswith("sketch")
    kinds = [type(e) for e in queue.events]
    calls = 2 + 1  # 2 steps per latent frame, the second frame 1 step (the model's frame lag) later
    assert kinds.count(JobProgress) == calls and kinds.count(JobPreview) == calls and kinds[-1] is JobFinished


def test_the_same_request_comes_from_the_cache(queue, small_request):
    first = queue.submit(small_request).wait(120)
    again = queue.submit(small_request).wait(120)
    assert again.folder == first.folder
    assert queue.events[-1].from_cache is True


def test_a_take_damaged_after_it_was_written_is_rendered_again(queue, small_request):
    first = queue.submit(small_request).wait(120)
    frames = first.frames_path.read_bytes()
    first.frames_path.write_bytes(frames[: len(frames) // 3])  # e.g. a half-copied cache folder
    again = queue.submit(small_request).wait(120)
    assert queue.events[-1].from_cache is False
    assert again.load_video().frame_count == 8
    assert len(list(first.folder.parent.glob(f".{first.key}.damaged-*"))) == 1  # kept aside, not deleted


def test_a_missing_seed_is_picked_and_recorded(queue, small_request):
    handle = queue.submit(small_request.replace(seed=None))
    take = handle.wait(120)
    assert handle.request.seed is not None and take.recipe["request"]["seed"] == handle.request.seed


def test_progress_counts_up_with_an_eta(queue, small_request):
    queue.submit(small_request.replace(steps=4)).wait(120)
    progress = [e for e in queue.events if isinstance(e, JobProgress)]
    # 4 steps per latent frame; the second of the 2 frames settles 1 step (the frame lag) after the first
    assert [p.step for p in progress] == [1, 2, 3, 4, 5] and all(p.total == 5 for p in progress)
    assert progress[0].eta_seconds > 0 and progress[-1].eta_seconds == 0


def test_cancel_a_running_job_leaves_nothing_in_the_cache(queue, small_request):
    started = threading.Event()
    queue.add_listener(lambda e: isinstance(e, JobProgress) and started.set())
    handle = queue.submit(small_request.replace(steps=50))
    assert started.wait(60)
    handle.cancel()
    with pytest.raises(GenerationCancelled):
        handle.wait(60)
    assert handle.state is JobState.CANCELLED and isinstance(queue.events[-1], JobCancelled)
    assert handle.step < 50
    cache = queue.cache.root
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_failing_job_reports_and_the_queue_goes_on(queue, small_request):
    bad = queue.submit(small_request.replace(frames=7))
    good = queue.submit(small_request)
    with pytest.raises(InvalidRequestError, match="use 8 frames"):
        bad.wait(60)
    assert good.wait(120).frames_path.exists()
    failed = [e for e in queue.events if isinstance(e, JobFailed)]
    assert len(failed) == 1 and failed[0].job_id == bad.id


def test_queued_jobs_can_be_reordered_and_cancelled(queue, small_request):
    gate = threading.Event()
    queue.add_listener(lambda e: isinstance(e, JobProgress) and gate.wait(30))
    first = queue.submit(small_request.replace(seed=1))
    second = queue.submit(small_request.replace(seed=2))
    third = queue.submit(small_request.replace(seed=3))
    queue.move(third.id, 0)
    assert queue.pending()[0].id == third.id
    second.cancel()
    gate.set()
    assert queue.wait_until_idle(120)
    assert second.state is JobState.CANCELLED and first.state is third.state is JobState.DONE
    finished = [e.job_id for e in queue.events if isinstance(e, JobFinished)]
    assert set(finished) == {first.id, third.id}


def test_partial_takes_from_a_crash_are_cleaned(tmp_path):
    cache = MediaCache(tmp_path)
    (tmp_path / ".abc.123.partial").mkdir()
    (tmp_path / ".abc.123.partial" / "frames.mkv").write_bytes(np.zeros(10, np.uint8).tobytes())
    assert cache.remove_partials() == 1 and list(tmp_path.iterdir()) == []
