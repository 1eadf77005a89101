"""The bundled example: a four-shot storyboard the sketch model understands, with one gap to fill.

`python -m app.example` writes `resources/examples/storyboard.shotline` (takes are not bundled: press
Shot → Generate all).
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

from app.document import Project, edits, serialize

EXAMPLE_PATH = Path(__file__).resolve().parents[1] / "resources" / "examples" / "storyboard.shotline"

SHOTS = (  # track, start, frames, prompt
    ("v1", 0, 36, "a red ball rolls right over green grass under a blue sky"),
    ("v1", 60, 36, "a yellow car drives left on a road at sunset"),
    ("v1", 96, 36, "a white bird flies up over water at night"),
    ("v2", 108, 24, "a person walks right on snow while snow falls"),
)


def build_example() -> Project:
    """Storyboard: three shots on V1 with a gap after the first, and one shot above on V2."""
    project = Project(name="Storyboard", fps=Fraction(12), width=256, height=144)
    project = edits.set_settings(project, default_shot_frames=36)
    project = edits.add_track(project, "V1", track_id="v1")
    project = edits.add_track(project, "V2", track_id="v2")
    for number, (track, start, frames, prompt) in enumerate(SHOTS, start=1):
        project = edits.add_shot(project, track, start, frames, prompt, shot_id=f"shot-{number}")
    return edits.set_shot(project, "shot-1", seed=7, seed_locked=True)


def main(argv: list[str] | None = None) -> int:
    target = Path(argv[0]) if argv else EXAMPLE_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    print(serialize.save(build_example(), target))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
