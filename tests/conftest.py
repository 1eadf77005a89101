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
