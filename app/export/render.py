"""Export the edit: the sequence → pictures → one file (or folder), with progress, cancel and provenance.

```
export_project(project, path, settings, progress=…, should_stop=…)
  mp4 / prores / png   sequence_pictures → write_video (temp name, renamed when complete)
                       + provenance tags in the container (or metadata.json) [+ a C2PA manifest]
  otio                 to_timeline → write_otio (clips point at the takes, recipes in metadata)
  then                 <out>.provenance.json beside it
```

Exactly `sequence_length(project)` frames at the project's exact (rational) rate and size. A cancel
(`should_stop()` true) raises `ExportCancelled` before the next frame; on a cancel or any failure nothing
is left under the target name and an earlier file there is untouched.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.document.schema import Project
from app.export.otio_io import write_otio
from app.export.pictures import sequence_pictures
from app.export.provenance import container_tags, provenance, write_sidecar
from app.export.settings import ExportSettings
from app.sequence import sequence_length
from engine.errors import InvalidRequestError, MediaError
from engine.media import write_video

__all__ = ["ExportCancelled", "ExportProgress", "ExportResult", "export_project"]

PROGRESS_INTERVAL = 0.1  # seconds between progress reports (the first and last frames are always reported)


class ExportCancelled(Exception):
    """The export was cancelled; nothing was written under the target name. Not an error to report."""


@dataclass(frozen=True)
class ExportProgress:
    """`done` of `total` frames written after `elapsed` seconds."""

    done: int
    total: int
    elapsed: float

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the pace so far, or None before the first frame."""
        if self.done == 0:
            return None
        return self.elapsed / self.done * (self.total - self.done)


@dataclass(frozen=True)
class ExportResult:
    path: Path
    sidecar: Path
    format: str
    frames: int
    seconds: float
    signed: bool = False


ProgressCallback = Callable[[ExportProgress], None]


def _reported(
    pictures: Iterator[np.ndarray],
    total: int,
    progress: ProgressCallback | None,
    should_stop: Callable[[], bool] | None,
) -> Iterator[np.ndarray]:
    """The pictures, checking for a cancel before each one and reporting progress now and then."""
    started = last = time.perf_counter()
    done = 0
    if progress is not None:
        progress(ExportProgress(0, total, 0.0))
    for picture in pictures:
        if should_stop is not None and should_stop():
            raise ExportCancelled()
        yield picture
        done += 1
        now = time.perf_counter()
        if progress is not None and (done == total or now - last >= PROGRESS_INTERVAL):
            progress(ExportProgress(done, total, now - started))
            last = now
    if done != total:  # the sequence and the pictures disagree: never write a short file
        raise MediaError(
            "The export stopped early: not every frame of the sequence could be made.",
            detail=f"{done} of {total} frames",
        )


def export_project(
    project: Project,
    project_path: Path | None,
    settings: ExportSettings,
    *,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ExportResult:
    """Export the sequence as `settings` say. Raises `ExportCancelled`, or a `ShotlineError` in plain
    words."""
    started = time.perf_counter()
    total = sequence_length(project)
    if total == 0:
        raise InvalidRequestError("The timeline is empty: there is nothing to export.")
    record = provenance(project)
    out = settings.out
    if settings.format == "otio":
        if should_stop is not None and should_stop():
            raise ExportCancelled()
        path = write_otio(project, project_path, out)
        if progress is not None:
            progress(ExportProgress(total, total, time.perf_counter() - started))
    else:
        pictures = _reported(sequence_pictures(project, project_path), total, progress, should_stop)
        crf = settings.crf if settings.format == "mp4" else None
        options = dict(format=settings.format, crf=crf, metadata=container_tags(record, settings.format))
        if settings.sign_c2pa:
            path = _write_signed(out, pictures, project, record, options)
        else:
            path = write_video(out, pictures, project.fps, **options)
    sidecar = write_sidecar(path, record)
    return ExportResult(
        path=path,
        sidecar=sidecar,
        format=settings.format,
        frames=total,
        seconds=time.perf_counter() - started,
        signed=settings.sign_c2pa,
    )


def _write_signed(
    out: Path, pictures: Iterator[np.ndarray], project: Project, record: dict, options: dict
) -> Path:
    """Encode under a temp name, then write the signed copy to `out` (itself atomic)."""
    from app.export import c2pa_signing

    if not c2pa_signing.is_available():
        raise MediaError(c2pa_signing.INSTALL_HINT, detail="import c2pa / cryptography failed")
    unsigned = out.with_name(f".{out.name}.unsigned-{secrets.token_hex(4)}{out.suffix}")
    try:
        write_video(unsigned, pictures, project.fps, **options)
        return c2pa_signing.sign_file(unsigned, out, record)
    finally:
        with contextlib.suppress(OSError):
            unsigned.unlink()
