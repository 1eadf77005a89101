"""Document edits: each applies fully or raises EditError, leaving the project as it was; gaps; staleness."""

from __future__ import annotations

import dataclasses
import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.document import edits, serialize
from app.document.errors import EditError
from app.document.schema import (
    ImportedClip,
    Project,
    Shot,
    ShotSource,
    Take,
    find_gaps,
    gap_at,
    gaps,
    is_stale,
    stale_neighbours,
    stale_shots,
)
from app.document.time import TimeRange


def take(take_id: str, frames: int = 48, **fields) -> Take:
    return Take(
        id=take_id,
        cache_key=f"key-{take_id}",
        media_path=f"key-{take_id}/frames.mkv",
        frames=frames,
        recipe={"prompt": "x", "seed": 1, "known": []},
        **fields,
    )


@pytest.fixture
def project() -> Project:
    """V1: | a 0–24 | b 24–48 |  gap  | c 60–84 |        V2:   | d 10–30 |"""
    p = Project(name="Test", fps=Fraction(24))
    p = edits.add_track(p, track_id="v1")
    p = edits.add_track(p, track_id="v2")
    p = edits.add_shot(p, "v1", 0, 24, "a red ball rolls across the grass", shot_id="a")
    p = edits.add_shot(p, "v1", 24, 24, "the ball stops by a tree", shot_id="b")
    p = edits.add_shot(p, "v1", 60, 24, "a dog runs in", shot_id="c")
    p = edits.add_shot(p, "v2", 10, 20, "wide shot of the park", shot_id="d")
    return p


def spans(project: Project, track_id: str) -> list[tuple[str, int, int]]:
    return [(item.id, item.start, item.duration) for item in project.track(track_id).items]


def refused(project: Project, edit, *args, match: str = "", **kwargs) -> EditError:
    """The edit raises EditError and the project (and its saved form) is exactly as before."""
    before = serialize.dumps(project)
    snapshot = dataclasses.replace(project)
    with pytest.raises(EditError, match=match) as info:
        edit(project, *args, **kwargs)
    assert project == snapshot
    assert serialize.dumps(project) == before
    return info.value


# --- tracks -------------------------------------------------------------------------------------------------
def test_add_track_names_and_places_it(project):
    p = edits.add_track(project, track_id="v3")
    assert [t.id for t in p.tracks] == ["v1", "v2", "v3"]
    assert p.track("v3").name == "V3" and p.track("v3").items == ()
    p = edits.add_track(p, "Wide", track_id="top", index=0)
    assert [t.id for t in p.tracks] == ["top", "v1", "v2", "v3"]
    assert p.track("v1") is project.track("v1")  # untouched parts are shared
    refused(project, edits.add_track, track_id="v1", match="already used")


def test_remove_track_takes_its_items_and_render_jobs(project):
    p = edits.queue_render(project, "d", job_id="job1")
    p = edits.remove_track(p, "v2")
    assert [t.id for t in p.tracks] == ["v1"]
    assert p.find("d") is None and p.render_queue == ()
    refused(project, edits.remove_track, "nope", match="no track")


def test_set_track_renames_mutes_and_hides(project):
    p = edits.set_track(project, "v2", name="B-roll", muted=True, hidden=True)
    track = p.track("v2")
    assert (track.name, track.muted, track.hidden) == ("B-roll", True, True)
    refused(project, edits.set_track, "v2", muted="yes", match="on or off")


# --- placing ------------------------------------------------------------------------------------------------
def test_add_shot_into_a_gap_keeps_items_sorted(project):
    p = edits.add_shot(project, "v1", 48, 12, "a bird lands", shot_id="e", seed=5, seed_locked=True)
    assert [i.id for i in p.track("v1").items] == ["a", "b", "e", "c"]
    shot = p.shot("e")
    assert (shot.prompt, shot.seed, shot.seed_locked, shot.takes, shot.model) == (
        "a bird lands",
        5,
        True,
        (),
        "sketch",
    )


