"""The open document: edits swap projects in, views hear what changed, dirty follows saves and undo."""

from __future__ import annotations

import pytest

from app.document import edits, serialize
from app.document.errors import EditError
from app.document.events import Change, Document, Emitter, diff
from app.document.schema import Project


@pytest.fixture
def document() -> Document:
    p = edits.add_track(edits.add_track(Project(name="Doc"), track_id="v1"), track_id="v2")
    p = edits.add_shot(p, "v1", 0, 24, "a red ball", shot_id="a")
    p = edits.add_shot(p, "v1", 30, 24, "a dog", shot_id="b")
    p = edits.add_shot(p, "v2", 0, 24, "the park", shot_id="c")
    return Document(p)


def test_apply_swaps_the_project_and_says_what_changed(document):
    heard: list[Change] = []
    document.changed.connect(heard.append)
    before = document.project
    change = document.apply(edits.move_item, "b", start=40)
    assert document.project.item("b").start == 40
    assert heard == [change]
    assert (change.before, change.after) == (before, document.project)
    assert change.tracks == {"v1"} and change.items == {"b"}
    assert not change.project and not change.render_queue


def test_a_refused_edit_changes_nothing_and_emits_nothing(document):
    heard: list[Change] = []
    document.changed.connect(heard.append)
    before = document.project
    with pytest.raises(EditError):
        document.apply(edits.move_item, "b", start=10)
    assert document.project is before and heard == [] and not document.dirty


def test_diff_names_added_removed_and_moved_items(document):
    p = document.project
    after = edits.move_item(edits.remove_item(p, "a"), "c", track_id="v1", start=60)
    change = diff(p, after)
    assert change.tracks == {"v1", "v2"} and change.items == {"a", "c"}
    assert diff(p, edits.add_track(p, track_id="v3")).tracks == {"v1", "v2", "v3"}
    assert diff(p, edits.set_settings(p, snapping=False)).project
    assert diff(p, edits.queue_render(p, "a", job_id="j")).render_queue
    assert diff(p, p).is_empty


def test_undo_and_redo_through_set_project_restore_the_exact_document(document):
    original = document.project
    document.apply(edits.set_shot, "a", prompt="a blue ball")
    edited = document.project
    assert document.dirty
    document.set_project(original)  # undo
    assert document.project == original and not document.dirty
    document.set_project(edited)  # redo
    assert document.project.shot("a").prompt == "a blue ball" and document.dirty


def test_dirty_flag_follows_saves(tmp_path, document):
    states: list[bool] = []
    paths: list = []
    document.dirty_changed.connect(states.append)
    document.path_changed.connect(paths.append)
    document.apply(edits.set_shot, "a", seed=3)
    path = tmp_path / "doc.shotline"
    assert document.write_recovery() is None  # no file yet: nowhere to put the autosave
    document.save(path)
    assert states == [True, False] and paths == [path] and document.path == path
    document.apply(edits.set_shot, "a", seed=4)
    assert document.write_recovery() == serialize.recovery_path(path)
    document.save()
    assert not serialize.recovery_path(path).exists()
    reopened = Document.open(path)
    assert reopened.project == document.project and not reopened.dirty


def test_save_without_a_path_is_refused(document):
    with pytest.raises(ValueError, match="Save As"):
        document.save()


def test_a_failing_view_does_not_stop_the_others():
    emitter: Emitter[int] = Emitter()
    heard: list[int] = []

    def broken(value: int) -> None:
        raise RuntimeError("view bug")

    emitter.connect(broken)
    emitter.connect(heard.append)
    with pytest.raises(RuntimeError, match="view bug"):
        emitter.emit(1)
    assert heard == [1]
    emitter.disconnect(broken)
    emitter.emit(2)
    assert heard == [1, 2]
