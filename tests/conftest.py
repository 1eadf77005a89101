"""Shared test set-up: offscreen Qt, no network, CPU only, small models and clips."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["SHOTLINE_DEVICE"] = "cpu"

import numpy as np
import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

# Small but real settings: 64×64 px, 8 frames (2 latent frames), 2 steps.
SMALL = dict(width=64, height=64, frames=8, steps=2)


@pytest.fixture(scope="session")
def sketch_backend():
    """The sketch backend as the app loads it (random weights until the trained ones land)."""
    from engine.backends.sketch import SketchBackend
    from engine.device import pick_device

    return SketchBackend.load(choice=pick_device("cpu"))


@pytest.fixture
def small_request():
    from engine.requests import GenerationRequest

    return GenerationRequest(prompt="a red ball moves right over grass", seed=7, **SMALL)


def moving_square_clip(frames: int, width: int = 64, height: int = 64, seed: int = 0) -> np.ndarray:
    """uint8 [T, H, W, 3]: two flat colour bands and a square sliding right."""
    rng = np.random.default_rng(seed)
    sky, ground = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    clip = np.empty((frames, height, width, 3), dtype=np.uint8)
    clip[:, : height // 2] = sky
    clip[:, height // 2 :] = ground
    for t in range(frames):
        x = 4 + 2 * t
        clip[t, height // 2 - 10 : height // 2 + 2, x : x + 12] = (220, 30, 30)
    return clip


@pytest.fixture
def errors(monkeypatch):
    """Error dialogs the app would show, recorded instead: (title, message, detail)."""
    from app.ui import error_dialog

    shown: list[tuple[str, str, str]] = []
    monkeypatch.setattr(error_dialog, "show_hook", lambda *args: shown.append(args))
    return shown


@pytest.fixture
def answers(monkeypatch):
    """Answers the window's questions in order (the last choice when none is queued), recording them."""
    from app.ui import main_window

    queue: list[str] = []
    asked: list[str] = []

    def ask(parent, title, text, choices):
        asked.append(title)
        return queue.pop(0) if queue else choices[-1]

    monkeypatch.setattr(main_window, "ask", ask)
    return queue, asked


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def rendered_example(tmp_path_factory):
    """A copy of the example project whose shots `main.py render` rendered (one sampling step each, to
    save time) and saved, exported to MP4: (project path, MP4 path, the finished process)."""
    import subprocess
    import sys
    from pathlib import Path

    from app.document import edits, serialize
    from app.example import EXAMPLE_PATH

    folder = tmp_path_factory.mktemp("example")
    project = serialize.load(EXAMPLE_PATH)
    for shot in list(project.shots()):
        project = edits.set_shot(project, shot.id, steps=1)
    path = serialize.save(project, folder / "storyboard.shotline")
    out = folder / "edit.mp4"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache"), "OMP_NUM_THREADS": "2"}
    result = subprocess.run(
        [sys.executable, str(root / "main.py"), "render", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    return path, out, result
