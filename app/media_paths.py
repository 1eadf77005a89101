"""Where a project's rendered takes live: `NAME.media/` beside `NAME.shotline`, or scratch until saved."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

_SCRATCH: Path | None = None


def scratch_folder() -> Path:
    """A per-session media folder for a project that has not been saved yet."""
    global _SCRATCH
    if _SCRATCH is None:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shotline" / "unsaved"
        base.mkdir(parents=True, exist_ok=True)
        _SCRATCH = Path(tempfile.mkdtemp(prefix="project-", dir=base))
    return _SCRATCH


def media_folder(project_path: Path | None) -> Path:
    """The media cache folder of a project file (created on demand by the job queue)."""
    if project_path is None:
        return scratch_folder()
    project_path = Path(project_path)
    return project_path.with_name(project_path.stem + ".media")


def resolve_take(project_path: Path | None, media_path: str) -> Path:
    """The absolute path of a take's `media_path` (relative to the project's media folder)."""
    path = Path(media_path)
    return path if path.is_absolute() else media_folder(project_path) / path


def resolve_clip(project_path: Path | None, media_path: str) -> Path:
    """The absolute path of an imported clip's `media_path` (relative to the project file's folder)."""
    path = Path(media_path).expanduser()
    if path.is_absolute() or project_path is None:
        return path.resolve()
    return Path(project_path).parent / path


def link_takes(source: Path, target: Path, keys: Iterable[str]) -> list[str]:
    """Give `target` the take folders `keys` of `source` (hard links, else copies); returns those now there.

    Takes are immutable once written, so a hard link is as good as a copy. Runs on a worker thread.
    """
    done: list[str] = []
    source, target = Path(source), Path(target)
    for key in keys:
        origin, destination = source / key, target / key
        if destination.is_dir():
            done.append(key)
            continue
        if not origin.is_dir() or source.resolve() == target.resolve():
            continue
        staging = target / f".{key}.linking"
        try:
            target.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            for file in origin.iterdir():
                try:
                    os.link(file, staging / file.name)
                except OSError:
                    shutil.copy2(file, staging / file.name)
            os.replace(staging, destination)
            done.append(key)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
    return done