def test_add_shot_uses_project_defaults(project):
    p = edits.set_settings(project, default_shot_frames=36, default_aspect="2.39:1", default_steps=12)
    p = edits.add_shot(p, "v2", 40, prompt="night", shot_id="n")
    shot = p.shot("n")
    assert (shot.duration, shot.aspect, shot.steps) == (36, "2.39:1", 12)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("v1", 40, 24, "x"), {}, 'overlap the shot "the ball stops by a…" \\(frames 24–47\\)'),
        (("v1", 84, 0, "x"), {}, "from 1 to"),
        (("v1", -5, 4, "x"), {}, "before the beginning"),
        (("v9", 100, 4, "x"), {}, "no track v9"),
        (("v1", 100, 4, "x"), {"shot_id": "a"}, "already used"),
        (("v1", 100, 4, "x"), {"seed": -1}, "seed"),
        (("v1", 100, 4, "x"), {"aspect": "4:3"}, "aspect"),
        (("v1", 100, 4, "x"), {"guidance": 99.0}, "Guidance"),
        (("v1", 100, 4, "x"), {"source": ShotSource("extend_forward", ("ghost",))}, "not in the project"),
    ],
)
def test_add_shot_refusals(project, args, kwargs, match):
    refused(project, edits.add_shot, *args, match=match, **kwargs)


def test_add_shot_rejects_unknown_fields(project):
    with pytest.raises(TypeError):
        edits.add_shot(project, "v1", 100, 4, "x", colour="red")


def test_extend_forward_and_backward(project):
    p = edits.add_extension(project, "c", "forward", 12, shot_id="c2")
    after = p.shot("c2")
    assert (after.start, after.duration, after.prompt) == (84, 12, "a dog runs in")
    assert after.source == ShotSource("extend_forward", ("c",))
    p = edits.add_extension(p, "c", "backward", 12, "the dog waits", shot_id="c0")
    before = p.shot("c0")
    assert (before.start, before.end, before.prompt) == (48, 60, "the dog waits")
    assert before.source == ShotSource("extend_backward", ("c",))
    refused(project, edits.add_extension, "a", "backward", 12, match="no room before")
    refused(project, edits.add_extension, "a", "forward", 12, match="overlap")
    refused(project, edits.add_extension, "a", "sideways", match="forward")


def test_bridge_fills_the_gap_between_two_shots(project):
    p = edits.add_bridge(project, "v1", 50, "the ball rolls to the dog", shot_id="br")
    bridge = p.shot("br")
    assert (bridge.start, bridge.duration) == (48, 12)
    assert bridge.source == ShotSource("bridge", ("b", "c"))
    assert gaps(p.track("v1")) == ()
    refused(project, edits.add_bridge, "v1", 10, match="no gap")
    refused(project, edits.add_bridge, "v2", 3, match="both sides")


def test_add_clip_defaults_to_the_rest_of_its_media(project):
    p = edits.add_clip(
        project, "v2", 40, "/footage/beach.mov", media_frames=100, in_point=30, clip_id="beach"
    )
    clip = p.item("beach")
    assert isinstance(clip, ImportedClip) and (clip.start, clip.duration, clip.in_point) == (40, 70, 30)
    still = edits.add_clip(project, "v2", 40, "poster.png", clip_id="still").item("still")
    assert still.is_still and still.duration == project.settings.default_shot_frames
    refused(project, edits.add_clip, "v2", 40, "x.mov", media_frames=10, duration=20, match="only 10 frames")
    refused(project, edits.add_clip, "v2", 0, "x.mov", media_frames=50, match="overlap")


# --- removing -----------------------------------------------------------------------------------------------
def test_remove_without_ripple_leaves_a_gap(project):
    p = edits.remove_item(project, "b")
    assert spans(p, "v1") == [("a", 0, 24), ("c", 60, 24)]
    assert gaps(p.track("v1")) == (TimeRange(24, 36),)
    assert p.track("v2") is project.track("v2")


def test_ripple_delete_moves_later_items_on_that_track_only(project):
    p = edits.remove_item(project, "a", ripple=True)
    assert spans(p, "v1") == [("b", 0, 24), ("c", 36, 24)]
    assert spans(p, "v2") == [("d", 10, 20)]
    p = edits.remove_item(project, "b", ripple=True)
    assert spans(p, "v1") == [("a", 0, 24), ("c", 36, 24)]
    refused(project, edits.remove_item, "zz", match="no shot or clip zz")


