"""The edited sequence as a stream of pictures at the project's size: what an export encodes, frame by frame.

```
timeline   | S1 take 0..35 |  gap  | clip (640×480) |        frames_in(project) says what is visible
pictures   take f0 … f35    black   letterboxed …           one uint8 [H, W, 3] at a time
```

Each media file is decoded forward by one open reader (`MediaReader`), so a shot costs one pass over its
take and a long imported clip is never held whole in memory. A picture of another size is scaled to fit
and letterboxed (`engine.framing.fit_letterbox`); gaps, and shots with no take there, are black.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Generator, Iterator
from pathlib import Path

import numpy as np

from app.document.schema import Project
from app.sequence import frames_in, sequence_length
from engine.errors import MediaError
from engine.framing import fit_letterbox
from engine.media import iter_video

__all__ = ["MediaReader", "sequence_pictures"]

OPEN_READERS = 4  # files kept open at once (upper tracks cutting in and out of lower ones)


class MediaReader:
    """Frames of one media file by index, decoding forward; asking for an earlier frame reopens the file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._frames: Generator[np.ndarray, None, None] | None = None
        self._next = 0  # index of the frame `_frames` gives next
        self._last: tuple[int, np.ndarray] | None = None

    def frame(self, index: int) -> np.ndarray:  # [H, W, 3] uint8
        if self._last is not None and self._last[0] == index:
            return self._last[1]
        if self._frames is None or index < self._next:
            self.close()
            self._frames, self._next = iter_video(self.path, start=index), index
        while self._next <= index:
            picture = next(self._frames, None)
            if picture is None:
                raise MediaError(
                    f"“{self.path.name}” ends before frame {index + 1}: it may have been replaced by a "
                    "shorter file. Render the shot again or re-import the clip.",
                    detail=f"{self.path}: no frame {index}",
                )
            self._last, self._next = (self._next, picture), self._next + 1
        assert self._last is not None
        return self._last[1]

    def close(self) -> None:
        if self._frames is not None:
            self._frames.close()  # closes the file
        self._frames, self._last = None, None


def sequence_pictures(
    project: Project, project_path: Path | None, *, width: int | None = None, height: int | None = None
) -> Iterator[np.ndarray]:
    """Every frame of the sequence from 0 to its end, as uint8 `[height, width, 3]` (the project's size unless
    given): exactly `sequence_length(project)` pictures, in order. Raises `MediaError` for missing media."""
    width, height = width or project.width, height or project.height
    black = np.zeros((height, width, 3), dtype=np.uint8)
    readers: OrderedDict[Path, MediaReader] = OrderedDict()
    fitted: tuple[tuple[Path, int], np.ndarray] | None = None  # a held still is letterboxed once
    try:
        for ref in frames_in(project, 0, sequence_length(project)):
            if ref is None:
                yield black
                continue
            path = ref.resolve(project_path)
            if fitted is not None and fitted[0] == (path, ref.index):
                yield fitted[1]
                continue
            reader = readers.pop(path, None) or MediaReader(path)
            readers[path] = reader
            while len(readers) > OPEN_READERS:
                readers.popitem(last=False)[1].close()
            picture = reader.frame(ref.index)
            if picture.shape[:2] != (height, width):
                picture = fit_letterbox(picture[None], width, height)[0]
            fitted = ((path, ref.index), picture)
            yield picture
    finally:
        for reader in readers.values():
            reader.close()
