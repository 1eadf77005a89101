"""Project files under attack: random documents round-trip exactly; thousands of mutated, truncated and random
files load as a clear error (or as a project that saves back as it loaded) and never change on disk; older
schema versions upgrade; newer ones are refused naming both versions.

What a user could lose here: the project file itself (a load that writes, a file that opens but can no
longer be saved), or hours on an error that does not say what is wrong.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.document import edits, serialize
from app.document.errors import DocumentError
from app.document.schema import Project
from tests.test_document_serialize import GOLDEN_PROJECT_1, JSON_VALUE, projects

NAME = "film.shotline"
FUZZ_CASES = 3000  # per run; ×5 with --runslow
SLOW_LOAD_S = 2.0  # no file, however damaged, may take longer than this to be refused


# --- what every load must do ------------------------------------------------------------------------------
def unclear(error: DocumentError, name: str) -> str | None:
    """Why the error's message is not one a filmmaker can act on (None when it is fine)."""
    message = error.message
    if not message or not isinstance(message, str):
        return "no message"
    if "\n" in message.strip() or len(message) > 600:
        return f"not one short paragraph: {message[:120]!r}"
    if "Traceback" in message or "unexpected content" in message:
        return f"a technical message: {message[:200]!r}"
    newer = message.startswith("This project was saved by a newer Shotline")
    old = message.startswith("This project uses an old format")
    if not (newer or old) and name not in message:
        return f"does not name the file: {message[:200]!r}"
    return None


def check_load(path: Path, area, label: str) -> Project | None:
    """Load `path` as the app does and check the outcome; returns the project when it loaded."""
    before = path.read_bytes()
    stat = path.stat()
    listing = sorted(p.name for p in path.parent.iterdir())
    started = time.perf_counter()
    project = error = None
    try:
        project = serialize.load(path)
    except DocumentError as caught:
        error = caught
    except Exception as crash:  # anything else reaches the user as a crash
        area.fail(f"{label}: {type(crash).__name__} instead of a DocumentError: {crash!s:.200}")
    elapsed = time.perf_counter() - started
    if elapsed > SLOW_LOAD_S:
        area.fail(f"{label}: took {elapsed:.1f} s to load")
    after = path.read_bytes()
    if after != before or path.stat().st_mtime_ns != stat.st_mtime_ns:
        area.lost(abs(len(before) - len(after)) or len(before), f"{label}: loading changed the file")
    if sorted(p.name for p in path.parent.iterdir()) != listing:
        area.fail(f"{label}: loading wrote beside the file")
    if error is not None:
        reason = unclear(error, path.name)
        if reason:
            area.fail(f"{label}: {reason}")
    if project is not None:
        # A file that opens must save back as it opened: nothing in it is lost on the next save.
        try:
            text = serialize.dumps(project)
            again = serialize.loads(text.encode("utf-8"))
        except Exception as failure:
            area.lost(
                len(before), f"{label}: opens but cannot be saved ({type(failure).__name__}: {failure})"
            )
        else:
            if again != project or serialize.dumps(again) != text:
                area.lost(len(before), f"{label}: does not survive a save and reopen")
    return project


# --- base documents to damage -----------------------------------------------------------------------------
def rich_project() -> Project:
    """Every kind of object: tracks, shots with takes, extensions, a bridge, clips, a queue, settings."""
    p = Project(name="Fuzzed storyboard ✂ ünïcode", width=832, height=480)
    p = edits.add_track(p, "V1", track_id="v1")
    p = edits.add_track(p, "V2", track_id="v2")
    p = edits.add_shot(p, "v1", 0, 48, "a red ball rolls across the grass", shot_id="ball", seed=7)
    p = edits.add_shot(p, "v1", 72, 48, "a dog catches the ball", shot_id="dog", negative_prompt="blur")
    from app.document.schema import Take

    take = Take(
        id="t1",
        cache_key="3fa91c0b2d4e5f60718293a4",
        media_path="3fa91c0b2d4e5f60718293a4/frames.mkv",
        frames=48,
        recipe={"schema": "GenerationRequest.1", "prompt": "a red ball", "seed": 7, "known": [[1, 2]]},
        created="2025-01-01T12:00:00Z",
        latents_available=True,
    )
    p = edits.add_take(p, "ball", take)
    p = edits.add_bridge(p, "v1", 50, "the ball bounces toward the dog", shot_id="bridge")
    p = edits.add_clip(
        p, "v2", 10, "footage/park.mov", media_frames=200, in_point=20, duration=60, clip_id="park"
    )
    p = edits.add_clip(p, "v2", 100, "/abs/poster.png", media_frames=None, duration=36, clip_id="still")
    return edits.queue_render(p, "dog", job_id="job1")


