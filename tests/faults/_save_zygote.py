"""A save loop to kill: the crash-during-save trials fork it from here, then SIGKILL it at a random moment.

Run as a script, it reads commands on stdin (one per line) and answers on stdout:

    trial FOLDER  → forks a child that opens FOLDER/film.shotline and, for k = 1, 2, 3 …, puts version k
                    into the document (an edit), autosaves it (`write_recovery`), then saves it (`save`),
                    appending "a k" / "s k" to FOLDER/log after each; answers the child's pid
    reap PID      → waits for that child; answers its wait status
    quit

Forking from this process (which has already imported the project model and built the documents) makes
a trial cost milliseconds instead of a Python start-up. `version(k)` is importable, so the test knows
exactly what each saved version must contain.
"""

from __future__ import annotations

import itertools
import os
import sys
from fractions import Fraction
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.document import edits  # noqa: E402
from app.document.events import Document  # noqa: E402
from app.document.schema import Project, Take  # noqa: E402

NAME = "film.shotline"


@cache
def _bases() -> tuple[Project, Project]:
    """A large project (~280 kB of JSON: a save takes a while) and a small one (a mix of the two shows)."""
    large = Project(name="large", fps=Fraction(24000, 1001), width=832, height=480)
    large = edits.add_track(large, "V1", track_id="v1")
    large = edits.add_track(large, "V2", track_id="v2")
    for i in range(80):
        track = "v1" if i % 2 == 0 else "v2"
        shot_id = f"shot{i}"
        prompt = f"shot {i}: " + "a red ball rolls across the wet grass under a low sun, " * 6
        large = edits.add_shot(large, track, i * 60, 48, prompt, shot_id=shot_id, seed=i)
        take = Take(
            id=f"t{i}",
            cache_key=f"{i:024x}",
            media_path=f"{i:024x}/frames.mkv",
            frames=48,
            recipe={"prompt": prompt, "seed": i, "steps": 12, "known": [[j, j * 2] for j in range(20)]},
            created="2025-01-01T12:00:00Z",
            latents_available=True,
        )
        large = edits.add_take(large, shot_id, take)
    small = Project(name="small", fps=Fraction(12), width=128, height=80)
    small = edits.add_track(small, "V1", track_id="v1")
    small = edits.add_shot(small, "v1", 0, 24, "a blue box on snow", shot_id="box")
    return large, small


def version(k: int) -> Project:
    """The project the save loop writes as version `k` (0 is the file the trial starts from)."""
    large, small = _bases()
    return edits.set_project(large if k % 3 != 2 else small, name=f"version {k}")


def save_loop(folder: Path) -> None:
    log = os.open(folder / "log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    document = Document.open(folder / NAME)
    for k in itertools.count(1):
        document.set_project(version(k))
        document.write_recovery()
        os.write(log, f"a {k}\n".encode())
        document.save()
        os.write(log, f"s {k}\n".encode())


def main() -> None:
    _bases()
    version(1)
    print("ready", flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "trial":
            pid = os.fork()
            if pid == 0:  # the child: save until killed
                try:
                    save_loop(Path(argument))
                finally:
                    os._exit(3)
            print(pid, flush=True)
        elif command == "reap":
            _, status = os.waitpid(int(argument), 0)
            print(status, flush=True)
        elif command == "quit":
            return


if __name__ == "__main__":
    main()
