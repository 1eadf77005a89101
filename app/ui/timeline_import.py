"""Importing files dropped on the timeline: probed on a worker thread, added as clips in one undo step.

```
drop "beach.mp4", "poster.png" at V1, frame 48
  worker: probe_media → 120 frames / a still      (the Qt thread never opens the files)
  Qt thread: push_edit(..., place_clips, ...)     → | A | beach.mp4 | poster.png |   (one "Import 2 clips")
```
A file Shotline cannot read raises `messageRaised(message, detail)` and adds nothing.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop, QObject, Qt, Signal
from PySide6.QtGui import QUndoStack

from app.commands import push_edit
from app.document import edits
from app.document.errors import EditError
from app.document.events import Document
from app.document.schema import Project, Track
from app.document.time import seconds_to_frames
from app.media_probe import probe_media  # the import worker calls it through this module
from engine.errors import ShotlineError

STILL_SECONDS = 3  # how long a dropped still image lasts


@dataclass(frozen=True)
class Probe:
    """A dropped file as the import worker found it."""

    path: Path
    frames: int | None = None  # None: a still image
    error: ShotlineError | None = None


def free_start(track: Track, frame: int, duration: int) -> int:
    """The first start at or after `frame` where `duration` frames fit on `track` without overlapping."""
    start = max(0, frame)
    for item in track.items:
        if item.end <= start:
            continue
        if item.start >= start + duration:
            break
        start = item.end
    return start


def place_clips(
    project: Project, track_id: str, frame: int, clips: list[tuple[str, int | None, int]]
) -> Project:
    """Edit: add imported clips `(media path, media frames or None for a still, duration)` one after
    another from `frame` on `track_id`, each at the first place it fits.

    ```
    | A |          ^drop two files     ->   | A | c1 | c2 |
    ```
    """
    for media_path, media_frames, duration in clips:
        start = free_start(project.track(track_id), frame, duration)
        project = edits.add_clip(
            project, track_id, start, media_path, media_frames=media_frames, duration=duration
        )
        frame = start + duration
    return project


class ClipImporter(QObject):
    """Probes dropped files off the Qt thread, then places them as clips through the undo stack."""

    messageRaised = Signal(str, str)  # message, detail: a file could not be imported
    statusChanged = Signal(str)  # a line for the status bar
    _probed = Signal(int, object)  # token, (probes, track id, frame); from the worker, delivered queued

    def __init__(self, document: Document, undo_stack: QUndoStack, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._document = document
        self._undo_stack = undo_stack
        self._workers: dict[int, threading.Thread] = {}
        self._token = 0
        self._probed.connect(self._on_probed, Qt.ConnectionType.QueuedConnection)

    def import_files(self, paths: list[Path], track_id: str, frame: int) -> None:
        """Start importing `paths` onto `track_id` from `frame` (returns at once)."""
        self._token += 1
        worker = threading.Thread(
            target=self._probe_files,
            args=(self._probed, self._token, list(paths), track_id, frame),
            name="shotline-import",
            daemon=True,
        )
        self._workers[self._token] = worker
        worker.start()
        self.statusChanged.emit(f"Importing {len(paths)} file{'s' if len(paths) > 1 else ''}…")

    def busy(self) -> bool:
        return bool(self._workers)

    def wait_idle(self, timeout_ms: int = 10000) -> bool:
        """For tests and shutdown: wait until every import finished (runs the event loop). False on
        timeout."""
        deadline = QDeadlineTimer(timeout_ms)
        while self._workers:
            if deadline.hasExpired():
                return False
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            threading.Event().wait(0.002)
        return True

    @staticmethod
    def _probe_files(signal: Signal, token: int, paths: list[Path], track_id: str, frame: int) -> None:
        """On the worker thread: find out what each dropped file is."""
        probes: list[Probe] = []
        for path in paths:
            try:
                probes.append(Probe(path, probe_media(path)))
            except ShotlineError as error:
                probes.append(Probe(path, error=error))
            except Exception as error:  # a decoder bug must not end the import silently
                message = f"“{path.name}” could not be imported."
                probes.append(Probe(path, error=ShotlineError(message, repr(error))))
        with contextlib.suppress(RuntimeError):  # the timeline was closed meanwhile
            signal.emit(token, (probes, track_id, frame))

    def _on_probed(self, token: int, payload: object) -> None:
        worker = self._workers.pop(token, None)
        if worker is not None:
            worker.join(timeout=1)
        probes, track_id, frame = payload  # type: ignore[misc]
        project = self._document.project
        failures = [probe for probe in probes if probe.error is not None]
        clips: list[tuple[str, int | None, int]] = []
        for probe in probes:
            if probe.error is None:
                still = max(1, seconds_to_frames(STILL_SECONDS, project.fps))
                duration = still if probe.frames is None else probe.frames
                clips.append((self._media_path(probe.path), probe.frames, duration))
        if clips:
            if all(track.id != track_id for track in project.tracks):
                track_id = project.tracks[0].id if project.tracks else None
            text = "Import clip" if len(clips) == 1 else f"Import {len(clips)} clips"
            try:
                if track_id is None:
                    raise EditError("Add a track before importing clips.", "the project has no tracks")
                push_edit(self._undo_stack, self._document, text, place_clips, track_id, frame, clips)
                self.statusChanged.emit(f"Imported {len(clips)} clip{'s' if len(clips) > 1 else ''}.")
            except EditError as error:
                self.messageRaised.emit(error.message, error.detail)
        if len(failures) == 1 and failures[0].error is not None:
            self.messageRaised.emit(failures[0].error.message, failures[0].error.detail)
        elif failures:
            names = ", ".join(f"“{probe.path.name}”" for probe in failures)
            detail = "\n".join(
                f"{probe.path}: {probe.error.message} {probe.error.detail}" for probe in failures
            )
            self.messageRaised.emit(f"These files could not be imported: {names}.", detail)

    def _media_path(self, path: Path) -> str:
        """How a clip stores its file: relative to the project's folder when inside it, else absolute."""
        path = path.resolve()
        if self._document.path is not None:
            with contextlib.suppress(ValueError):
                return path.relative_to(self._document.path.resolve().parent).as_posix()
        return str(path)
