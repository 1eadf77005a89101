"""Decoded frames for the views: media decoded off the Qt thread into a byte-bounded LRU cache.

```
view: frames.frame(path, 12)  → None (not decoded yet; decoding is scheduled on a worker)
worker: engine.media.read_video(path)  → queued signal → cache  → ready(path)
view: repaints on ready(path) → frames.frame(path, 12) → uint8 [H, W, 3]
```

Nothing here waits: `frame`, `frame_count` and `image` answer from the cache or schedule a decode
and return None. A file that cannot be decoded is remembered (`error(path)`, `failed(path)`) and
not tried again until `invalidate(path)`. A whole file is decoded at once (takes are short); a clip
too long for the cache is decoded up to what fits, and `error(path)` says so.

The live x0 previews of shots being rendered live here too (`set_preview` / `preview`), so the
timeline and the viewer show the same frames while a render runs.
"""

from __future__ import annotations

import os
import time
import traceback
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop, QObject, Qt, Signal
from PySide6.QtGui import QImage

from engine import media
from engine.errors import ShotlineError

__all__ = ["DEFAULT_BUDGET_BYTES", "FrameSource", "to_qimage"]

DEFAULT_BUDGET_BYTES = 512 * 1024 * 1024
_SCALED_IMAGES = 2048  # thumbnails kept (about 16 KB each at 48 px high)

PathLike = str | os.PathLike[str]


def _key(path: PathLike) -> str:
    return os.fspath(Path(path))


