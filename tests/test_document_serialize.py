"""Project files: round trips, versions and upgrades, damaged files, and saves that survive failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.document import edits, serialize
from app.document.errors import DocumentError
from app.document.schema import (
    ASPECT_PRESETS,
    ImportedClip,
    Project,
    RenderJob,
    Settings,
    Shot,
    ShotSource,
    Take,
    Track,
)
from app.document.time import COMMON_RATES

ROOT = Path(__file__).resolve().parents[1]

# --- random valid projects --------------------------------------------------------------------------------
JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
ID_TEXT = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,6}", fullmatch=True)
RATES = st.sampled_from(sorted(COMMON_RATES)) | st.fractions(
    min_value=Fraction(1, 10), max_value=240, max_denominator=1001
).filter(lambda r: r > 0)
GUIDANCE = st.none() | st.floats(0.0, 30.0)


@st.composite
def projects(draw) -> Project:
    counter = iter(range(10**6))

    def fresh() -> str:
        return f"{draw(ID_TEXT)}-{next(counter)}"

    all_items: list[str] = []
    shot_ids: list[str] = []
    tracks = []
    for _ in range(draw(st.integers(0, 3))):
        items = []
        cursor = 0
        for _ in range(draw(st.integers(0, 4))):
            cursor += draw(st.integers(0, 30))
            duration = draw(st.integers(1, 120))
            item_id = fresh()
            if draw(st.booleans()):
                takes = []
                for _ in range(draw(st.integers(0, 3))):
                    takes.append(
                        Take(
                            id=fresh(),
                            cache_key=draw(st.text("0123456789abcdef", max_size=24)),
                            media_path=draw(st.from_regex(r"[a-z0-9]{1,8}/frames\.mkv", fullmatch=True)),
                            frames=draw(st.integers(1, 500)),
                            recipe=draw(st.dictionaries(st.text(max_size=8), JSON_VALUE, max_size=4)),
                            created=draw(st.text(max_size=20)),
                            latents_available=draw(st.booleans()),
                            in_point=draw(st.integers(-100, 100)),
                            made_from=tuple(
                                (draw(ID_TEXT), draw(st.text(max_size=6)))
                                for _ in range(draw(st.integers(0, 2)))
                            ),
                        )
                    )
                kind = draw(st.sampled_from(["generate", "extend_forward", "extend_backward", "bridge"]))
                count = {"generate": 0, "extend_forward": 1, "extend_backward": 1, "bridge": 2}[kind]
                item = Shot(
                    id=item_id,
                    start=cursor,
                    duration=duration,
                    prompt=draw(st.text(max_size=40)),
                    negative_prompt=draw(st.text(max_size=10)),
                    seed=draw(st.none() | st.integers(0, 2**63 - 1)),
                    seed_locked=draw(st.booleans()),
                    steps=draw(st.none() | st.integers(1, 200)),
                    guidance=draw(GUIDANCE),
                    model=draw(st.text(min_size=1, max_size=10)),
                    aspect=draw(st.sampled_from(ASPECT_PRESETS)),
                    start_image=draw(st.none() | st.text(min_size=1, max_size=12)),
                    takes=tuple(takes),
                    current_take=draw(st.sampled_from([None, *[t.id for t in takes]])),
                    source=ShotSource(kind, tuple(draw(ID_TEXT) for _ in range(count))),
                )
                shot_ids.append(item_id)
            else:
                in_point = draw(st.integers(0, 50))
                still = draw(st.booleans())
                item = ImportedClip(
                    id=item_id,
                    start=cursor,
                    duration=duration,
                    media_path=draw(st.text(min_size=1, max_size=20)),
                    in_point=in_point,
                    media_frames=None if still else in_point + duration + draw(st.integers(0, 50)),
                )
            all_items.append(item_id)
            items.append(item)
            cursor += duration
        tracks.append(
            Track(
                id=fresh(),
                name=draw(st.text(max_size=10)),
                items=tuple(items),
                muted=draw(st.booleans()),
                hidden=draw(st.booleans()),
            )
        )
    queue = tuple(
        RenderJob(
            id=fresh(),
            shot_id=draw(st.sampled_from(shot_ids)),
            status=draw(st.sampled_from(["queued", "running", "failed", "cancelled", "done"])),
            message=draw(st.text(max_size=20)),
            attempts=draw(st.integers(0, 5)),
        )
        for _ in range(draw(st.integers(0, 3) if shot_ids else st.just(0)))
    )
    return Project(
        name=draw(st.text(max_size=20)),
        fps=draw(RATES),
        width=draw(st.integers(1, 8192)),
        height=draw(st.integers(1, 8192)),
        tracks=tuple(tracks),
        render_queue=queue,
        settings=Settings(
            media_folder=draw(st.from_regex(r"[A-Za-z0-9_]{1,10}", fullmatch=True)),
            default_model=draw(st.text(min_size=1, max_size=10)),
            default_aspect=draw(st.sampled_from(ASPECT_PRESETS)),
            default_shot_frames=draw(st.integers(1, 7200)),
            default_steps=draw(st.none() | st.integers(1, 200)),
            default_guidance=draw(GUIDANCE),
            autosave_seconds=draw(st.integers(0, 3600)),
            snapping=draw(st.booleans()),
        ),
    )


@given(project=projects())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_projects_round_trip_exactly(project):
    text = serialize.dumps(project)
    loaded = serialize.loads(text)
    assert loaded == project
    assert serialize.dumps(loaded) == text


def _schemas(data, found):
    if isinstance(data, dict):
        found.append(data.get("schema"))
        for key, value in data.items():
            if key != "recipe":
                _schemas(value, found)
    elif isinstance(data, list):
        for value in data:
            _schemas(value, found)
    return found


@pytest.fixture
def project() -> Project:
    p = Project(name="Storyboard", fps=Fraction(24000, 1001), width=832, height=480)
    p = edits.add_track(p, track_id="v1")
    p = edits.add_track(p, track_id="v2")
    p = edits.add_shot(p, "v1", 0, 48, "a red ball rolls across the grass", shot_id="ball", seed=7)
    p = edits.add_shot(p, "v1", 72, 48, "a dog catches the ball", shot_id="dog")
    p = edits.add_take(
        p,
        "ball",
        Take(
            id="t1",
            cache_key="3fa91c0b2d4e5f60718293a4",
            media_path="3fa91c0b2d4e5f60718293a4/frames.mkv",
            frames=48,
            recipe={"schema": "GenerationRequest.1", "prompt": "a red ball", "seed": 7, "known": []},
            created="2025-01-01T12:00:00Z",
            latents_available=True,
        ),
    )
    p = edits.add_bridge(p, "v1", 50, "the ball bounces toward the dog", shot_id="bridge")
    p = edits.add_clip(
        p, "v2", 10, "footage/park.mov", media_frames=200, in_point=20, duration=60, clip_id="park"
    )
    return edits.queue_render(p, "dog", job_id="job1")


def test_every_object_in_the_file_carries_its_schema(project):
    data = json.loads(serialize.dumps(project))
    found = _schemas(data, [])
    assert None not in found
    assert {
        "Project.1",
        "Settings.1",
        "Track.1",
        "Shot.1",
        "ShotSource.1",
        "Take.1",
        "ImportedClip.1",
    } <= set(found)
    assert "RenderJob.1" in found
    assert data["fps"] == "24000/1001"


# --- golden files -----------------------------------------------------------------------------------------
# A Project.1 file exactly as this version writes it: it must keep loading, and saving it again must give
# the same bytes (change the format → bump a version and add an upgrade function instead).
GOLDEN_PROJECT_1 = """\
{
  "schema": "Project.1",
  "name": "Golden",
  "fps": "24",
  "width": 832,
  "height": 480,
  "settings": {
    "schema": "Settings.1",
    "media_folder": "media",
    "default_model": "sketch",
    "default_aspect": "16:9",
    "default_shot_frames": 48,
    "default_steps": null,
    "default_guidance": null,
    "autosave_seconds": 60,
    "snapping": true
  },
  "tracks": [
    {
      "schema": "Track.1",
      "id": "v1",
      "name": "V1",
      "kind": "video",
      "muted": false,
      "hidden": false,
      "items": [
        {
          "schema": "Shot.1",
          "id": "ball",
          "start": 0,
          "duration": 48,
          "prompt": "a red ball rolls across the grass",
          "negative_prompt": "blur",
          "seed": 7,
          "seed_locked": true,
          "steps": 20,
          "guidance": 5.0,
          "model": "sketch",
          "aspect": "16:9",
          "start_image": null,
          "source": {
            "schema": "ShotSource.1",
            "kind": "generate",
            "neighbours": []
          },
          "current_take": "t1",
          "takes": [
            {
              "schema": "Take.1",
              "id": "t1",
              "cache_key": "abc",
              "media_path": "abc/frames.mkv",
              "frames": 48,
              "created": "2025-01-01T12:00:00Z",
              "latents_available": true,
              "in_point": 0,
              "made_from": [],
              "recipe": {
                "known": [],
                "prompt": "a red ball rolls across the grass",
                "schema": "GenerationRequest.1",
                "seed": 7
              }
            }
          ]
        },
        {
          "schema": "Shot.1",
          "id": "next",
          "start": 48,
          "duration": 24,
          "prompt": "the ball stops",
          "negative_prompt": "",
          "seed": null,
          "seed_locked": false,
          "steps": null,
          "guidance": null,
          "model": "sketch",
          "aspect": "16:9",
          "start_image": null,
          "source": {
            "schema": "ShotSource.1",
            "kind": "extend_forward",
            "neighbours": [
              "ball"
            ]
          },
          "current_take": "e1",
          "takes": [
            {
              "schema": "Take.1",
              "id": "e1",
              "cache_key": "def",
              "media_path": "def/frames.mkv",
              "frames": 24,
              "created": "2025-01-01T12:05:00Z",
              "latents_available": false,
              "in_point": 0,
              "made_from": [
                [
                  "ball",
                  "t1"
                ]
              ],
              "recipe": {}
            }
          ]
        },
        {
          "schema": "ImportedClip.1",
          "id": "park",
          "start": 100,
          "duration": 60,
          "media_path": "footage/park.mov",
          "in_point": 20,
          "media_frames": 200
        }
      ]
    }
  ],
  "render_queue": [
    {
      "schema": "RenderJob.1",
      "id": "job1",
      "shot_id": "next",
      "status": "failed",
      "message": "Out of memory",
      "attempts": 2
    }
  ]
}
"""

# A Shot.0, from before shots had a negative prompt: loads through the registered Shot.0 → Shot.1 upgrade.
GOLDEN_SHOT_0 = {
    "schema": "Shot.0",
    "id": "old",
    "start": 0,
    "duration": 24,
    "prompt": "an old shot",
    "seed": 1,
    "seed_locked": False,
    "steps": None,
    "guidance": None,
    "model": "sketch",
    "aspect": "16:9",
    "start_image": None,
    "source": {"schema": "ShotSource.1", "kind": "generate", "neighbours": []},
    "current_take": None,
    "takes": [],
}


def test_golden_project_1_loads_and_saves_byte_identical(tmp_path):
    path = tmp_path / "golden.shotline"
    path.write_text(GOLDEN_PROJECT_1, encoding="utf-8")
    project = serialize.load(path)
    ball, follow = project.shot("ball"), project.shot("next")
    assert (ball.negative_prompt, ball.seed, ball.seed_locked, ball.guidance) == ("blur", 7, True, 5.0)
    assert ball.current.recipe["seed"] == 7
    assert follow.source == ShotSource("extend_forward", ("ball",))
    assert follow.current.made_from == (("ball", "t1"),)
    assert project.item("park").in_point == 20
    assert project.render_queue[0].attempts == 2
    assert serialize.dumps(project) == GOLDEN_PROJECT_1


def _golden_with_old_shot() -> dict:
    data = json.loads(GOLDEN_PROJECT_1)
    data["tracks"][0]["items"].append(dict(GOLDEN_SHOT_0, start=200))
    return data


def test_an_older_shot_is_upgraded():
    project = serialize.loads(json.dumps(_golden_with_old_shot()))
    old = project.shot("old")
    assert (old.prompt, old.negative_prompt, old.start) == ("an old shot", "", 200)
    assert json.loads(serialize.dumps(project))["tracks"][0]["items"][-1]["schema"] == "Shot.1"


def test_a_version_without_an_upgrade_path_is_refused():
    data = json.loads(GOLDEN_PROJECT_1)
    data["tracks"][0]["schema"] = "Track.0"
    with pytest.raises(DocumentError, match=r"old format \(Track\.0\)"):
        serialize.loads(json.dumps(data))


def test_upgrade_functions_register_once():
    with pytest.raises(ValueError, match="already registered"):
        serialize.upgrade_function_for("Shot", 0)(lambda data: data)


@pytest.mark.parametrize(
    ("where", "schema"),
    [
        ((), "Project.2"),
        (("tracks", 0, "items", 0), "Shot.2"),
        (("tracks", 0, "items", 0, "takes", 0), "Take.7"),
    ],
)
def test_a_newer_version_is_refused_naming_both_versions(tmp_path, where, schema):
    data = json.loads(GOLDEN_PROJECT_1)
    target = data
    for key in where:
        target = target[key]
    target["schema"] = schema
    kind = schema.split(".")[0]
    path = tmp_path / "newer.shotline"
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    with pytest.raises(DocumentError) as info:
        serialize.load(path)
    assert str(info.value) == (
        f"This project was saved by a newer Shotline ({schema}); this version reads up to {kind}.1. "
        "Update Shotline to open it."
    )
    assert path.read_bytes() == before


# --- damaged files ----------------------------------------------------------------------------------------
def _load_and_check_untouched(path: Path) -> DocumentError:
    before = path.read_bytes()
    stat_before = path.stat()
    with pytest.raises(DocumentError) as info:
        serialize.load(path)
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == stat_before.st_mtime_ns
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # nothing written beside it
    return info.value


def test_every_truncation_is_refused_and_leaves_the_file_alone(tmp_path, project):
    text = serialize.dumps(project).encode()
    path = tmp_path / "cut.shotline"
    for cut in range(0, len(text) - 2, 7):  # the file without its last line break is still complete
        path.write_bytes(text[:cut])
        error = _load_and_check_untouched(path)
        assert "empty" in error.message or "damaged" in error.message


@given(data=st.binary(max_size=200))
@settings(max_examples=100, deadline=None)
def test_random_bytes_are_refused(data):
    with pytest.raises(DocumentError):
        serialize.loads(data, name="random.shotline")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (b"\xff\xfe\x00", "not text"),
        (b"[1, 2]", "not a Shotline project"),
        (b'{"schema": "Storyboard.1"}', "not a Shotline project"),
        (b'{"name": "no schema"}', "not a Shotline project"),
        (b'{"schema": "Project.1", "fps": NaN}', "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
    ],
)
def test_files_that_are_not_projects(tmp_path, content, match):
    path = tmp_path / "bad.shotline"
    path.write_bytes(content)
    assert match in _load_and_check_untouched(path).message


def _paths(data, prefix=()):
    """Every (path, value) in the file's objects, skipping recipe contents (free-form data)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*prefix, key), value
            if key != "recipe":
                yield from _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, index))


