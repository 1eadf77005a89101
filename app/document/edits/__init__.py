"""Edits of a project: pure functions `edit(project, ...) -> Project` that fully apply or change nothing.

Each edit returns a new Project sharing every untouched track and item with the old one, or raises
`EditError` with a sentence a filmmaker understands; the project passed in is never changed (it is
immutable), so an undo command keeps `before` and `after` and swaps them.

Diagrams show one track; `|` marks item edges, blank space is a gap.
"""

from app.document.edits._base import SHOT_FIELDS, describe
from app.document.edits.arranging import (
    duplicate_item,
    move_item,
    snap,
    snap_move,
    snap_points,
    split_item,
    trim_end,
    trim_start,
)
from app.document.edits.placing import (
    add_bridge,
    add_clip,
    add_extension,
    add_shot,
    add_track,
    close_gap,
    remove_item,
    remove_track,
    set_track,
)
from app.document.edits.project import (
    queue_render,
    remove_render,
    reorder_render,
    set_project,
    set_render_status,
    set_settings,
)
from app.document.edits.shots import add_take, delete_take, set_current_take, set_shot

__all__ = [
    "SHOT_FIELDS",
    "add_bridge",
    "add_clip",
    "add_extension",
    "add_shot",
    "add_take",
    "add_track",
    "close_gap",
    "delete_take",
    "describe",
    "duplicate_item",
    "move_item",
    "queue_render",
    "remove_item",
    "remove_render",
    "remove_track",
    "reorder_render",
    "set_current_take",
    "set_project",
    "set_render_status",
    "set_settings",
    "set_shot",
    "set_track",
    "snap",
    "snap_move",
    "snap_points",
    "split_item",
    "trim_end",
    "trim_start",
]
