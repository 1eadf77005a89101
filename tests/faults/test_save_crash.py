"""Crash during save: a process saving a large project in a loop is SIGKILLed at random moments, many times.

After every kill the project file is exactly one complete version (the last one saved, or the one being
saved), never a mix and never empty; the backup and the autosave are complete versions too; and what the
next start offers (the file, or the autosave when it is newer) holds at least the last autosaved version:
nothing autosaved is lost.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.document import serialize
from app.document.errors import DocumentError
from tests.faults import _save_zygote as zygote

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 100  # ×5 with --runslow
LONGEST_DELAY_S = 0.12  # about two rounds of autosave + save of the large version
VERSION_0 = serialize.dumps(zygote.version(0)).encode()


class Zygote:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-u", str(Path(zygote.__file__))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        assert self.ask("") == "ready"

    def ask(self, line: str) -> str:
        if line:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def kill_after(self, folder: Path, delay: float, *, wait_for: str = "start") -> int:
        """Start a save loop in `folder` and SIGKILL it `delay` s after `wait_for`: its start, the moment it
        starts writing a temporary file ("writing"), or its first complete save ("saved"); returns its wait
        status."""
        pid = int(self.ask(f"trial {folder}"))
        deadline = time.monotonic() + 10
        log = folder / "log"
        while time.monotonic() < deadline:
            if wait_for == "start":
                break
            if wait_for == "writing" and any(n.endswith(serialize.TEMP_SUFFIX) for n in os.listdir(folder)):
                break
            if wait_for == "saved" and log.exists() and b"s 1\n" in log.read_bytes():
                break
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        return int(self.ask(f"reap {pid}"))

    def close(self) -> None:
        self.ask("quit")
        self.process.wait(10)


@pytest.fixture(scope="module")
def forks():
    z = Zygote()
    yield z
    z.close()


def _log(folder: Path) -> tuple[int, int]:
    """The last version the killed process autosaved and the last it saved (0: none)."""
    autosaved = saved = 0
    for line in (folder / "log").read_text().splitlines() if (folder / "log").exists() else []:
        kind, k = line.split()
        if kind == "a":
            autosaved = int(k)
        else:
            saved = int(k)
    return autosaved, saved


def _which_version(path: Path, area, label: str) -> int | None:
    """The version k the file holds exactly, or None (recorded as lost data) when it is not one."""
    try:
        project = serialize.load(path)
    except DocumentError as error:
        area.lost(path.stat().st_size, f"{label}: {path.name} does not open: {error.message}")
        return None
    name = project.name
    k = int(name.split()[-1]) if name.startswith("version ") else -1
    if k < 0 or project != zygote.version(k):
        area.lost(path.stat().st_size, f"{label}: {path.name} is a mix of versions ({name!r})")
        return None
    return k


def run_trial(forks: Zygote, folder: Path, delay: float, area, label: str, wait_for: str = "start") -> dict:
    folder.mkdir()
    path = folder / zygote.NAME
    path.write_bytes(VERSION_0)
    status = forks.kill_after(folder, delay, wait_for=wait_for)
    area.tried()
    if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
        area.fail(f"{label}: the save loop ended by itself (status {status})")
    autosaved, saved = _log(folder)
    leftovers = sorted(p.name for p in folder.iterdir() if p.name.endswith(serialize.TEMP_SUFFIX))
    outcome = {
        "autosaved": autosaved,
        "saved": saved,
        "mid_write": bool(leftovers),
        "recovery_offered": False,
    }

    k_file = _which_version(path, area, label)
    if k_file is not None and not saved <= k_file <= saved + 1:
        area.lost(0, f"{label}: the file holds version {k_file} but version {saved} was saved")
    backup = serialize.backup_path(path)
    if backup.exists():
        _which_version(backup, area, label)

    # What the next start offers: the file, and the autosave when it is newer (MainWindow._offer_recovery).
    offered = [k_file]
    recovery = serialize.find_recovery(path)
    if recovery is not None:
        k_recovery = _which_version(recovery, area, label)
        offered.append(k_recovery)
        outcome["recovery_offered"] = k_recovery != k_file
    newest = max((k for k in offered if k is not None), default=-1)
    if newest < autosaved:
        area.lost(0, f"{label}: version {autosaved} was autosaved but the next start offers only {newest}")

    if serialize.remove_leftover_temp_files(path) != len(leftovers):
        area.fail(f"{label}: leftover temporary files were not all cleaned: {leftovers}")
    rest = {p.name for p in folder.iterdir()} - {"log"}
    if not rest <= {zygote.NAME, backup.name, serialize.recovery_path(path).name}:
        area.fail(f"{label}: unexpected files after the crash: {sorted(rest)}")
    return outcome


def test_a_save_killed_at_random_moments_leaves_a_complete_file(tmp_path, forks, ledger, scale):
    rng = random.Random(8)
    outcomes = []
    with ledger.area("crash during save", "SIGKILL at a random moment") as area:
        for trial in range(TRIALS * scale):
            # A third of the kills at any moment from the start, a third while a temporary file is being
            # written and synced, a third at any moment after the first complete save.
            wait_for = ("start", "writing", "saved")[trial % 3]
            delay = rng.uniform(0.0, 0.002 if wait_for == "writing" else LONGEST_DELAY_S)
            label = f"trial {trial} ({delay:.3f} s after {wait_for})"
            outcomes.append(run_trial(forks, tmp_path / f"t{trial}", delay, area, label, wait_for))
        area.note("killed mid-write", sum(o["mid_write"] for o in outcomes))
        area.note("autosave newer than the file", sum(o["recovery_offered"] for o in outcomes))
    # The kills really land everywhere: mid-write, between an autosave and its save, after complete saves.
    assert sum(o["mid_write"] for o in outcomes) >= len(outcomes) // 10
    assert sum(o["recovery_offered"] for o in outcomes) >= len(outcomes) // 10
    assert sum(o["saved"] > 0 for o in outcomes) >= len(outcomes) // 4


def test_the_next_start_offers_the_autosave_in_the_window(tmp_path, forks, ledger, make_window, answers):
    """The real window, opening the project after a crash that left a newer autosave, offers to restore it."""
    rng = random.Random(3)
    with ledger.area("crash during save", "recovery offered by the window") as area:
        for trial in range(40):
            folder = tmp_path / f"t{trial}"
            outcome = run_trial(forks, folder, rng.uniform(0.0, LONGEST_DELAY_S), area, f"trial {trial}")
            if outcome["recovery_offered"]:
                break
        else:
            pytest.fail("no kill left a newer autosave in 40 trials")
        path = folder / zygote.NAME
        queue, asked = answers
        queue.append("Restore")
        window = make_window()
        area.tried()
        assert window.open_path(path)
        if asked != ["Recover unsaved changes?"]:
            area.lost(0, f"the window did not offer the autosave (asked {asked})")
        elif window.document.project != serialize.load(serialize.recovery_path(path)):
            area.lost(0, "restoring did not bring back the autosaved version")
        elif not window.document.dirty:
            area.fail("the restored project is not marked as unsaved")
