"""Project files: JSON with a schema version on every object, upgrade functions, crash-safe saving.

A `.shotline` file is UTF-8 JSON. Every object carries `"schema": "Kind.N"` (`Project.1`, `Track.1`,
`Shot.1`, `Take.1`…), so each kind evolves on its own:

- a newer version than this Shotline knows is refused with a `DocumentError` naming both versions;
- an older one goes through the registered dict → dict upgrade functions, one version at a time
  (`@upgrade_function_for("Shot", 0)` turns a `Shot.0` into a `Shot.1`);
- anything damaged (not JSON, truncated, a missing field, a wrong type, overlapping shots) gives a
  `DocumentError` that says what is wrong, never a raw `KeyError`. Reading never writes to disk.

`save` writes a temporary file beside the project, flushes and fsyncs it, keeps the previous file
as `NAME.shotline.bak`, then renames the new file over the old one and fsyncs the folder: at every
moment the project file on disk is either the complete old version or the complete new one.
`write_recovery` autosaves the same way to `NAME.shotline.recovery`; `find_recovery` offers it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.document.errors import DocumentError
from app.document.schema import (
    ImportedClip,
    Item,
    Project,
    RenderJob,
    Settings,
    Shot,
    ShotSource,
    Take,
    Track,
)
from app.document.time import parse_rate

SUFFIX = ".shotline"
BACKUP_SUFFIX = ".bak"
RECOVERY_SUFFIX = ".recovery"
TEMP_SUFFIX = ".saving"

# The version of each kind of object this Shotline writes (and the newest it reads).
CURRENT_VERSIONS: dict[str, int] = {
    "Project": 1,
    "Settings": 1,
    "Track": 1,
    "Shot": 1,
    "ShotSource": 1,
    "Take": 1,
    "ImportedClip": 1,
    "RenderJob": 1,
}

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]
_UPGRADES: dict[tuple[str, int], Upgrade] = {}
_SCHEMA = re.compile(r"^([A-Za-z]+)\.(\d+)$")


def upgrade_function_for(kind: str, from_version: int) -> Callable[[Upgrade], Upgrade]:
    """Register a function that turns a `kind.from_version` dict into a `kind.(from_version + 1)` dict.

    The function gets a copy it may change and returns the new dict; the loader sets its "schema".
    """

    def register(function: Upgrade) -> Upgrade:
        key = (kind, from_version)
        if key in _UPGRADES:
            raise ValueError(f"An upgrade from {kind}.{from_version} is already registered")
        _UPGRADES[key] = function
        return function

    return register


@upgrade_function_for("Shot", 0)
def _shot_0_to_1(data: dict[str, Any]) -> dict[str, Any]:
    """Shot.0 (the first drafts of the format) had no negative prompt."""
    data.setdefault("negative_prompt", "")
    return data


# --- writing ----------------------------------------------------------------------------------------------
def _schema(kind: str) -> str:
    return f"{kind}.{CURRENT_VERSIONS[kind]}"


def _take_to_dict(take: Take) -> dict[str, Any]:
    return {
        "schema": _schema("Take"),
        "id": take.id,
        "cache_key": take.cache_key,
        "media_path": take.media_path,
        "frames": take.frames,
        "created": take.created,
        "latents_available": take.latents_available,
        "in_point": take.in_point,
        "made_from": [list(pair) for pair in take.made_from],
        "recipe": take.recipe.to_dict(),
    }


def _item_to_dict(item: Item) -> dict[str, Any]:
    if isinstance(item, ImportedClip):
        return {
            "schema": _schema("ImportedClip"),
            "id": item.id,
            "start": item.start,
            "duration": item.duration,
            "media_path": item.media_path,
            "in_point": item.in_point,
            "media_frames": item.media_frames,
        }
    return {
        "schema": _schema("Shot"),
        "id": item.id,
        "start": item.start,
        "duration": item.duration,
        "prompt": item.prompt,
        "negative_prompt": item.negative_prompt,
        "seed": item.seed,
        "seed_locked": item.seed_locked,
        "steps": item.steps,
        "guidance": item.guidance,
        "model": item.model,
        "aspect": item.aspect,
        "start_image": item.start_image,
        "source": {
            "schema": _schema("ShotSource"),
            "kind": item.source.kind,
            "neighbours": list(item.source.neighbours),
        },
        "current_take": item.current_take,
        "takes": [_take_to_dict(take) for take in item.takes],
    }


def to_dict(project: Project) -> dict[str, Any]:
    """The project as plain JSON-ready data, every object tagged with its schema version."""
    settings = project.settings
    return {
        "schema": _schema("Project"),
        "name": project.name,
        "fps": str(project.fps),
        "width": project.width,
        "height": project.height,
        "settings": {
            "schema": _schema("Settings"),
            "media_folder": settings.media_folder,
            "default_model": settings.default_model,
            "default_aspect": settings.default_aspect,
            "default_shot_frames": settings.default_shot_frames,
            "default_steps": settings.default_steps,
            "default_guidance": settings.default_guidance,
            "autosave_seconds": settings.autosave_seconds,
            "snapping": settings.snapping,
        },
        "tracks": [
            {
                "schema": _schema("Track"),
                "id": track.id,
                "name": track.name,
                "kind": track.kind,
                "muted": track.muted,
                "hidden": track.hidden,
                "items": [_item_to_dict(item) for item in track.items],
            }
            for track in project.tracks
        ],
        "render_queue": [
            {
                "schema": _schema("RenderJob"),
                "id": job.id,
                "shot_id": job.shot_id,
                "status": job.status,
                "message": job.message,
                "attempts": job.attempts,
            }
            for job in project.render_queue
        ],
    }


def dumps(project: Project) -> str:
    """The project file's text."""
    return json.dumps(to_dict(project), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# --- reading ----------------------------------------------------------------------------------------------
_MISSING: Any = object()
_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # JSON's only way to spell a lone surrogate
_TYPE_NAMES = {
    int: "a whole number",
    float: "a number",
    str: "text",
    bool: "true or false",
    list: "a list",
    dict: "an object",
}


class _Reader:
    """Reads one versioned object: checks its schema, upgrades it, and hands out typed fields."""

    def __init__(self, decoder: _Decoder, data: Any, kinds: tuple[str, ...], where: str) -> None:
        self.decoder = decoder
        self.where = where
        if not isinstance(data, dict):
            raise decoder.damaged(f"{where} should be an object but is {_describe_value(data)}")
        schema = data.get("schema", _MISSING)
        if schema is _MISSING:
            raise decoder.damaged(f"{where} has no schema version")
        match = _SCHEMA.match(schema) if isinstance(schema, str) else None
        if match is None or match[1] not in kinds:
            raise decoder.damaged(f"{where} should be {' or '.join(kinds)} but says it is {schema!r}")
        self.kind, version = match[1], int(match[2])
        self.data = _upgrade(data, self.kind, version)

    def get(self, key: str, kind: type, *, nullable: bool = False) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            raise self.decoder.damaged(f"{self.where} has no '{key}'")
        if value is None and nullable:
            return None
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            try:
                ok, value = True, float(value)
            except OverflowError as error:
                problem = f"{self.where}: '{key}' is far too large ({len(str(value))} digits)"
                raise self.decoder.damaged(problem) from error
        if not ok:
            wanted = _TYPE_NAMES[kind] + (" or null" if nullable else "")
            raise self.decoder.damaged(
                f"{self.where}: '{key}' should be {wanted}, not {_describe_value(value)}"
            )
        return value

    def build(self, cls: type, **fields: Any) -> Any:
        try:
            return cls(**fields)
        except ValueError as error:
            raise self.decoder.damaged(f"{self.where} is not valid: {error}") from error


def _shorten_words(text: str, longest: int = 60) -> str:
    """`text` with every run of more than `longest` non-blank characters cut short (a damaged file can hold
    a 10,000-character id; the message names it, the detail keeps it whole)."""
    return re.sub(rf"\S{{{longest + 1},}}", lambda m: m[0][: longest - 1] + "…", text)


def _first_unencodable(data: Any, where: str = "") -> str | None:
    """Where the first text that cannot be written as UTF-8 (a lone surrogate from a `\\udXXX` escape) is."""
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            return where or "the top level"
    elif isinstance(data, dict):
        for key, value in data.items():
            here = f"{where}.{key.encode('utf-8', 'backslashreplace').decode()}".lstrip(".")
            found = _first_unencodable(key, here) or _first_unencodable(value, here)
            if found:
                return found
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found = _first_unencodable(value, f"{where}[{index}]")
            if found:
                return found
    return None


def _describe_value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _upgrade(data: dict[str, Any], kind: str, version: int) -> dict[str, Any]:
    current = CURRENT_VERSIONS[kind]
    if version > current:
        raise DocumentError(
            f"This project was saved by a newer Shotline ({kind}.{version}); this version reads up to "
            f"{kind}.{current}. Update Shotline to open it.",
        )
    while version < current:
        function = _UPGRADES.get((kind, version))
        if function is None:
            raise DocumentError(
                f"This project uses an old format ({kind}.{version}) that this Shotline cannot convert "
                f"to {kind}.{current}.",
            )
        data = function(dict(data))
        version += 1
    return {**data, "schema": f"{kind}.{current}"}


class _Decoder:
    def __init__(self, name: str) -> None:
        self.name = name

    def damaged(self, problem: str) -> DocumentError:
        what = f"The project file {self.name}" if self.name else "The project file"
        return DocumentError(f"{what} is damaged and cannot be opened: {_shorten_words(problem)}.", problem)

    def project(self, data: Any) -> Project:
        if not isinstance(data, dict) or not str(data.get("schema", "")).startswith("Project."):
            what = self.name or "This file"
            raise DocumentError(f"{what} is not a Shotline project.", f"top level: {_describe_value(data)}")
        r = _Reader(self, data, ("Project",), "the project")
        fps_value = r.get("fps", str)
        try:
            fps = parse_rate(fps_value)
        except ValueError as error:
            raise self.damaged(f"the frame rate {fps_value!r} is not valid") from error
        tracks = [self.track(value, i) for i, value in enumerate(r.get("tracks", list))]
        queue = [self.job(value, i) for i, value in enumerate(r.get("render_queue", list))]
        return r.build(
            Project,
            name=r.get("name", str),
            fps=fps,
            width=r.get("width", int),
            height=r.get("height", int),
            tracks=tuple(tracks),
            render_queue=tuple(queue),
            settings=self.settings(r.get("settings", dict)),
        )

    def settings(self, data: Any) -> Settings:
        r = _Reader(self, data, ("Settings",), "the project settings")
        return r.build(
            Settings,
            media_folder=r.get("media_folder", str),
            default_model=r.get("default_model", str),
            default_aspect=r.get("default_aspect", str),
            default_shot_frames=r.get("default_shot_frames", int),
            default_steps=r.get("default_steps", int, nullable=True),
            default_guidance=r.get("default_guidance", float, nullable=True),
            autosave_seconds=r.get("autosave_seconds", int),
            snapping=r.get("snapping", bool),
        )

    def track(self, data: Any, index: int) -> Track:
        r = _Reader(self, data, ("Track",), f"track {index + 1}")
        track_id = r.get("id", str)
        r.where = f"track {track_id!r}"
        items = [self.item(value, track_id, i) for i, value in enumerate(r.get("items", list))]
        return r.build(
            Track,
            id=track_id,
            name=r.get("name", str),
            kind=r.get("kind", str),
            items=tuple(items),
            muted=r.get("muted", bool),
            hidden=r.get("hidden", bool),
        )

    def item(self, data: Any, track_id: str, index: int) -> Item:
        r = _Reader(self, data, ("Shot", "ImportedClip"), f"item {index + 1} on track {track_id!r}")
        item_id = r.get("id", str)
        if r.kind == "ImportedClip":
            r.where = f"clip {item_id!r} on track {track_id!r}"
            return r.build(
                ImportedClip,
                id=item_id,
                start=r.get("start", int),
                duration=r.get("duration", int),
                media_path=r.get("media_path", str),
                in_point=r.get("in_point", int),
                media_frames=r.get("media_frames", int, nullable=True),
            )
        r.where = f"shot {item_id!r} on track {track_id!r}"
        takes = [self.take(value, item_id, i) for i, value in enumerate(r.get("takes", list))]
        return r.build(
            Shot,
            id=item_id,
            start=r.get("start", int),
            duration=r.get("duration", int),
            prompt=r.get("prompt", str),
            negative_prompt=r.get("negative_prompt", str),
            seed=r.get("seed", int, nullable=True),
            seed_locked=r.get("seed_locked", bool),
            steps=r.get("steps", int, nullable=True),
            guidance=r.get("guidance", float, nullable=True),
            model=r.get("model", str),
            aspect=r.get("aspect", str),
            start_image=r.get("start_image", str, nullable=True),
            takes=tuple(takes),
            current_take=r.get("current_take", str, nullable=True),
            source=self.source(r.get("source", dict), item_id),
        )

    def source(self, data: Any, shot_id: str) -> ShotSource:
        r = _Reader(self, data, ("ShotSource",), f"the source of shot {shot_id!r}")
        neighbours = r.get("neighbours", list)
        if not all(isinstance(n, str) for n in neighbours):
            raise self.damaged(f"{r.where}: 'neighbours' should be a list of ids")
        return r.build(ShotSource, kind=r.get("kind", str), neighbours=tuple(neighbours))

    def take(self, data: Any, shot_id: str, index: int) -> Take:
        r = _Reader(self, data, ("Take",), f"take {index + 1} of shot {shot_id!r}")
        take_id = r.get("id", str)
        r.where = f"take {take_id!r} of shot {shot_id!r}"
        made_from = r.get("made_from", list)
        if not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in made_from
        ):
            raise self.damaged(f"{r.where}: 'made_from' should be a list of [shot id, take id] pairs")
        return r.build(
            Take,
            id=take_id,
            cache_key=r.get("cache_key", str),
            media_path=r.get("media_path", str),
            frames=r.get("frames", int),
            recipe=r.get("recipe", dict),
            created=r.get("created", str),
            latents_available=r.get("latents_available", bool),
            in_point=r.get("in_point", int),
            made_from=tuple(tuple(p) for p in made_from),
        )

    def job(self, data: Any, index: int) -> RenderJob:
        r = _Reader(self, data, ("RenderJob",), f"render job {index + 1}")
        return r.build(
            RenderJob,
            id=r.get("id", str),
            shot_id=r.get("shot_id", str),
            status=r.get("status", str),
            message=r.get("message", str),
            attempts=r.get("attempts", int),
        )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a project file")