BASES = {"golden": GOLDEN_PROJECT_1, "rich": serialize.dumps(rich_project())}

NASTY_VALUES = [
    None, True, False, 0, -1, 1, 2**63, -(2**63) - 1, 10**400, 1e308, -0.0, 0.5, "", "x" * 10_000,
    "\ud800", "bad\udfffend", "Project.1", "Shot.1", "../../etc/passwd", "/abs/path.mkv", "C:\\media\\a.mov",
    "24000/1001", "0", "-24", [], {}, [None], {"schema": "Project.1"}, {"schema": "Shot.1"},
    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
]  # fmt: skip


def _nodes(data, path=()):
    """(path, value) of every node of the JSON tree (recipes included: they are free-form but stored)."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _nodes(value, (*path, index))


def _parent(data, path):
    for key in path[:-1]:
        data = data[key]
    return data


def mutate_structure(text: str, rng: random.Random) -> tuple[str, str]:
    """The project text with one structural change (and what it was)."""
    data = json.loads(text)
    nodes = [(p, v) for p, v in _nodes(data) if p]
    path, value = rng.choice(nodes)
    parent, key = _parent(data, path), path[-1]
    op = rng.randrange(9)
    if op == 0:
        del parent[key]
        what = "removed"
    elif op == 1:
        parent[key] = rng.choice(NASTY_VALUES)
        what = f"set to {parent[key]!r:.30}"
    elif op == 2 and isinstance(value, str) and re.match(r"^[A-Za-z]+\.\d+$", value):
        kind, version = value.split(".")
        parent[key] = rng.choice(
            [f"{kind}.{int(version) + rng.randint(1, 50)}", f"{kind}.0", f"{kind}.-1", f"{kind}.01",
             f"{rng.choice(['Project', 'Shot', 'Take', 'Track', 'Gap', 'Clip'])}.{version}", kind]
        )  # fmt: skip
        what = f"schema {value} → {parent[key]}"
    elif op == 3 and isinstance(value, list) and value:
        value.append(json.loads(json.dumps(rng.choice(value))))  # a duplicate (same ids)
        what = "duplicated an element"
    elif op == 4 and isinstance(value, list) and value:
        value.pop(rng.randrange(len(value)))  # dangling references
        what = "dropped an element"
    elif op == 5 and isinstance(value, int) and not isinstance(value, bool):
        parent[key] = rng.choice([value + 1, value - 1, -value, value * 1000, 0, -1, 7200, 7201, 8192, 8193])
        what = f"{value} → {parent[key]}"
    elif op == 6 and isinstance(value, dict):
        value[rng.choice(["unknown", "schema", "id", "x" * 50])] = rng.choice(NASTY_VALUES)
        what = "added a key"
    elif op == 7 and isinstance(parent, dict):
        parent[str(key) + rng.choice(["_", "s", " "])] = parent.pop(key)
        what = "renamed a key"
    elif op == 8 and isinstance(value, str):
        parent[key] = value[: rng.randrange(len(value) + 1)] + rng.choice(
            ["\u0000", "\u202e", "é", "\ufffd", '"']
        )
        what = "changed text"
    else:
        parent[key] = rng.choice(NASTY_VALUES)
        what = f"set to {parent[key]!r:.30}"
    ascii_only = rng.random() < 0.5
    return json.dumps(data, ensure_ascii=ascii_only), f"{'.'.join(map(str, path))} {what}"


def mutate_bytes(raw: bytes, rng: random.Random) -> tuple[bytes, str]:
    """The file's bytes damaged the way disks, crashes, editors and transfers damage files."""
    n = len(raw)
    op = rng.randrange(10)
    if op == 0:
        cut = rng.randrange(n)
        return raw[:cut], f"truncated at {cut}/{n}"
    if op == 1:
        data = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(n)] ^= 1 << rng.randrange(8)
        return bytes(data), "flipped bits"
    if op == 2:
        at = rng.randrange(n)
        return raw[:at] + rng.randbytes(rng.randint(1, 64)) + raw[at:], f"inserted bytes at {at}"
    if op == 3:
        a = rng.randrange(n)
        b = min(n, a + rng.randint(1, 200))
        return raw[:a] + raw[b:], f"deleted {a}:{b}"
    if op == 4:
        a = rng.randrange(n)
        b = min(n, a + rng.randint(1, 200))
        return raw[:b] + raw[a:b] + raw[b:], f"repeated {a}:{b}"
    if op == 5:
        return rng.randbytes(rng.randint(0, 2000)), "random bytes"
    if op == 6:
        cut = rng.randrange(n)
        return raw[:cut] + b"\x00" * (n - cut), f"zeros from {cut} (a crash on some file systems)"
    if op == 7:
        encoding = rng.choice(["utf-16", "utf-32", "latin-1"])
        return raw.decode("utf-8").encode(encoding, errors="replace"), f"re-encoded as {encoding}"
    if op == 8:
        return raw.replace(b"\n", b"\r\n"), "Windows line endings"
    cut = rng.randrange(n)
    return raw[:cut] + b"\xef\xbb\xbf" + raw[cut:], f"byte-order mark at {cut}"


