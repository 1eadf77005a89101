"""The edited sequence as pictures: which file and frame is visible at each frame of the timeline.

Qt-free: the viewer, the timeline's thumbnails and export all ask here what to show.

```
frame     0    4    8    12   16   20
V2             | S2 (take) |            ← upper track (later in `project.tracks`) covers V1
V1        | S1 (take)     |    | clip |
picture   S1   S2   S2   S1   gap  clip           gap → None (black)
```

Rules:
- The topmost *visible* track with an item under the frame wins (V2 over V1, as in an NLE: a track
  later in `project.tracks` is above an earlier one); hidden tracks are skipped.
- A shot shows its current take at `take.in_point + (frame - shot.start)`. A shot with no take, or
  a frame its take does not cover (the shot was lengthened past the take), shows **nothing**: the
  shot still covers the tracks below it (it is there, it just needs rendering), so `frame_at` gives
  None (black) and `item_at` tells the viewer it is that shot, so it can say "needs render".
- An imported clip shows `clip.in_point + (frame - clip.start)`; a still (`media_frames` None) shows
  its only frame, 0, for as long as it lasts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.document.schema import ImportedClip, Item, Project, Shot, Track
from app.media_paths import resolve_clip, resolve_take

__all__ = ["FrameRef", "frame_at", "frames_in", "item_at", "ref_for", "sequence_length"]


@dataclass(frozen=True)
class FrameRef:
    """One frame of one media file: `index` of the take (`kind="take"`) or imported clip (`"clip"`)
    `item_id`. `media_path` is as stored in the project: a take's is relative to the project's media
    folder, a clip's to the project file's folder (or absolute); `resolve` gives the file.
    """

    kind: Literal["take", "clip"]
    item_id: str
    media_path: str
    index: int

    def resolve(self, project_path: Path | None) -> Path:
        """The absolute path of the media file for a project saved at `project_path` (None: unsaved)."""
        if self.kind == "take":
            return resolve_take(project_path, self.media_path)
        return resolve_clip(project_path, self.media_path)


def sequence_length(project: Project) -> int:
    """Frames from 0 to the end of the last item on any track (hidden ones too, as the timeline shows)."""
    return project.duration


def item_at(project: Project, frame: int) -> tuple[Track, Item] | None:
    """The item seen at `frame`: on the topmost visible track that has one there, or None (a gap)."""
    for track in reversed(project.tracks):
        if track.hidden:
            continue
        item = track.item_at(frame)
        if item is not None:
            return track, item
    return None


def ref_for(item: Item, frame: int) -> FrameRef | None:
    """The media frame `item` shows at timeline `frame` (inside the item), or None when it has none."""
    offset = frame - item.start
    if not 0 <= offset < item.duration:
        return None
    if isinstance(item, Shot):
        take = item.current
        if take is None:
            return None
        index = take.in_point + offset
        if not 0 <= index < take.frames:
            return None
        return FrameRef("take", item.id, take.media_path, index)
    assert isinstance(item, ImportedClip)
    index = 0 if item.is_still else item.in_point + offset
    return FrameRef("clip", item.id, item.media_path, index)


def frame_at(project: Project, frame: int) -> FrameRef | None:
    """The picture at timeline `frame`, or None for black (a gap, a shot not rendered there yet)."""
    found = item_at(project, frame)
    return None if found is None else ref_for(found[1], frame)


def frames_in(project: Project, start: int, end: int) -> Iterator[FrameRef | None]:
    """The picture at each frame from `start` up to (not including) `end`, in order; None is black."""
    for frame in range(start, end):
        yield frame_at(project, frame)
