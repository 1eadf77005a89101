"""The open document: the current Project, its file and dirty flag, and events views subscribe to.

Qt-free on purpose (napari keeps its models apart from `_qt` the same way): the app's bridge
connects these callbacks to Qt signals. An undo command stores the project before and after its
edit and calls `set_project` to undo or redo; `apply` runs an edit and swaps in the result.

```
doc = Document(Project(), path=None)
doc.changed.connect(view.on_project_changed)        # gets a Change: which tracks / items changed
doc.apply(edits.add_shot, "V1", 0, 48, "a red ball")
```
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from app.document import serialize
from app.document.errors import DocumentError
from app.document.schema import Item, Project

T = TypeVar("T")


class Emitter(Generic[T]):
    """A list of callbacks called with one value. A failing callback does not stop the others;
    the first error is raised once all have run."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[T], Any]] = []

    def connect(self, callback: Callable[[T], Any]) -> Callable[[T], Any]:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[[T], Any]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, value: T) -> None:
        first_error: BaseException | None = None
        for callback in list(self._callbacks):
            try:
                callback(value)
            except Exception as error:  # re-raised below, once every view heard of the change
                first_error = first_error or error
        if first_error is not None:
            raise first_error


@dataclass(frozen=True)
class Change:
    """What differs between two projects, so a view repaints only what it must.

    `tracks`: ids of tracks added, removed or changed (including any change to their items; all of
    them when the track order changed);
    `items`: ids of shots and clips added, removed, moved or changed; `project`: name, rate, size or
    settings; `render_queue`: the queue.
    """

    before: Project
    after: Project
    tracks: frozenset[str]
    items: frozenset[str]
    project: bool
    render_queue: bool

    @property
    def is_empty(self) -> bool:
        return not (self.tracks or self.items or self.project or self.render_queue)


def diff(before: Project, after: Project) -> Change:
    """Compare two projects. Edits share untouched objects, so unchanged parts compare by identity."""
    old_tracks = {track.id: track for track in before.tracks}
    new_tracks = {track.id: track for track in after.tracks}
    tracks = {
        tid for tid in old_tracks.keys() | new_tracks.keys() if old_tracks.get(tid) != new_tracks.get(tid)
    }
    if [t.id for t in before.tracks] != [t.id for t in after.tracks]:
        tracks |= old_tracks.keys() | new_tracks.keys()  # added, removed or re-ordered: every row may move
    old_items: dict[str, Item] = {}
    new_items: dict[str, Item] = {}
    for tid in tracks:
        if tid in old_tracks:
            old_items.update((item.id, item) for item in old_tracks[tid].items)
        if tid in new_tracks:
            new_items.update((item.id, item) for item in new_tracks[tid].items)
    items = {iid for iid in old_items.keys() | new_items.keys() if old_items.get(iid) != new_items.get(iid)}
    fields = ("name", "fps", "width", "height", "settings")
    project = any(getattr(before, name) != getattr(after, name) for name in fields)
    return Change(
        before=before,
        after=after,
        tracks=frozenset(tracks),
        items=frozenset(items),
        project=project,
        render_queue=before.render_queue != after.render_queue,
    )


class Document:
    """The project being edited, where it is saved, and whether it has unsaved changes.

    Events: `changed` (a `Change`) after every new project; `dirty_changed` (bool) when unsaved
    changes appear or are saved; `path_changed` (Path or None) after Save As or Open.
    """

    def __init__(self, project: Project | None = None, path: str | os.PathLike[str] | None = None) -> None:
        self._project = project if project is not None else Project()
        self._saved = self._project
        self._path = Path(path) if path is not None else None
        self._dirty = False
        self.changed: Emitter[Change] = Emitter()
        self.dirty_changed: Emitter[bool] = Emitter()
        self.path_changed: Emitter[Path | None] = Emitter()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Document:
        """Load a project file (raises `DocumentError`, changing nothing on disk)."""
        return cls(serialize.load(path), path)

    @property
    def project(self) -> Project:
        return self._project

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def dirty(self) -> bool:
        """Unsaved changes: the project differs from the one last saved or opened (a new project is clean
        until it is edited; undoing back to the saved state makes it clean again)."""
        return self._dirty

    def apply(self, edit: Callable[..., Project], *args: Any, **kwargs: Any) -> Change:
        """Run `edit(project, *args, **kwargs)` and show its result. On `EditError` nothing changes."""
        return self.set_project(edit(self._project, *args, **kwargs))

    def set_project(self, project: Project) -> Change:
        """Show `project` (an edit's result, or the before/after an undo command kept)."""
        change = diff(self._project, project)
        self._project = project
        if not change.is_empty:
            self._update_dirty()
            self.changed.emit(change)
        return change

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Save to `path` (Save As) or the current path; mark the document clean and drop its autosave."""
        target = Path(path) if path is not None else self._path
        if target is None:
            raise ValueError("This project has no file yet: pass a path (Save As).")
        written = serialize.save(self._project, target)
        self.mark_saved(target)
        with contextlib.suppress(DocumentError):  # a stale autosave is harmless: find_recovery skips it
            serialize.discard_recovery(target)
        return written

    def mark_saved(self, path: str | os.PathLike[str] | None = None) -> None:
        """Record that the current project is what is on disk (at `path`, when it moved)."""
        self._saved = self._project
        if path is not None and Path(path) != self._path:
            self._path = Path(path)
            self.path_changed.emit(self._path)
        self._update_dirty()

    def write_recovery(self) -> Path | None:
        """Autosave to the recovery file when there are unsaved changes and a path; returns it."""
        if not self._dirty or self._path is None:
            return None
        return serialize.write_recovery(self._project, self._path)

    def _update_dirty(self) -> None:
        dirty = self._project is not self._saved and self._project != self._saved
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirty_changed.emit(dirty)