def test_removing_a_shot_drops_its_render_jobs(project):
    p = edits.queue_render(edits.queue_render(project, "a", job_id="j1"), "c", job_id="j2")
    assert [j.id for j in edits.remove_item(p, "a").render_queue] == ["j2"]


def test_close_gap_ripples_the_rest_of_the_track(project):
    p = edits.close_gap(project, "v1", 50)
    assert spans(p, "v1") == [("a", 0, 24), ("b", 24, 24), ("c", 48, 24)]
    p = edits.close_gap(project, "v2", 0)
    assert spans(p, "v2") == [("d", 0, 20)]
    refused(project, edits.close_gap, "v1", 30, match="no gap")


# --- moving and snapping ------------------------------------------------------------------------------------
def test_move_within_a_track_and_to_another(project):
    p = edits.move_item(project, "c", start=48)
    assert spans(p, "v1") == [("a", 0, 24), ("b", 24, 24), ("c", 48, 24)]
    p = edits.move_item(project, "b", start=40, track_id="v2")
    assert spans(p, "v1") == [("a", 0, 24), ("c", 60, 24)]
    assert spans(p, "v2") == [("d", 10, 20), ("b", 40, 24)]
    assert edits.move_item(project, "b", start=24) is project


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"start": 40}, "overlap"), ({"start": -1}, "before the beginning"), ({"track_id": "v2"}, "overlap")],
)
def test_move_refusals(project, kwargs, match):
    refused(project, edits.move_item, "b", match=match, **kwargs)


def test_snap_to_edges_and_playhead(project):
    assert edits.snap(project, 50, 3) == 48  # b ends at 48
    assert edits.snap(project, 55, 3) == 55  # nothing within 3 frames
    assert edits.snap(project, 55, 3, playhead=57) == 57
    assert edits.snap(project, 2, 3) == 0
    assert edits.snap(project, 47, 2) == 48
    assert edits.snap(project, 47, 2, exclude=("b",)) == 47  # the dragged item's own edges do not count
    assert edits.snap(project, 29, 2) == 30  # d ends at 30 on the other track


def test_snap_move_snaps_either_edge(project):
    assert edits.snap_move(project, "c", 50, 3) == 48  # c's start onto b's end
    assert edits.snap_move(project, "d", 5, 3) == 4  # d's end (+20) onto a's end at 24
    assert edits.snap_move(project, "c", 53, 1) == 53


# --- trimming, splitting, duplicating -----------------------------------------------------------------------
def test_trim_start_of_a_shot_moves_its_takes_in_points(project):
    p = edits.add_take(project, "c", take("t1"))
    p = edits.trim_start(p, "c", 66)
    shot = p.shot("c")
    assert (shot.start, shot.duration, shot.current.in_point) == (66, 18, 6)
    assert not shot.needs_render
    p = edits.trim_start(p, "c", 50)  # longer than its take: needs a render
    shot = p.shot("c")
    assert (shot.start, shot.duration, shot.current.in_point) == (50, 34, -10)
    assert shot.needs_render
    refused(project, edits.trim_start, "c", 40, match="overlap")
    refused(project, edits.trim_start, "c", 84, match="no frames left")


def test_trim_end_of_a_shot(project):
    p = edits.trim_end(project, "c", 70)
    assert spans(p, "v1")[-1] == ("c", 60, 10)
    refused(project, edits.trim_end, "a", 30, match="overlap")
    refused(project, edits.trim_end, "a", 0, match="no frames left")
    refused(project, edits.trim_end, "c", 60 + 7201, match="7200")


def test_clips_cannot_be_trimmed_past_their_media(project):
    p = edits.add_clip(
        project, "v2", 40, "beach.mov", media_frames=100, in_point=10, duration=50, clip_id="k"
    )
    p2 = edits.trim_start(p, "k", 35)
    clip = p2.item("k")
    assert (clip.start, clip.duration, clip.in_point) == (35, 55, 5)
    refused(p, edits.trim_start, "k", 29, match="cannot start earlier")
    p3 = edits.trim_end(p, "k", 130)
    assert p3.item("k").duration == 90
    refused(p, edits.trim_end, "k", 131, match="longer than its media")


