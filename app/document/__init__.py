"""The project model (no Qt, no torch): time, schema, pure edits, versioned files and document events.

```
from app.document import Project, edits, serialize
project = edits.add_track(Project(name="Storyboard"), "V1", track_id="v1")
project = edits.add_shot(project, "v1", 0, 48, "a red ball rolls across the grass", shot_id="ball")
serialize.save(project, "storyboard.shotline")
```
"""

from app.document import edits, serialize
from app.document.errors import DocumentError, DocumentModelError, EditError
from app.document.events import Change, Document, Emitter, diff
from app.document.schema import (
    ASPECT_PRESETS,
    Gap,
    ImportedClip,
    Item,
    Project,
    Recipe,
    RenderJob,
    Settings,
    Shot,
    ShotSource,
    Take,
    Track,
    find_gaps,
    gap_at,
    gaps,
    is_stale,
    new_id,
    stale_neighbours,
    stale_shots,
)
from app.document.time import (
    TimeRange,
    frames_to_seconds,
    from_timecode,
    parse_rate,
    seconds_to_frames,
    to_timecode,
)

__all__ = [
    "ASPECT_PRESETS",
    "Change",
    "Document",
    "DocumentError",
    "DocumentModelError",
    "EditError",
    "Emitter",
    "Gap",
    "ImportedClip",
    "Item",
    "Project",
    "Recipe",
    "RenderJob",
    "Settings",
    "Shot",
    "ShotSource",
    "Take",
    "TimeRange",
    "Track",
    "diff",
    "edits",
    "find_gaps",
    "frames_to_seconds",
    "from_timecode",
    "gap_at",
    "gaps",
    "is_stale",
    "new_id",
    "parse_rate",
    "seconds_to_frames",
    "serialize",
    "stale_neighbours",
    "stale_shots",
    "to_timecode",
]