def test_thousands_of_damaged_files_are_refused_clearly_and_never_changed(tmp_path, ledger, scale):
    rng = random.Random(20251123)
    path = tmp_path / NAME
    cases = FUZZ_CASES * scale
    loaded = 0
    with ledger.area("project files", "mutated, truncated, random files") as area:
        for index in range(cases):
            base = rng.choice(list(BASES.values()))
            if index % 2:
                raw, what = mutate_bytes(base.encode("utf-8"), rng)
            else:
                text, what = mutate_structure(base, rng)
                raw = text.encode("utf-8", errors="surrogatepass")
            path.write_bytes(raw)
            area.tried()
            loaded += check_load(path, area, f"case {index} ({what})") is not None
    assert 0 < loaded < cases  # the fuzzer reaches both outcomes: it is neither too gentle nor too rough


def test_known_harmless_changes_still_open(tmp_path, ledger):
    """Files a filmmaker's tools make from a good project: they must open as that project."""
    project = serialize.loads(GOLDEN_PROJECT_1)
    raw = GOLDEN_PROJECT_1.encode("utf-8")
    variants = {
        "Windows line endings": raw.replace(b"\n", b"\r\n"),
        "byte-order mark (Notepad)": b"\xef\xbb\xbf" + raw,
        "minified": json.dumps(json.loads(raw)).encode(),
        "ASCII escapes": json.dumps(json.loads(raw), ensure_ascii=True).encode(),
        "trailing blank lines": raw + b"\n\n\n",
        "keys reordered": json.dumps(dict(reversed(list(json.loads(raw).items())))).encode(),
    }
    path = tmp_path / NAME
    with ledger.area("project files", "harmless edits still open") as area:
        for what, content in variants.items():
            path.write_bytes(content)
            area.tried()
            if check_load(path, area, what) != project:
                area.fail(f"{what}: does not open as the same project")