def test_split_a_shot_shares_prompt_and_takes(project):
    p = edits.add_take(project, "c", take("t1", frames=24))
    p = edits.split_item(p, "c", 70, new_item_id="c-right")
    left, right = p.shot("c"), p.shot("c-right")
    assert (left.start, left.duration, right.start, right.duration) == (60, 10, 70, 14)
    assert left.prompt == right.prompt == "a dog runs in"
    assert left.current.cache_key == right.current.cache_key
    assert (left.current.in_point, right.current.in_point) == (0, 10)
    assert not left.needs_render and not right.needs_render
    refused(project, edits.split_item, "c", 60, match="inside")
    refused(project, edits.split_item, "c", 84, match="inside")
    refused(project, edits.split_item, "c", 70, new_item_id="a", match="already used")


def test_split_a_clip_moves_the_right_part_into_its_media(project):
    p = edits.add_clip(
        project, "v2", 40, "beach.mov", media_frames=100, in_point=10, duration=50, clip_id="k"
    )
    p = edits.split_item(p, "k", 50, new_item_id="k2")
    assert (p.item("k").duration, p.item("k2").in_point, p.item("k2").duration) == (10, 20, 40)


def test_duplicate_goes_to_the_first_place_it_fits(project):
    p = edits.duplicate_item(project, "a", new_item_id="a2")
    assert spans(p, "v1")[-1] == ("a2", 84, 24)  # no room at 24 or in the 12-frame gap
    p = edits.duplicate_item(project, "b", new_item_id="b2", start=90)
    assert spans(p, "v1")[-1] == ("b2", 90, 24)
    refused(project, edits.duplicate_item, "b", new_item_id="b3", start=50, match="overlap")
    small = edits.trim_end(project, "d", 20)
    p = edits.duplicate_item(small, "d", new_item_id="d2", track_id="v1")
    assert p.item("d2").start == 48  # from its own start (10) on v1: first gap that fits
    assert p.shot("d2").prompt == "wide shot of the park"


# --- shot settings ------------------------------------------------------------------------------------------
def test_set_shot_fields(project):
    p = edits.set_shot(
        project,
        "a",
        prompt="a blue ball",
        negative_prompt="blur",
        seed=42,
        seed_locked=True,
        steps=20,
        guidance=5,
        model="wan",
        aspect="9:16",
        start_image="still.png",
    )
    shot = p.shot("a")
    assert (shot.prompt, shot.negative_prompt, shot.seed, shot.seed_locked) == (
        "a blue ball",
        "blur",
        42,
        True,
    )
    assert (shot.steps, shot.guidance, shot.model, shot.aspect, shot.start_image) == (
        20,
        5.0,
        "wan",
        "9:16",
        "still.png",
    )
    assert edits.set_shot(project, "a", prompt=project.shot("a").prompt) is project


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"seed": 2**63}, "seed"),
        ({"steps": 0}, "steps"),
        ({"steps": 201}, "steps"),
        ({"guidance": -1.0}, "Guidance"),
        ({"duration": 30}, "overlap"),
        ({"duration": 0}, "from 1 to"),
        ({"prompt": None}, "text"),
    ],
)
def test_set_shot_refusals(project, changes, match):
    refused(project, edits.set_shot, "a", match=match, **changes)


def test_set_shot_duration_into_empty_space(project):
    assert edits.set_shot(project, "b", duration=36).shot("b").end == 60


def test_set_shot_on_a_clip_is_refused(project):
    p = edits.add_clip(project, "v2", 40, "beach.mov", media_frames=100, clip_id="k")
    refused(p, edits.set_shot, "k", prompt="x", match="your own footage")


# --- takes --------------------------------------------------------------------------------------------------
def test_takes_add_switch_and_delete(project):
    p = edits.add_take(project, "a", take("t1"))
    p = edits.add_take(p, "a", take("t2"))
    assert p.shot("a").current_take == "t2"
    p = edits.add_take(p, "a", take("t3"), make_current=False)
    assert p.shot("a").current_take == "t2"
    p = edits.set_current_take(p, "a", "t1")
    assert p.shot("a").current.id == "t1"
    p = edits.delete_take(p, "a", "t1")  # the shown take: the newest remaining one shows
    assert [t.id for t in p.shot("a").takes] == ["t2", "t3"] and p.shot("a").current_take == "t3"
    p = edits.delete_take(p, "a", "t2")
    p = edits.delete_take(p, "a", "t3")
    assert p.shot("a").current is None and p.shot("a").needs_render
    refused(project, edits.set_current_take, "a", "nope", match="no take")
    refused(project, edits.delete_take, "a", "nope", match="no take")
    with_take = edits.add_take(project, "a", take("t1"))
    refused(with_take, edits.add_take, "a", take("t1"), match="already has")


