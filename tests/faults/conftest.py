"""The fault suite's ledger: every test records the cases it tried, the ones that went wrong and any data
lost.

    def test_something(ledger):
        with ledger.area("project files", "truncated") as cases:
            for ...:
                cases.tried()
                if something_is_wrong:
                    cases.fail("what went wrong")       # a wrong or unclear outcome
                if a_file_changed:
                    cases.lost(nbytes, "what was lost")  # the user's data is gone or damaged
        # leaving the block asserts that nothing failed and nothing was lost

At the end of the run `pytest_terminal_summary` prints one line per area and the totals, so a run
reads "12,345 cases tried, 0 failures, 0 data lost". `--runslow` multiplies the trials (`scale`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest


@dataclass
class Area:
    """The tally of one kind of fault."""

    name: str
    kind: str
    cases: int = 0
    failures: list[str] = field(default_factory=list)
    lost_items: int = 0
    lost_bytes: int = 0
    notes: dict[str, int] = field(default_factory=dict)  # figures worth printing ("killed mid-write": 31)

    def tried(self, count: int = 1) -> None:
        self.cases += count

    def note(self, what: str, count: int = 1) -> None:
        self.notes[what] = self.notes.get(what, 0) + count

    def fail(self, what: str) -> None:
        self.failures.append(what)

    def lost(self, nbytes: int, what: str) -> None:
        """The user's data was lost or damaged (a changed project file, a half-written take…)."""
        self.lost_items += 1
        self.lost_bytes += max(0, int(nbytes))
        self.failures.append(f"DATA LOST ({nbytes} bytes): {what}")

    def check(self, since: int = 0, cases_before: int = 0) -> None:
        """Fail the test when a case recorded after the first `since` failures went wrong."""
        new = self.failures[since:]
        if new:
            shown = "\n  ".join(new[:10])
            more = f"\n  … and {len(new) - 10} more" if len(new) > 10 else ""
            pytest.fail(
                f"{self.name} / {self.kind}: {len(new)} of {self.cases - cases_before} cases went wrong:\n  "
                f"{shown}{more}",
                pytrace=False,
            )


class FaultLedger:
    def __init__(self) -> None:
        self.areas: dict[tuple[str, str], Area] = {}

    def get(self, name: str, kind: str) -> Area:
        return self.areas.setdefault((name, kind), Area(name, kind))

    @contextlib.contextmanager
    def area(self, name: str, kind: str) -> Iterator[Area]:
        """Record into `name / kind`; on leaving, fail the test if any case went wrong."""
        area = self.get(name, kind)
        failures_before, cases_before = len(area.failures), area.cases
        try:
            yield area
        except Exception as error:  # counted too: an unexpected exception is a failure of the case
            area.fail(f"stopped by {type(error).__name__}: {error}")
            raise
        area.check(failures_before, cases_before)

    def totals(self) -> tuple[int, int, int, int]:
        areas = self.areas.values()
        return (
            sum(a.cases for a in areas),
            sum(len(a.failures) for a in areas),
            sum(a.lost_items for a in areas),
            sum(a.lost_bytes for a in areas),
        )

    def lines(self) -> list[str]:
        if not self.areas:
            return []
        width = max(len(f"{a.name} / {a.kind}") for a in self.areas.values())
        rows = []
        for a in sorted(self.areas.values(), key=lambda a: (a.name, a.kind)):
            notes = ", ".join(f"{what}: {count:,}" for what, count in a.notes.items())
            rows.append(
                f"  {f'{a.name} / {a.kind}':<{width}}  {a.cases:>7,} tried  {len(a.failures):>3} failed  "
                f"{a.lost_items:>3} lost" + (f"  ({notes})" if notes else "")
            )
        cases, failures, lost, lost_bytes = self.totals()
        total = (
            f"Shotline fault suite: {cases:,} cases tried, {failures} failures, "
            f"{lost} data lost ({lost_bytes:,} bytes)"
        )
        return [total, *rows]


_LEDGER = FaultLedger()


@pytest.fixture(scope="session")
def ledger() -> FaultLedger:
    return _LEDGER


@pytest.fixture(scope="session")
def scale(request) -> int:
    """How many times more trials to run: 1 by default, 5 with --runslow."""
    return 5 if request.config.getoption("--runslow", default=False) else 1


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch, errors, sketch_backend):
    """The app's main window, offscreen, with its settings and caches in `tmp_path` and the loaded model."""
    from PySide6.QtCore import QSettings

    from app.bridge import EngineBridge
    from app.ui.main_window import MainWindow
    from engine.device import pick_device
    from engine.jobs import JobQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    queue = JobQueue(tmp_path / "media", device=pick_device("cpu"), load_backend=lambda *_: sketch_backend)
    bridge = EngineBridge(tmp_path / "media", queue=queue)
    windows = []

    def make(autosave_ms: int | None = 0):  # None: the project's own autosave interval
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(bridge=bridge, autosave_ms=autosave_ms, settings=settings)
        qtbot.addWidget(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown()
    bridge.shutdown()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = _LEDGER.lines()
    if not lines:
        return
    terminalreporter.section("fault suite")
    for line in lines:
        terminalreporter.write_line(line)
    path = os.environ.get("SHOTLINE_FAULT_SUMMARY")
    if path:  # for CI dashboards: the same lines in a file
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