def to_qimage(frame: np.ndarray, max_height: int | None = None) -> QImage:
    """An RGB QImage holding its own copy of `frame` (uint8 [H, W, 3]), scaled down to `max_height`."""
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    image = QImage(frame.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
    if max_height is not None and 0 < max_height < height:
        image = image.scaledToHeight(max_height, Qt.TransformationMode.SmoothTransformation)
    return image


class FrameSource(QObject):
    """Frames of media files and live render previews, decoded on worker threads and cached.

    Signals (all on the Qt thread): `ready(path)` when a file's frames are decoded, `failed(path)`
    when a file cannot be decoded (`error(path)` tells why), `previewChanged(shot_id)` when a shot's
    live preview frames change or go away.
    """

    ready = Signal(str)
    failed = Signal(str)
    previewChanged = Signal(str)
    # internal: a worker's result (path, generation, frames | None, error | None), delivered queued.
    _decoded = Signal(str, int, object, object)

    def __init__(
        self, parent: QObject | None = None, *, budget_bytes: int = DEFAULT_BUDGET_BYTES, workers: int = 2
    ) -> None:
        super().__init__(parent)
        self._budget = int(budget_bytes)
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="shotline-frames"
        )
        self._clips: OrderedDict[str, np.ndarray] = OrderedDict()  # LRU, oldest first; [T, H, W, 3]
        self._bytes = 0
        self._errors: dict[str, ShotlineError] = {}
        self._failed: set[str] = set()  # files that gave no frames: not tried again until invalidated
        self._pending: dict[str, Future[None]] = {}
        self._generation: dict[str, int] = {}  # bumped by invalidate: older results are dropped
        self._scaled: OrderedDict[tuple[str, int, int], QImage] = OrderedDict()
        self._previews: dict[str, np.ndarray] = {}
        self._decoded.connect(self._on_decoded, Qt.ConnectionType.QueuedConnection)

    # --- frames of files ------------------------------------------------------------------------------
    def frame(self, path: PathLike, index: int) -> np.ndarray | None:
        """Frame `index` of the file (read-only uint8 [H, W, 3]), or None: not decoded yet (decoding is
        scheduled and `ready` follows), out of range, or the file cannot be read (see `error`)."""
        frames = self._frames(_key(path))
        if frames is None or not 0 <= index < len(frames):
            return None
        return frames[index]

    def frame_count(self, path: PathLike) -> int | None:
        """How many frames the file has, or None until it is decoded (decoding is scheduled)."""
        frames = self._frames(_key(path))
        return None if frames is None else len(frames)

    def image(self, path: PathLike, index: int, max_height: int | None = None) -> QImage | None:
        """Frame `index` as a QImage with its own pixels, scaled down to `max_height` if taller; None as
        for `frame`. Scaled images are cached (thumbnails)."""
        key = _key(path)
        if max_height is None:
            frame = self.frame(key, index)
            return None if frame is None else to_qimage(frame)
        cache_key = (key, index, max_height)
        image = self._scaled.get(cache_key)
        if image is not None and key in self._clips:
            self._scaled.move_to_end(cache_key)
            self._clips.move_to_end(key)
            return image
        frame = self.frame(key, index)
        if frame is None:
            return None
        image = to_qimage(frame, max_height)
        self._scaled[cache_key] = image
        while len(self._scaled) > _SCALED_IMAGES:
            self._scaled.popitem(last=False)
        return image

    def is_loading(self, path: PathLike) -> bool:
        """Whether the file is being decoded now."""
        return _key(path) in self._pending

    def error(self, path: PathLike) -> ShotlineError | None:
        """Why the file could not be decoded, or None."""
        return self._errors.get(_key(path))

    def invalidate(self, path: PathLike) -> None:
        """Forget the file's frames and error (it changed on disk); the next request decodes it again."""
        key = _key(path)
        frames = self._clips.pop(key, None)
        if frames is not None:
            self._bytes -= frames.nbytes
        self._errors.pop(key, None)
        self._failed.discard(key)
        self._pending.pop(key, None)  # a decode still running is dropped when it lands
        self._generation[key] = self._generation.get(key, 0) + 1
        for cache_key in [k for k in self._scaled if k[0] == key]:
            del self._scaled[cache_key]

    @property
    def cached_bytes(self) -> int:
        """Bytes of decoded frames held."""
        return self._bytes

    # --- live previews ---------------------------------------------------------------------------------
    def set_preview(self, shot_id: str, frames: np.ndarray | None) -> None:
        """Show `frames` (uint8 [T, h, w, 3] or one [h, w, 3]) for the shot while it renders; None ends it."""
        if frames is None:
            if self._previews.pop(shot_id, None) is None:
                return
        else:
            frames = np.asarray(frames)
            if frames.ndim == 3:
                frames = frames[None]
            if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or 0 in frames.shape:
                raise ValueError(
                    f"A preview must be uint8 [T, h, w, 3] frames, not {frames.dtype} {frames.shape}"
                )
            frames = np.ascontiguousarray(frames)
            frames.flags.writeable = False
            self._previews[shot_id] = frames
        self.previewChanged.emit(shot_id)

    def preview(self, shot_id: str) -> np.ndarray | None:
        """The live preview frames of a shot being rendered, or None."""
        return self._previews.get(shot_id)

    # --- tests and shutdown --------------------------------------------------------------------------------
    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """For tests only (it runs the event loop until then): wait until every scheduled decode has
        landed in the cache. Returns False on timeout."""
        deadline = QDeadlineTimer(timeout_ms)
        while self._pending:
            if deadline.hasExpired():
                return False
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)
        return True

    def shutdown(self) -> None:
        """Stop the decoding threads (waits for a decode in progress); later requests return None."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()

    # --- inside ------------------------------------------------------------------------------------------
    def _frames(self, key: str) -> np.ndarray | None:
        frames = self._clips.get(key)
        if frames is not None:
            self._clips.move_to_end(key)
            return frames
        if key not in self._failed and key not in self._pending and self._executor is not None:
            generation = self._generation.get(key, 0)
            self._pending[key] = self._executor.submit(self._decode, key, generation, self._budget)
        return None

    def _decode(self, key: str, generation: int, budget: int) -> None:
        """On a worker thread: decode the whole file (up to what fits in the cache) and post it back."""
        try:
            first = media.read_video(key, max_frames=1).frames
            fits = max(1, budget // max(1, first[0].nbytes))
            video = media.read_video(key, max_frames=fits + 1)
            frames = np.ascontiguousarray(video.frames)
            error: ShotlineError | None = None
            if len(frames) > fits:
                frames = frames[:fits].copy()
                error = ShotlineError(
                    f"“{Path(key).name}” is too long to preview in full: "
                    f"only its first {fits} frames are shown.",
                    detail=f"{key}: decoded frames are limited to {budget} bytes",
                )
            frames.flags.writeable = False
            self._decoded.emit(key, generation, frames, error)
        except ShotlineError as exc:
            self._decoded.emit(key, generation, None, exc)
        except Exception as exc:  # a decoder bug must not kill the worker silently
            self._decoded.emit(
                key,
                generation,
                None,
                ShotlineError(
                    f"“{Path(key).name}” could not be shown: Shotline could not decode it.",
                    detail="".join(traceback.format_exception(exc)),
                ),
            )

    def _on_decoded(self, key: str, generation: int, frames: object, error: object) -> None:
        if generation != self._generation.get(key, 0):
            return  # invalidated while decoding
        self._pending.pop(key, None)
        if isinstance(error, ShotlineError):
            self._errors[key] = error
        if isinstance(frames, np.ndarray):
            self._store(key, frames)
            self.ready.emit(key)
        else:
            self._failed.add(key)
        if isinstance(error, ShotlineError):
            self.failed.emit(key)

    def _store(self, key: str, frames: np.ndarray) -> None:
        old = self._clips.pop(key, None)
        if old is not None:
            self._bytes -= old.nbytes
        self._clips[key] = frames
        self._bytes += frames.nbytes
        while self._bytes > self._budget and len(self._clips) > 1:
            evicted, dropped = self._clips.popitem(last=False)
            self._bytes -= dropped.nbytes
            for cache_key in [k for k in self._scaled if k[0] == evicted]:
                del self._scaled[cache_key]