def test_take_recipes_cannot_be_changed_through_a_reference():
    recipe = {"prompt": "a red ball", "known": [{"position": -4}]}
    t = Take(id="t1", cache_key="k", media_path="k/frames.mkv", frames=8, recipe=recipe)
    recipe["prompt"] = "changed"
    t.recipe["known"].append("changed too")
    assert t.recipe["prompt"] == "a red ball" and t.recipe["known"] == [{"position": -4}]
    assert t.recipe == {"known": [{"position": -4}], "prompt": "a red ball"}
    with pytest.raises(ValueError, match="plain JSON"):
        Take(id="t2", cache_key="k", media_path="k/frames.mkv", frames=8, recipe={"x": object()})
    with pytest.raises(ValueError, match="media folder"):
        Take(id="t3", cache_key="k", media_path="../elsewhere.mkv", frames=8)


# --- staleness ----------------------------------------------------------------------------------------------
def test_a_bridge_goes_stale_when_a_neighbour_changes_take(project):
    p = edits.add_take(project, "b", take("b1"))
    p = edits.add_take(p, "c", take("c1"))
    p = edits.add_bridge(p, "v1", 50, "the ball rolls to the dog", shot_id="br")
    assert not is_stale(p, "br")  # no take yet: nothing to be stale
    p = edits.add_take(p, "br", take("br1", frames=12))
    assert p.shot("br").current.made_from == (("b", "b1"), ("c", "c1"))
    assert not is_stale(p, "br")
    p = edits.add_take(p, "b", take("b2"))
    assert is_stale(p, "br") and stale_neighbours(p, "br") == ("b",) and stale_shots(p) == ("br",)
    p = edits.set_current_take(p, "b", "b1")
    assert not is_stale(p, "br")
    p = edits.delete_take(p, "c", "c1")
    assert stale_neighbours(p, "br") == ("c",)
    p = edits.remove_item(p, "c")
    assert not is_stale(p, "br")  # gone: nothing to re-render from


def test_an_extension_records_the_take_it_was_made_from(project):
    p = edits.add_take(project, "c", take("c1"))
    p = edits.add_extension(p, "c", "forward", 12, shot_id="ext")
    p = edits.add_take(
        p, "ext", take("e1", frames=12, made_from=(("c", "c0"),))
    )  # rendered from an older take
    assert is_stale(p, "ext")


# --- gaps ---------------------------------------------------------------------------------------------------
def test_gaps_are_computed_between_items(project):
    assert gaps(project.track("v1")) == (TimeRange(48, 12),)
    assert gaps(project.track("v2")) == (TimeRange(0, 10),)
    found = find_gaps(project.track("v1"))
    assert (found[0].left, found[0].right, found[0].can_bridge) == ("b", "c", True)
    assert not find_gaps(project.track("v2"))[0].can_bridge
    assert gap_at(project.track("v1"), 59).range == TimeRange(48, 12)
    assert gap_at(project.track("v1"), 60) is None  # inside c
    assert gap_at(project.track("v1"), 500) is None  # after the last item
    assert gaps(edits.add_track(project, track_id="empty").track("empty")) == ()


# --- project and render queue -------------------------------------------------------------------------------
def test_project_format_and_settings(project):
    p = edits.set_project(project, name="Storyboard", width=1280, height=720)
    assert (p.name, p.width, p.height) == ("Storyboard", 1280, 720)
    refused(project, edits.set_project, fps=25, match="before placing shots")
    empty = edits.set_project(Project(), fps="24000/1001")
    assert empty.fps == Fraction(24000, 1001)
    p = edits.set_settings(project, autosave_seconds=120, snapping=False)
    assert (p.settings.autosave_seconds, p.settings.snapping) == (120, False)
    refused(project, edits.set_settings, default_aspect="4:3", match="aspect")
    refused(project, edits.set_settings, media_folder="/abs", match="media folder")
    refused(project, edits.set_project, width=0, match="width")