def from_dict(data: Any, *, name: str = "") -> Project:
    """A Project from parsed JSON data (upgrading older objects); `DocumentError` if it is not valid."""
    decoder = _Decoder(name)
    try:
        return decoder.project(data)
    except DocumentError:
        raise
    except (KeyError, TypeError, AttributeError, IndexError, ValueError, RecursionError) as error:
        # Every known problem is reported above; this keeps an unforeseen one a message, not a crash.
        raise decoder.damaged(f"unexpected content ({type(error).__name__}: {error})") from error


def loads(text: str | bytes, *, name: str = "") -> Project:
    """A Project from a project file's text or bytes; `DocumentError` if it cannot be read."""
    what = f"The project file {name}" if name else "The project file"
    if isinstance(text, bytes):
        if not text.strip():
            raise DocumentError(f"{what} is empty: it may have been cut short by a crash or a full disk.")
        try:
            text = text.decode("utf-8-sig")  # a byte-order mark (Notepad adds one) is not part of the text
        except UnicodeDecodeError as error:
            raise DocumentError(f"{what} is not a Shotline project (it is not text).", repr(error)) from error
    if not text.strip():
        raise DocumentError(f"{what} is empty: it may have been cut short by a crash or a full disk.")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        hint = f" The previous version may be in {name}{BACKUP_SUFFIX}." if name else ""
        raise DocumentError(
            f"{what} is damaged or incomplete and cannot be opened (it is not valid JSON).{hint}",
            repr(error),
        ) from error
    if _LONE_SURROGATE_ESCAPE.search(text):
        try:
            where = _first_unencodable(data)
        except RecursionError:
            where = "a deeply nested value"
        if where is not None:  # it would open, but could never be saved again
            raise _Decoder(name).damaged(f"the text at {where} holds a character that is not valid Unicode")
    return from_dict(data, name=name)


