"""The render service: generate, extend both ways, fill a gap, cancel, retry, seeds, the saved queue."""

from __future__ import annotations

from fractions import Fraction

import pytest
from PySide6.QtGui import QUndoStack

from app.bridge import EngineBridge
from app.document import Document, Project, edits, serialize
from app.document.schema import RenderJob, is_stale
from app.media_paths import media_folder, resolve_take
from app.render_service import RenderService, allowed_aspects, render_frames, render_size

STEPS = 2


def tiny_project() -> Project:
    """A 64×64 project at 12 fps: 1:1 shots of 8 frames render in about a second on the CPU."""
    project = Project(name="Tiny", fps=Fraction(12), width=64, height=64)
    project = edits.set_settings(project, default_aspect="1:1", default_shot_frames=8, default_steps=STEPS)
    project = edits.add_track(project, "V1", track_id="v1")
    project = edits.add_shot(project, "v1", 8, 8, "a red ball moves right over grass", shot_id="ball")
    return edits.add_shot(project, "v1", 24, 8, "a blue box on snow", shot_id="box")


@pytest.fixture
def rig(tmp_path, qapp, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "tiny.shotline"
    serialize.save(tiny_project(), path)
    document = Document.open(path)
    stack = QUndoStack()
    bridge = EngineBridge(media_folder(path))
    service = RenderService(document, stack, bridge)
    yield document, stack, service
    service.close()
    bridge.shutdown()


def render(qtbot, service: RenderService, action, timeout: int = 60_000):
    with qtbot.waitSignal(service.takeAdded, timeout=timeout) as added:
        result = action()
    return result, added.args


def test_generate_adds_a_take_as_one_undo_step(rig, qtbot):
    document, stack, service = rig
    before = document.project
    notices: list[str] = []
    service.notice.connect(notices.append)
    rendering: list[tuple[str, bool]] = []
    service.renderingChanged.connect(lambda shot, on: rendering.append((shot, on)))
    previews = []
    service.preview.connect(lambda shot, frames: previews.append(shot))
    _, (shot_id, take_id) = render(qtbot, service, lambda: service.generate("ball"))
    shot = document.project.shot("ball")
    assert shot_id == "ball" and shot.current_take == take_id and len(shot.takes) == 1
    take = shot.current
    assert take.frames == 8 and take.latents_available and take.made_from == ()
    assert resolve_take(document.path, take.media_path).exists()
    assert take.recipe["request"]["width"] == 64 and take.recipe["request"]["fps"] == 12.0
    assert shot.seed == take.recipe["request"]["seed"]  # the drawn seed is recorded
    assert rendering == [("ball", True), ("ball", False)] and previews and set(previews) == {"ball"}
    assert document.project.render_queue == () and not notices
    assert stack.count() == 1 and stack.undoText() == "Render take"
    after = document.project
    stack.undo()
    assert document.project == before
    stack.redo()
    assert document.project == after


def test_extend_forward_and_backward_continue_the_current_take(rig, qtbot):
    document, stack, service = rig
    _, (_, ball_take) = render(qtbot, service, lambda: service.generate("ball"))
    forward, _ = render(qtbot, service, lambda: service.extend("ball", "forward"))
    backward, _ = render(qtbot, service, lambda: service.extend("ball", "backward"))
    project = document.project
    after_shot, before_shot = project.shot(forward), project.shot(backward)
    assert after_shot.start == 16 and before_shot.end == 8
    for shot, position in ((after_shot, -8), (before_shot, 8)):
        take = shot.current
        assert take.made_from == (("ball", ball_take),)
        (known,) = take.recipe["request"]["known"]
        assert known["position"] == position and known["has_latents"] and known["frames"] == 8
    assert [stack.text(i) for i in range(stack.count())] == [
        "Render take",
        "Extend shot forward",
        "Render take",
        "Extend shot backward",
        "Render take",
    ]
    # A new take of the source makes both extensions stale; regenerate re-renders one with its seed.
    render(qtbot, service, lambda: service.regenerate("ball", new_seed=True))
    assert is_stale(document.project, forward) and is_stale(document.project, backward)
    seed = document.project.shot(forward).current.recipe["request"]["seed"]
    render(qtbot, service, lambda: service.regenerate(forward, new_seed=False))
    assert not is_stale(document.project, forward)
    assert document.project.shot(forward).current.recipe["request"]["seed"] == seed


def test_fill_gap_bridges_both_neighbours_and_waits_for_them(rig, qtbot):
    document, _stack, service = rig
    bridge_id = service.fill_gap("v1", 16, 24)  # neither neighbour has a take yet: it fails in words
    qtbot.waitUntil(lambda: document.project.render_queue[0].status == "failed", timeout=10_000)
    assert "no take yet" in document.project.render_queue[0].message
    with qtbot.waitSignal(service.takeAdded, timeout=60_000):
        service.generate_all()  # ball, box and the bridge (which waits for both)
    qtbot.waitUntil(lambda: document.project.shot(bridge_id).current is not None, timeout=60_000)
    take = document.project.shot(bridge_id).current
    assert dict(take.made_from) == {
        "ball": document.project.shot("ball").current_take,
        "box": document.project.shot("box").current_take,
    }
    positions = sorted(k["position"] for k in take.recipe["request"]["known"])
    assert positions == [-8, 8] and document.project.render_queue == ()


def test_cancel_removes_the_job_and_adds_no_take(rig, qtbot):
    document, _stack, service = rig
    document.apply(edits.set_shot, "ball", steps=80)
    entry = service.generate("ball")
    qtbot.waitUntil(lambda: service.entries() and service.entries()[0].step >= 1, timeout=60_000)
    assert document.project.render_queue[0].status == "running"
    with qtbot.waitSignal(service.renderingChanged, timeout=30_000):
        service.cancel(entry)
    qtbot.waitUntil(lambda: document.project.render_queue == (), timeout=5_000)
    assert document.project.shot("ball").takes == () and service.entries() == []


def test_a_failed_render_says_why_and_can_be_retried(rig, qtbot):
    document, _stack, service = rig
    document.apply(edits.set_shot, "ball", aspect="16:9", prompt="a red dragon")
    with qtbot.waitSignal(service.failed, timeout=30_000) as failed:
        entry = service.generate("ball")
    assert "16:9" in failed.args[1].message
    assert document.project.render_queue[0].status == "failed"
    document.apply(edits.set_shot, "ball", aspect="1:1")
    notices: list[str] = []
    service.notice.connect(notices.append)
    with qtbot.waitSignal(service.takeAdded, timeout=60_000):
        service.retry(entry)
    assert "The sketch model does not know: dragon" in notices


def test_seeds_locked_are_reused_and_lengths_are_rounded_with_a_notice(rig, qtbot):
    document, _stack, service = rig
    document.apply(edits.set_shot, "ball", seed=1234, seed_locked=True, duration=10)
    notices: list[str] = []
    service.notice.connect(notices.append)
    render(qtbot, service, lambda: service.generate("ball"))
    render(qtbot, service, lambda: service.generate("ball"))
    takes = document.project.shot("ball").takes
    assert [t.recipe["request"]["seed"] for t in takes] == [1234, 1234]
    assert takes[0].frames == 12 and any("renders 12 frames" in n for n in notices)
    assert not document.project.shot("ball").needs_render


def test_a_saved_queue_is_submitted_again_on_open(tmp_path, qtbot, qapp, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "queued.shotline"
    project = tiny_project()
    project = Project(**{**project.__dict__, "render_queue": (RenderJob("job-1", "box", status="running"),)})
    serialize.save(project, path)
    document = Document.open(path)
    bridge = EngineBridge(media_folder(path))
    service = RenderService(document, QUndoStack(), bridge)
    try:
        with qtbot.waitSignal(service.takeAdded, timeout=60_000):
            assert service.resume() == 1
        assert document.project.shot("box").current is not None and document.project.render_queue == ()
    finally:
        service.close()
        bridge.shutdown()


def test_undoing_a_shot_while_it_renders_cancels_its_job(rig, qtbot):
    document, stack, service = rig
    render(qtbot, service, lambda: service.generate("ball"))
    document.apply(edits.set_shot, "ball", steps=80)
    service.extend("ball", "forward")
    qtbot.waitUntil(
        lambda: bool(service.entries()) and service.entries()[0].state == "running", timeout=60_000
    )
    stack.undo()  # removes the extension
    qtbot.waitUntil(lambda: service.entries() == [] and document.project.render_queue == (), timeout=30_000)
    assert len(list(document.project.shots())) == 2


def test_sizes_and_lengths_follow_the_model(sketch_backend):
    caps = sketch_backend.capabilities
    wide = Project(width=832, height=480)
    assert render_size(wide, "16:9", caps) == (256, 144)
    assert render_size(wide, "9:16", caps) == (144, 256)
    assert allowed_aspects(Project(width=64, height=64), caps) == ("1:1",)
    assert render_frames(8, caps) == 8 and render_frames(9, caps) == 12 and render_frames(1000, caps) == 96
