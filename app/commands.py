"""Undoable commands: one QUndoCommand per user intent, each wrapping one pure document edit.

    push_edit(stack, document, "Move shot", edits.move_item, "shot-1", start=48, merge_key=("move", "shot-1"))

The command runs the edit once, keeps the project before and after, and swaps them on undo/redo, so undo
restores the exact document. An edit that fails raises `EditError` before anything is pushed. Commands with
the same `merge_key` pushed back to back (a drag) merge into one undo step.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from PySide6.QtGui import QUndoCommand, QUndoStack

from app.document.events import Document
from app.document.schema import Project

_MERGE_IDS: dict[Hashable, int] = {}


def _merge_id(key: Hashable | None) -> int:
    if key is None:
        return -1
    return _MERGE_IDS.setdefault(key, len(_MERGE_IDS) + 1)


class EditCommand(QUndoCommand):
    """Swaps the document between the project before and after one edit."""

    def __init__(
        self, document: Document, text: str, before: Project, after: Project, merge_key=None
    ) -> None:
        super().__init__(text)
        self.document = document
        self.before = before
        self.after = after
        self._id = _merge_id(merge_key)

    def redo(self) -> None:
        self.document.set_project(self.after)

    def undo(self) -> None:
        self.document.set_project(self.before)

    def id(self) -> int:
        return self._id

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, EditCommand) or other.id() != self.id() or self.id() == -1:
            return False
        self.after = other.after
        self.setObsolete(self.after == self.before)  # a drag that ends where it began leaves no step
        return True


def push_edit(
    stack: QUndoStack,
    document: Document,
    text: str,
    edit: Callable[..., Project],
    *args: Any,
    merge_key: Hashable | None = None,
    **kwargs: Any,
) -> Project:
    """Apply `edit(project, *args, **kwargs)` as one undo step; returns the new project.

    Raises the edit's `EditError` (nothing pushed, nothing changed) when it cannot be made.
    """
    before = document.project
    after = edit(before, *args, **kwargs)
    if after == before:
        return before
    stack.push(EditCommand(document, text, before, after, merge_key))
    return after