def load(path: str | os.PathLike[str]) -> Project:
    """Read a project file. Raises `DocumentError` with a clear message; never changes the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as error:
        raise DocumentError(f"There is no project file at {path}.", repr(error)) from error
    except OSError as error:
        raise DocumentError(
            f"The project file {path.name} cannot be read: {error.strerror}.", repr(error)
        ) from error
    return loads(data, name=path.name)


# --- saving -----------------------------------------------------------------------------------------------
def backup_path(path: str | os.PathLike[str]) -> Path:
    """`NAME.shotline.bak`: the version before the last save."""
    path = Path(path)
    return path.with_name(path.name + BACKUP_SUFFIX)


def recovery_path(path: str | os.PathLike[str]) -> Path:
    """`NAME.shotline.recovery`: the latest autosave."""
    path = Path(path)
    return path.with_name(path.name + RECOVERY_SUFFIX)


def save(project: Project, path: str | os.PathLike[str]) -> Path:
    """Save the project to `path`, never leaving a partial file; the old file becomes `NAME.shotline.bak`.

    Steps: serialise (nothing touched yet) → write `.NAME.xxxx.saving` in the same folder → flush +
    fsync → link (or copy) the old file to the backup → rename the new file over `path` → fsync the
    folder. A failure at any step leaves `path` as it was and removes the temporary file.
    Returns the path written (symlinks are followed, so a linked project is updated where it lives).
    """
    target = Path(os.path.realpath(path)) if Path(path).is_symlink() else Path(path)
    _write_atomically(target, _encode(project, target), keep_backup=True)
    return target


def write_recovery(project: Project, path: str | os.PathLike[str]) -> Path:
    """Autosave: write the project to `NAME.shotline.recovery` beside `path`, atomically, and return it."""
    target = recovery_path(path)
    _write_atomically(target, _encode(project, target), keep_backup=False)
    return target


def _encode(project: Project, target: Path) -> bytes:
    try:
        return dumps(project).encode("utf-8")
    except UnicodeEncodeError as error:
        raise DocumentError(
            f"Could not save {target.name}: some text in the project holds a character that is not valid "
            "Unicode. Retype the prompt or name you last pasted; the file on disk was not changed.",
            repr(error),
        ) from error


def find_recovery(path: str | os.PathLike[str]) -> Path | None:
    """The autosave to offer when opening `path`: its recovery file, if there is one no older than `path`."""
    path = Path(path)
    recovery = recovery_path(path)
    try:
        recovered = recovery.stat()
    except OSError:
        return None
    if not stat.S_ISREG(recovered.st_mode):
        return None
    try:
        saved = path.stat()
    except OSError:
        return recovery  # never saved (or the file is gone): the autosave is all there is
    return recovery if recovered.st_mtime_ns >= saved.st_mtime_ns else None


def discard_recovery(path: str | os.PathLike[str]) -> None:
    """Remove the autosave of `path` (after a save, or when the filmmaker declines recovery)."""
    try:
        recovery_path(path).unlink()
    except FileNotFoundError:
        pass
    except OSError as error:
        raise DocumentError(
            f"Could not remove the autosave {recovery_path(path).name}.", repr(error)
        ) from error


def remove_leftover_temp_files(path: str | os.PathLike[str], older_than: float = 0.0) -> int:
    """Delete temporary files a crash during saving left beside `path`; returns how many.

    `older_than` (seconds) spares files a save running right now (another window) may still rename.
    """
    path = Path(path)
    now = time.time()
    removed = 0
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return 0
    for entry in entries:  # .NAME.shotline[.bak|.recovery].<random>.saving
        if entry.name.startswith(f".{path.name}.") and entry.name.endswith(TEMP_SUFFIX):
            try:
                if older_than and now - entry.stat().st_mtime < older_than:
                    continue
                entry.unlink()
                removed += 1
            except OSError:
                pass
    return removed


def _temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def _write_atomically(target: Path, data: bytes, *, keep_backup: bool) -> None:
    folder = target.parent
    temp = _temp_name(target)
    created = False
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        created = True
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.chmod(temp, stat.S_IMODE(target.stat().st_mode))  # keep the old file's permissions
        if keep_backup and target.exists():
            _keep_backup(target)
        os.replace(temp, target)
    except BaseException as error:
        if created:
            _remove_quietly(temp)
        if isinstance(error, OSError):
            raise DocumentError(
                f"Could not save {target.name}: {error.strerror or error}. The disk may be full or the "
                "folder read-only; the file on disk was not changed.",
                repr(error),
            ) from error
        raise
    _fsync_folder(folder)


def _keep_backup(target: Path) -> None:
    backup = backup_path(target)
    staging = _temp_name(backup)
    try:
        try:
            os.link(target, staging)  # the old file itself becomes the backup: instant, no copy
        except (OSError, AttributeError, NotImplementedError):
            _remove_quietly(staging)
            shutil.copyfile(target, staging)
            with open(staging, "rb+") as copied:
                os.fsync(copied.fileno())
        os.replace(staging, backup)
    except BaseException:
        _remove_quietly(staging)
        raise


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: Windows and some network drives cannot fsync a folder)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
