"""Offline: with every socket blocked from the first line of the process (before torch, diffusers or Shotline
are imported), generate, extend, bridge and render (export) a project all work, and nothing tries the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from app.document import serialize
from engine.media import read_video
from tests.test_app_render import tiny_project

ROOT = Path(__file__).resolve().parents[2]

OFFLINE_RUN = textwrap.dedent(
    """
    import errno, json, socket, sys
    attempts = []

    def refuse(name):
        def blocked(*args, **kwargs):
            attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise OSError(errno.ENETUNREACH, "the network is blocked (offline test)")
        return blocked

    socket.socket.connect = refuse("socket.connect")
    socket.socket.connect_ex = refuse("socket.connect_ex")
    socket.socket.sendto = refuse("socket.sendto")
    socket.create_connection = refuse("create_connection")
    socket.getaddrinfo = refuse("getaddrinfo")

    from app.cli import main

    work = sys.argv[1]
    small = ["--steps", "2", "--seed", "4", "--frames", "8"]
    commands = {
        "generate": ["generate", "--prompt", "a red ball moves right over grass", "--out", f"{work}/a.mp4",
                     "--width", "64", "--height", "64", *small],
        "extend": ["extend", "--clip", f"{work}/a.mp4", "--direction", "forward", "--prompt", "it rolls on",
                   "--out", f"{work}/b.mp4", *small],
        "bridge": ["bridge", "--left", f"{work}/a.mp4", "--right", f"{work}/b.mp4", "--prompt", "it rolls",
                   "--out", f"{work}/c.mp4", *small],
        "render": ["render", f"{work}/film.shotline", "--out", f"{work}/edit.mp4"],
        "render otio": ["render", f"{work}/film.shotline", "--out", f"{work}/edit.otio"],
    }
    codes = {name: main(argv) for name, argv in commands.items()}
    print(json.dumps({"codes": codes, "attempts": attempts}))
    """
)


def test_everything_works_with_the_network_blocked(tmp_path, ledger):
    project = tmp_path / "film.shotline"
    serialize.save(tiny_project(), project)  # two shots without takes: render makes them, then exports
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(
        PYTHONPATH=str(ROOT),
        SHOTLINE_CACHE=str(tmp_path / "cache"),
        XDG_CACHE_HOME=str(tmp_path / "xdg"),
        SHOTLINE_DEVICE="cpu",
        OMP_NUM_THREADS="2",
    )  # Shotline must go offline by itself, not because the test environment said so
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_RUN, str(tmp_path)], capture_output=True, text=True, cwd=ROOT, env=env,
        timeout=280,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    with ledger.area("offline", "generate, extend, bridge, render with sockets blocked") as area:
        for name, code in report["codes"].items():
            area.tried()
            if code != 0:
                area.fail(f"{name} exited {code}: {result.stderr[-600:]}")
        for attempt in report["attempts"]:
            area.fail(f"tried the network: {attempt}")
        for name, frames in {"a.mp4": 8, "b.mp4": 8, "c.mp4": 8}.items():
            if read_video(tmp_path / name).frame_count != frames:
                area.fail(f"{name} does not hold {frames} frames")
        if read_video(tmp_path / "edit.mp4").frame_count != serialize.load(project).duration:
            area.fail("the exported edit is not as long as the project")
        if not (tmp_path / "edit.otio").exists():
            area.fail("no OpenTimelineIO file")