def _mutated(path: tuple, change) -> dict:
    data = json.loads(GOLDEN_PROJECT_1)
    target = data
    for key in path[:-1]:
        target = target[key]
    change(target, path[-1])
    return data


GOLDEN_PATHS = [p for p, _ in _paths(json.loads(GOLDEN_PROJECT_1)) if isinstance(p[-1], str)]


@pytest.mark.parametrize("path", GOLDEN_PATHS, ids=lambda p: ".".join(map(str, p)))
def test_every_missing_field_is_a_clear_error(path):
    data = _mutated(path, lambda target, key: target.pop(key))
    with pytest.raises(DocumentError) as info:
        serialize.loads(json.dumps(data), name="golden.shotline")
    message = info.value.message
    assert "damaged" in message or "not a Shotline project" in message
    if path[-1] not in ("schema",) and len(path) > 1:
        assert f"'{path[-1]}'" in message


WRONG_TYPES = {str: 12, int: "12", float: "5", bool: "yes", list: {"a": 1}, dict: [1], type(None): {"x": []}}


@pytest.mark.parametrize("path", GOLDEN_PATHS, ids=lambda p: ".".join(map(str, p)))
def test_every_wrong_type_is_a_clear_error(path):
    original = dict(_paths(json.loads(GOLDEN_PROJECT_1)))[path]
    wrong = WRONG_TYPES[type(original)]
    data = _mutated(path, lambda target, key: target.__setitem__(key, wrong))
    with pytest.raises(DocumentError, match=r"damaged|not a Shotline project|newer"):
        serialize.loads(json.dumps(data))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d["tracks"][0]["items"][1].__setitem__("start", 10), "overlaps"),
        (lambda d: d["tracks"][0]["items"][0].__setitem__("current_take", "ghost"), "does not have"),
        (lambda d: d["tracks"][0]["items"][0].__setitem__("seed", -3), "seed"),
        (lambda d: d["tracks"][0]["items"][0].__setitem__("aspect", "4:3"), "aspect"),
        (lambda d: d.__setitem__("fps", "0"), "frame rate"),
        (lambda d: d.__setitem__("fps", "23.976"), "frame rate"),
        (lambda d: d["render_queue"][0].__setitem__("shot_id", "ghost"), "not in the project"),
        (lambda d: d["tracks"][0]["items"][0]["takes"][0].__setitem__("made_from", [["a"]]), "pairs"),
        (
            lambda d: d["tracks"][0]["items"][0].__setitem__("schema", "Track.1"),
            "should be Shot or ImportedClip",
        ),
        (lambda d: d["tracks"][0]["items"][0].__setitem__("steps", True), "whole number"),
        (
            lambda d: d["tracks"][0]["items"][0]["takes"][0].__setitem__("media_path", "/etc/passwd"),
            "media folder",
        ),
        (lambda d: d["tracks"].append(d["tracks"][0]), "share the id"),
    ],
)
def test_invalid_content_is_a_clear_error(change, match):
    data = json.loads(GOLDEN_PROJECT_1)
    change(data)
    with pytest.raises(DocumentError, match=match) as info:
        serialize.loads(json.dumps(data), name="film.shotline")
    assert info.value.message.startswith("The project file film.shotline is damaged")