def test_render_queue_edits(project):
    p = edits.queue_render(project, "a", job_id="j1")
    p = edits.queue_render(p, "b", job_id="j2")
    p = edits.queue_render(p, "c", job_id="j3")
    refused(p, edits.queue_render, "a", match="already waiting")
    refused(p, edits.queue_render, "nope", match="no shot")
    p = edits.reorder_render(p, "j3", 0)
    assert [j.id for j in p.render_queue] == ["j3", "j1", "j2"]
    p = edits.set_render_status(p, "j3", "running")
    p = edits.set_render_status(p, "j3", "failed", "Out of memory")
    job = p.render_queue[0]
    assert (job.status, job.message, job.attempts) == ("failed", "Out of memory", 1)
    refused(p, edits.set_render_status, "j3", "exploded", match="Unknown render status")
    p = edits.remove_render(p, "j1")
    assert [j.id for j in p.render_queue] == ["j3", "j2"]
    refused(p, edits.remove_render, "j1", match="no render job")


# --- any sequence of edits keeps the project valid ----------------------------------------------------------
EDIT = st.one_of(
    st.tuples(st.just("add_shot"), st.sampled_from(["v1", "v2"]), st.integers(-5, 120), st.integers(0, 40)),
    st.tuples(st.just("move"), st.sampled_from("abcd"), st.integers(-5, 120), st.sampled_from(["v1", "v2"])),
    st.tuples(st.just("trim_start"), st.sampled_from("abcd"), st.integers(-5, 120)),
    st.tuples(st.just("trim_end"), st.sampled_from("abcd"), st.integers(-5, 120)),
    st.tuples(st.just("split"), st.sampled_from("abcd"), st.integers(-5, 120)),
    st.tuples(st.just("remove"), st.sampled_from("abcd"), st.booleans()),
    st.tuples(st.just("duplicate"), st.sampled_from("abcd")),
    st.tuples(st.just("bridge"), st.sampled_from(["v1", "v2"]), st.integers(0, 120)),
)


def _apply(p: Project, step: tuple, n: int) -> Project:
    kind, *args = step
    if kind == "add_shot":
        return edits.add_shot(p, args[0], args[1], args[2], "new", shot_id=f"n{n}")
    if kind == "move":
        return edits.move_item(p, args[0], start=args[1], track_id=args[2])
    if kind == "trim_start":
        return edits.trim_start(p, *args)
    if kind == "trim_end":
        return edits.trim_end(p, *args)
    if kind == "split":
        return edits.split_item(p, *args, new_item_id=f"s{n}")
    if kind == "remove":
        return edits.remove_item(p, args[0], ripple=args[1])
    if kind == "duplicate":
        return edits.duplicate_item(p, args[0], new_item_id=f"d{n}")
    return edits.add_bridge(p, args[0], args[1], shot_id=f"b{n}")


@given(steps=st.lists(EDIT, max_size=12))
@settings(max_examples=60, deadline=None)
def test_random_edit_sequences_apply_fully_or_not_at_all(steps):
    p = Project(name="Fuzz")
    p = edits.add_track(edits.add_track(p, track_id="v1"), track_id="v2")
    for name, track, start in (("a", "v1", 0), ("b", "v1", 24), ("c", "v1", 60), ("d", "v2", 10)):
        p = edits.add_shot(p, track, start, 24 if name != "d" else 20, name, shot_id=name)
    for n, step in enumerate(steps):
        before = serialize.dumps(p)
        try:
            after = _apply(p, step, n)
        except EditError:
            assert serialize.dumps(p) == before
            continue
        for track in after.tracks:  # the schema re-checks this on build; check it independently too
            for left, right in itertools.pairwise(track.items):
                assert left.end <= right.start
            assert all(item.start >= 0 and item.duration >= 1 for item in track.items)
        assert serialize.loads(serialize.dumps(after)) == after
        p = after
    assert isinstance(p, Project)


def test_schema_refuses_overlaps_even_without_edits():
    with pytest.raises(ValueError, match="overlaps"):
        from app.document.schema import Track

        Track(
            id="v1", name="V1", items=(Shot(id="a", start=0, duration=10), Shot(id="b", start=5, duration=10))
        )
