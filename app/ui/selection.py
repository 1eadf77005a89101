"""What is selected on the timeline: one shot or clip, one gap, or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SelectionKind = Literal["item", "gap"] | None


@dataclass(frozen=True)
class Selection:
    """The timeline's selection, as the inspector and the main window read it.

    ```
    Selection("item", item_id="shot-3fa91c0b")            a shot or an imported clip
    Selection("gap", track_id="v1", start=48, end=72)     the empty span [48, 72) of track v1
    Selection()                                           nothing
    ```
    For an item, `track_id`, `start` and `end` are filled in too (where it was when selected).
    """

    kind: SelectionKind = None
    item_id: str | None = None
    track_id: str | None = None
    start: int = 0
    end: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("item", "gap", None):
            raise ValueError(f"A selection is an item, a gap or nothing, not {self.kind!r}.")
        if self.kind == "item" and not self.item_id:
            raise ValueError("An item selection needs the item's id.")
        if self.kind == "gap" and (not self.track_id or self.end <= self.start):
            raise ValueError("A gap selection needs a track and a span of at least one frame.")

    @property
    def is_empty(self) -> bool:
        return self.kind is None

    @property
    def is_item(self) -> bool:
        return self.kind == "item"

    @property
    def is_gap(self) -> bool:
        return self.kind == "gap"

    @property
    def duration(self) -> int:
        return self.end - self.start


NOTHING = Selection()