def test_missing_and_unreadable_paths(tmp_path):
    with pytest.raises(DocumentError, match="There is no project file"):
        serialize.load(tmp_path / "nowhere.shotline")
    with pytest.raises(DocumentError, match="cannot be read"):
        serialize.load(tmp_path)


# --- saving -----------------------------------------------------------------------------------------------
def _folder(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_save_and_load_equal(tmp_path, project):
    path = tmp_path / "film.shotline"
    assert serialize.save(project, path) == path
    assert serialize.load(path) == project
    assert _folder(path) == ["film.shotline"]  # no backup of a file that did not exist, no temp files


def test_save_keeps_the_previous_version_as_bak(tmp_path, project):
    path = tmp_path / "film.shotline"
    serialize.save(project, path)
    first = path.read_bytes()
    second_project = edits.set_shot(project, "dog", prompt="a cat catches the ball")
    serialize.save(second_project, path)
    assert serialize.backup_path(path).read_bytes() == first
    assert serialize.load(path) == second_project
    serialize.save(edits.set_project(second_project, name="Third"), path)
    assert serialize.load(serialize.backup_path(path)) == second_project
    assert _folder(path) == ["film.shotline", "film.shotline.bak"]


def test_save_keeps_the_file_permissions(tmp_path, project):
    path = tmp_path / "film.shotline"
    serialize.save(project, path)
    os.chmod(path, 0o640)  # on Windows only the read-only bit exists: the mode the OS then reports is kept
    kept = path.stat().st_mode & 0o777
    assert kept == 0o640 or os.name != "posix"
    serialize.save(project, path)
    assert path.stat().st_mode & 0o777 == kept


def test_save_through_a_symlink_updates_the_real_file(tmp_path, project):
    real = tmp_path / "real.shotline"
    serialize.save(project, real)
    link = tmp_path / "link.shotline"
    link.symlink_to(real)
    renamed = edits.set_project(project, name="Renamed")
    assert serialize.save(renamed, link) == real
    assert link.is_symlink() and serialize.load(link) == renamed


def _raise_os_error(*args, **kwargs):
    raise OSError(28, "No space left on device")


def _write_half_then_fail(fd, data):
    os_write(fd, bytes(data[: len(data) // 2]))
    raise OSError(28, "No space left on device")


os_write = os.write


@pytest.mark.parametrize(
    ("target", "replacement", "error"),
    [
        ("json.dumps", lambda *a, **k: (_ for _ in ()).throw(TypeError("boom")), TypeError),
        ("os.write", _write_half_then_fail, DocumentError),
        ("os.fsync", _raise_os_error, DocumentError),
        ("os.link", _raise_os_error, None),  # falls back to copying: the save succeeds
        ("shutil.copyfile", _raise_os_error, None),  # the link works: not needed
        ("os.replace", _raise_os_error, DocumentError),
        ("os.write", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()), KeyboardInterrupt),
    ],
    ids=["dumps", "write-half", "fsync", "link", "copy", "replace", "interrupt"],
)
def test_a_failing_save_leaves_the_old_file_and_no_temp_files(
    tmp_path, project, monkeypatch, target, replacement, error
):
    path = tmp_path / "film.shotline"
    serialize.save(project, path)
    serialize.save(project, path)  # now a .bak exists too
    old, old_backup = path.read_bytes(), serialize.backup_path(path).read_bytes()
    changed = edits.set_project(project, name="Changed")
    module, name = target.split(".")
    monkeypatch.setattr(f"app.document.serialize.{module}.{name}", replacement)
    if error is None:
        serialize.save(changed, path)
        monkeypatch.undo()
        assert serialize.load(path) == changed and serialize.backup_path(path).read_bytes() == old
    else:
        with pytest.raises(error):
            serialize.save(changed, path)
        monkeypatch.undo()
        assert path.read_bytes() == old
        assert serialize.backup_path(path).read_bytes() == old_backup or target == "os.replace"
    assert _folder(path) == ["film.shotline", "film.shotline.bak"]


def test_a_save_error_explains_itself(tmp_path, project, monkeypatch):
    monkeypatch.setattr("app.document.serialize.os.fsync", _raise_os_error)
    with pytest.raises(DocumentError, match="disk may be full") as info:
        serialize.save(project, tmp_path / "film.shotline")
    assert "No space left" in info.value.detail
    assert list(tmp_path.iterdir()) == []


def test_save_into_a_missing_folder_is_a_clear_error(tmp_path, project):
    with pytest.raises(DocumentError, match="Could not save"):
        serialize.save(project, tmp_path / "gone" / "film.shotline")


CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from app.document import serialize, edits
    path, point = sys.argv[1], sys.argv[2]
    project = serialize.load(path)
    real = getattr(os, point)
    def die(*args, **kwargs):
        if point == "write":
            real(args[0], bytes(args[1][:100]))
        os._exit(9)  # the process dies: no cleanup, no exception handlers
    setattr(os, point, die)
    serialize.save(edits.set_project(project, name="Never saved"), path)
    """
)


@pytest.mark.parametrize("point", ["write", "fsync", "link", "replace"])
def test_a_process_killed_while_saving_leaves_a_complete_file(tmp_path, project, point):
    path = tmp_path / "film.shotline"
    serialize.save(project, path)
    serialize.save(project, path)
    old = path.read_bytes()
    result = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(path), point], cwd=ROOT, capture_output=True, timeout=60
    )
    assert result.returncode == 9, result.stderr.decode()
    assert path.read_bytes() == old
    assert serialize.load(path) == project
    assert serialize.load(serialize.backup_path(path)) == project
    serialize.remove_leftover_temp_files(path)
    assert _folder(path) == ["film.shotline", "film.shotline.bak"]


# --- autosave and recovery --------------------------------------------------------------------------------
def test_recovery_is_written_beside_the_project_and_found(tmp_path, project):
    path = tmp_path / "film.shotline"
    serialize.save(project, path)
    assert serialize.find_recovery(path) is None
    unsaved = edits.set_shot(project, "dog", prompt="unsaved work")
    recovery = serialize.write_recovery(unsaved, path)
    assert recovery == tmp_path / "film.shotline.recovery"
    assert serialize.find_recovery(path) == recovery
    assert serialize.load(recovery) == unsaved
    assert serialize.load(path) == project  # autosave never touches the project file
    os.utime(recovery, ns=(1, 1))  # an autosave older than the last save is not offered
    assert serialize.find_recovery(path) is None
    serialize.discard_recovery(path)
    assert not recovery.exists()
    serialize.discard_recovery(path)  # already gone: fine


def test_recovery_of_a_never_saved_project_is_offered(tmp_path, project):
    path = tmp_path / "untitled.shotline"
    serialize.write_recovery(project, path)
    assert serialize.find_recovery(path) == serialize.recovery_path(path)
    assert _folder(serialize.recovery_path(path)) == ["untitled.shotline.recovery"]
