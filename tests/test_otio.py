"""OpenTimelineIO: what an NLE sees of the edit, the round trip back, what an NLE's file loses on import."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from conftest import moving_square_clip
from PySide6.QtCore import QSettings

from app.document import Project, edits, serialize
from app.export import export_project, export_settings
from app.export.otio_io import apply_import, link_imported_takes, read_otio
from app.media_paths import media_folder, resolve_take
from engine.media import write_video


@pytest.fixture(scope="module")
def exported(rendered_example, tmp_path_factory):
    path, _, _ = rendered_example
    out = tmp_path_factory.mktemp("otio") / "edit.otio"
    return serialize.load(path), path, export_project(serialize.load(path), path, export_settings(str(out)))


def fresh_project() -> Project:
    project = Project(name="Cut", fps=Fraction(12), width=256, height=144)
    return edits.add_track(edits.add_track(project, "V1", track_id="v1"), "V2", track_id="v2")


def test_an_nle_sees_one_track_per_track_gaps_and_clips_pointing_at_the_takes(exported):
    project, path, result = exported
    timeline = otio.adapters.read_from_file(str(result.path))
    assert [track.name for track in timeline.tracks] == ["V1", "V2"]
    v1 = timeline.tracks[0]
    kinds = [(type(child).__name__, child.duration().to_frames()) for child in v1]
    assert kinds == [("Clip", 36), ("Gap", 24), ("Clip", 36), ("Clip", 36)]
    assert (
        timeline.tracks[1].range_of_child_at_index(1).start_time.to_frames() == 108
    )  # after a 108-frame gap
    clip = v1[2]
    shot = project.shot("shot-2")
    assert clip.media_reference.target_url == resolve_take(path, shot.current.media_path).as_uri()
    assert clip.source_range == otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, 12), otio.opentime.RationalTime(36, 12)
    )
    recipe = clip.metadata["shotline"]
    assert recipe["prompt"] == shot.prompt and recipe["negative_prompt"] == ""
    assert recipe["seed"] == shot.seed and recipe["model"] == "sketch" and recipe["steps"] == 1
    assert timeline.metadata["shotline"]["ai_generated"] is True
    assert result.sidecar.is_file()


def test_round_trip_keeps_order_durations_takes_and_recipes(exported, tmp_path):
    project, _, result = exported
    target = tmp_path / "cut.shotline"  # another folder: the takes are linked into cut.media/
    plan = read_otio(result.path, fresh_project(), target)
    assert plan.problems == () and plan.item_count == 4
    link_imported_takes(plan, target)
    imported = apply_import(fresh_project(), plan)

    def layout(p: Project):
        return [
            (
                track.name,
                [(s.id, s.start, s.duration, s.prompt, s.seed, s.current.recipe) for s in track.items],
            )
            for track in p.tracks
        ]

    assert layout(imported) == layout(project)
    for shot in imported.shots():
        assert resolve_take(target, shot.current.media_path).is_file()
        assert resolve_take(target, shot.current.media_path).parent.parent == media_folder(target)


def nle_timeline(tmp_path: Path) -> Path:
    """An edit as an NLE might send it: a clip, a transition, an effect, a marker, offline media, a nested
    sequence and an audio track."""
    write_video(tmp_path / "beach.mp4", moving_square_clip(20), 12)
    rate = 12

    def rng(start: int, duration: int) -> otio.opentime.TimeRange:
        return otio.opentime.TimeRange(
            otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(duration, rate)
        )

    beach = otio.schema.ExternalReference(target_url=(tmp_path / "beach.mp4").as_uri())
    video = otio.schema.Track(name="Main")
    video.append(otio.schema.Clip(name="beach", media_reference=beach, source_range=rng(5, 10)))
    video.append(otio.schema.Transition(name="dissolve", in_offset=otio.opentime.RationalTime(2, rate),
                                        out_offset=otio.opentime.RationalTime(2, rate)))  # fmt: skip
    graded = otio.schema.Clip(name="graded", media_reference=beach.clone(), source_range=rng(0, 6))
    graded.effects.append(otio.schema.Effect(name="grade", effect_name="ColorCorrect"))
    graded.markers.append(otio.schema.Marker(name="note", marked_range=rng(0, 1)))
    video.append(graded)
    offline = otio.schema.ExternalReference(target_url=(tmp_path / "gone.mov").as_uri())
    video.append(otio.schema.Clip(name="gone", media_reference=offline, source_range=rng(0, 4)))
    nested = otio.schema.Stack(name="comp")
    nested.append(otio.schema.Track(children=[otio.schema.Gap(source_range=rng(0, 3))]))
    video.append(nested)
    video.append(
        otio.schema.Clip(name="slate", media_reference=otio.schema.MissingReference(), source_range=rng(0, 2))
    )
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    audio.append(otio.schema.Clip(name="music", media_reference=beach.clone(), source_range=rng(0, 10)))
    timeline = otio.schema.Timeline(name="From the NLE", tracks=[video, audio])
    path = tmp_path / "nle.otio"
    otio.adapters.write_to_file(timeline, str(path))
    return path


def test_import_places_media_as_clips_and_reports_what_it_cannot_keep(tmp_path):
    plan = read_otio(nle_timeline(tmp_path), fresh_project(), tmp_path / "p.shotline")
    text = "\n".join(plan.problems)
    for expected in ("transition", "effects on “graded”", "markers on “graded”", "gone.mov is missing",
                     "nested sequence (“comp”)", "“slate”", "audio track “A1”"):  # fmt: skip
        assert expected in text, text
    assert len(plan.problems) == 7
    project = apply_import(fresh_project(), plan)
    clips = project.track("v1").items
    assert [(c.media_path, c.start, c.duration, c.in_point, c.media_frames) for c in clips] == [
        ("beach.mp4", 0, 10, 5, 20),  # relative to the project's folder, from its in-point
        ("beach.mp4", 10, 6, 0, 20),  # the transition is gone: a cut
    ]
    assert project.track("v2").items == ()


def test_an_unreadable_file_is_explained(tmp_path):
    bad = tmp_path / "bad.otio"
    bad.write_text("{ not a timeline")
    with pytest.raises(Exception, match="could not be read as an OpenTimelineIO file"):
        read_otio(bad, fresh_project(), None)


def test_import_from_the_file_menu_is_one_undo_step_and_lists_problems(qtbot, tmp_path, monkeypatch, errors,
                                                                      answers):  # fmt: skip
    from app.ui.main_window import MainWindow

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = serialize.save(fresh_project(), tmp_path / "p.shotline")
    win = MainWindow(autosave_ms=0, settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    assert win.open_path(path)
    before = win.document.project
    win.import_otio(nle_timeline(tmp_path))
    assert win.otio_importer.wait_idle()
    assert len(win.document.project.track("v1").items) == 2
    assert win.undo_stack.count() == 1 and win.undo_stack.undoText() == "Import OpenTimelineIO"
    [(title, message, detail)] = errors
    assert title == "Imported with changes" and "• A transition" in message and len(detail.splitlines()) == 7
    win.undo_stack.undo()
    assert win.document.project == before
    win.shutdown()