def test_random_valid_projects_round_trip_through_the_disk(tmp_path_factory, ledger, scale):
    folder = tmp_path_factory.mktemp("roundtrip")
    area = ledger.get("project files", "random valid projects save/load exactly")

    @settings(max_examples=40 * scale, deadline=None, suppress_health_check=list(HealthCheck))
    @given(first=projects(), second=projects())
    def round_trip(first, second):
        path = folder / NAME
        area.tried()
        serialize.save(first, path)
        assert serialize.load(path) == first
        written = path.read_bytes()
        serialize.save(second, path)  # the second save keeps the first as the backup, byte for byte
        assert serialize.load(path) == second
        assert serialize.backup_path(path).read_bytes() == written
        assert serialize.dumps(serialize.load(path)).encode() == path.read_bytes()
        assert sorted(p.name for p in folder.iterdir()) == [NAME, NAME + ".bak"]

    try:
        round_trip()
    except BaseException as error:
        area.fail(f"{type(error).__name__}: {error!s:.300}")
        raise


def test_any_value_anywhere_loads_cleanly_or_is_refused_clearly(tmp_path_factory, ledger, scale):
    """Hypothesis puts arbitrary JSON at arbitrary places of a real file (and shrinks what breaks it)."""
    folder = tmp_path_factory.mktemp("anyvalue")
    base = json.loads(BASES["rich"])
    paths = [p for p, _ in _nodes(base) if p]
    area = ledger.get("project files", "arbitrary JSON at any place")
    problems: list[str] = []

    @settings(max_examples=150 * scale, deadline=None, suppress_health_check=list(HealthCheck))
    @given(where=st.sampled_from(paths), value=JSON_VALUE | st.sampled_from(NASTY_VALUES))
    def replace(where, value):
        data = json.loads(BASES["rich"])
        _parent(data, where)[where[-1]] = value
        path = folder / NAME
        path.write_bytes(json.dumps(data, ensure_ascii=False).encode("utf-8", errors="surrogatepass"))
        area.tried()
        before = len(area.failures)
        check_load(path, area, f"{'.'.join(map(str, where))} = {value!r:.40}")
        if len(area.failures) > before:
            problems.append(area.failures[-1])
            raise AssertionError(area.failures[-1])  # lets hypothesis shrink to the smallest such value

    with contextlib.suppress(AssertionError):  # recorded in the ledger; reported below
        replace()
    assert not problems, problems[-1]


# --- versions ---------------------------------------------------------------------------------------------
def _objects(data):
    """Every versioned object in a project's JSON (recipes are free-form and carry their own schema)."""
    if isinstance(data, dict):
        if "schema" in data:
            yield data
        for key, value in data.items():
            if key != "recipe":
                yield from _objects(value)
    elif isinstance(data, list):
        for value in data:
            yield from _objects(value)


def test_older_shots_upgrade_and_the_file_is_only_rewritten_on_save(tmp_path_factory, ledger, scale):
    folder = tmp_path_factory.mktemp("upgrade")
    area = ledger.get("project files", "older versions upgrade")

    @settings(max_examples=30 * scale, deadline=None, suppress_health_check=list(HealthCheck))
    @given(project=projects())
    def upgrade(project):
        area.tried()
        data = json.loads(serialize.dumps(project))
        shots = [o for o in _objects(data) if o["schema"] == "Shot.1"]
        for shot in shots:  # as the first drafts of the format wrote them: no negative prompt
            shot["schema"] = "Shot.0"
            del shot["negative_prompt"]
        expected = project
        for shot in project.shots():
            expected = edits.set_shot(expected, shot.id, negative_prompt="")
        path = folder / NAME
        old = json.dumps(data, indent=1).encode()
        path.write_bytes(old)
        loaded = serialize.load(path)
        assert loaded == expected
        assert path.read_bytes() == old  # opening never rewrites the file
        serialize.save(loaded, path)
        assert serialize.backup_path(path).read_bytes() == old  # the old-format file is kept as the backup
        saved = json.loads(path.read_text())
        assert all(
            o["schema"] in {f"{k}.{v}" for k, v in serialize.CURRENT_VERSIONS.items()}
            for o in _objects(saved)
        )

    try:
        upgrade()
    except BaseException as error:
        area.fail(f"{type(error).__name__}: {error!s:.300}")
        raise


