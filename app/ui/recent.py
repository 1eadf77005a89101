"""Recent project files, kept in the user's settings (newest first, missing files dropped)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

MAX_RECENT = 10
KEY = "recent_projects"


class RecentFiles:
    def __init__(self, settings: QSettings | None = None) -> None:
        self.settings = settings or QSettings("Shotline", "Shotline")

    def paths(self) -> list[Path]:
        value = self.settings.value(KEY, [])
        items = [value] if isinstance(value, str) else list(value or [])
        return [Path(p) for p in items if p and Path(p).exists()]

    def add(self, path: Path) -> None:
        path = Path(path).resolve()
        paths = [path, *(p for p in self.paths() if p.resolve() != path)][:MAX_RECENT]
        self.settings.setValue(KEY, [str(p) for p in paths])
        self.settings.sync()

    def clear(self) -> None:
        self.settings.setValue(KEY, [])
        self.settings.sync()