def test_a_newer_version_of_any_object_is_refused_naming_both_versions(tmp_path_factory, ledger, scale):
    folder = tmp_path_factory.mktemp("newer")
    area = ledger.get("project files", "newer versions refused")

    @settings(max_examples=40 * scale, deadline=None, suppress_health_check=list(HealthCheck))
    @given(project=projects(), pick=st.randoms(use_true_random=False), ahead=st.integers(1, 10**6))
    def newer(project, pick, ahead):
        data = json.loads(serialize.dumps(project))
        target = pick.choice(list(_objects(data)))
        kind = target["schema"].split(".")[0]
        current = serialize.CURRENT_VERSIONS[kind]
        target["schema"] = f"{kind}.{current + ahead}"
        path = folder / NAME
        raw = json.dumps(data).encode()
        path.write_bytes(raw)
        area.tried()
        try:
            serialize.load(path)
        except DocumentError as error:
            assert f"({kind}.{current + ahead})" in error.message, error.message
            assert f"reads up to {kind}.{current}." in error.message, error.message
            assert "Update Shotline" in error.message
        else:
            raise AssertionError(f"{kind}.{current + ahead} was opened")
        assert path.read_bytes() == raw

    try:
        newer()
    except BaseException as error:
        area.fail(f"{type(error).__name__}: {error!s:.300}")
        raise


# --- the largest values a file may hold -------------------------------------------------------------------
def _extreme_project() -> Project:
    """Every frame number and interval at the largest value a project file may hold."""
    from app.document.schema import MAX_AUTOSAVE_SECONDS, MAX_FRAME, MAX_SHOT_FRAMES, Take

    p = Project(name="extremes", width=8192, height=8192)
    p = edits.set_settings(p, autosave_seconds=MAX_AUTOSAVE_SECONDS)
    p = edits.add_track(p, "V1", track_id="v1")
    p = edits.add_track(p, "V2", track_id="v2")
    p = edits.add_shot(p, "v1", MAX_FRAME - MAX_SHOT_FRAMES, MAX_SHOT_FRAMES, "the last shot", shot_id="last")
    take = Take(id="t", cache_key="k", media_path="k/frames.mkv", frames=MAX_FRAME, in_point=-MAX_FRAME)
    p = edits.add_take(p, "last", take)
    duration = MAX_FRAME // 2
    return edits.add_clip(
        p, "v2", MAX_FRAME // 2, "long.mov", media_frames=MAX_FRAME, in_point=MAX_FRAME - duration,
        duration=duration, clip_id="long",
    )  # fmt: skip


def test_the_largest_values_a_file_may_hold_open_in_the_window(tmp_path, make_window, errors, ledger, qtbot):
    """A file holds only what the app can show: the largest values open; one more is refused, not a crash."""
    path = tmp_path / NAME
    largest = _extreme_project()
    data = json.loads(serialize.dumps(largest))
    beyond = {
        "start of a shot": ("tracks", 0, "items", 0, "start"),
        "start of a clip": ("tracks", 1, "items", 0, "start"),
        "length of a clip": ("tracks", 1, "items", 0, "duration"),
        "length of the clip's media": ("tracks", 1, "items", 0, "media_frames"),
        "frames in a take": ("tracks", 0, "items", 0, "takes", 0, "frames"),
        "autosave interval": ("settings", "autosave_seconds"),
    }
    with ledger.area("project files", "largest values open in the window") as area:
        serialize.save(largest, path)
        window = make_window(autosave_ms=None)
        window.show()
        area.tried()
        if not window.open_path(path) or errors:
            area.fail(f"the largest allowed values did not open: {errors}")
        window.timeline.centerOn(window.timeline.sceneRect().right(), 0)  # paint the far end too
        qtbot.wait(200)  # layout and paint happen: an exception there fails the test (pytest-qt)
        for what, where in beyond.items():
            changed = json.loads(json.dumps(data))
            _parent(changed, where)[where[-1]] += 1
            path.write_text(json.dumps(changed))
            errors.clear()
            area.tried()
            if window.open_path(path):
                area.fail(f"{what} one past the largest value was opened")
            elif not errors or "damaged" not in errors[0][1]:
                area.fail(f"{what} one past the largest value: no clear message ({errors})")
