"""The headless CLI end to end: generate, extend both ways, bridge; every bad input exits 2 with one line."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import moving_square_clip

from app.cli import main
from engine.media import read_video, write_video

ROOT = Path(__file__).resolve().parents[1]
SMALL_ARGS = ["--steps", "2", "--seed", "5"]


def run_cli(*args, cache, timeout=240):
    env = {**os.environ, "SHOTLINE_CACHE": str(cache), "OMP_NUM_THREADS": "2"}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def generated(tmp_path_factory, cache):
    out = tmp_path_factory.mktemp("out") / "shot.mp4"
    result = run_cli(
        "generate",
        "--prompt",
        "a red ball moves right over grass",
        "--out",
        out,
        "--width",
        64,
        "--height",
        64,
        "--frames",
        16,
        *SMALL_ARGS,
        cache=cache,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    return out


def test_generate_writes_the_requested_clip(generated):
    video = read_video(generated)
    assert video.frames.shape == (16, 64, 64, 3) and video.fps == 12


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_extend_writes_only_the_new_frames_at_the_clip_size_and_fps(tmp_path, cache, direction):
    clip = tmp_path / "clip.mp4"
    write_video(clip, moving_square_clip(12, width=80, height=64), 24)
    out = tmp_path / f"{direction}.mp4"
    result = run_cli(
        "extend",
        "--clip",
        clip,
        "--direction",
        direction,
        "--prompt",
        "the square keeps moving",
        "--out",
        out,
        "--frames",
        8,
        *SMALL_ARGS,
        cache=cache,
    )
    assert result.returncode == 0, result.stderr
    video = read_video(out)
    assert video.frames.shape == (8, 64, 80, 3) and video.fps == 24


def test_bridge_and_png_output(tmp_path, cache, generated):
    right = tmp_path / "right.mov"
    write_video(right, moving_square_clip(8), 12)
    out = tmp_path / "bridge/"
    result = run_cli(
        "bridge",
        "--left",
        generated,
        "--right",
        right,
        "--prompt",
        "the ball rolls on",
        "--out",
        str(out) + "/",
        "--frames",
        12,
        *SMALL_ARGS,
        cache=cache,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.glob("frame_*.png"))[-1] == "frame_00011.png"
    assert read_video(out).frames.shape == (12, 64, 64, 3)


def test_extend_from_a_take_folder_uses_its_stored_latents(tmp_path, cache, generated):
    takes = [p for p in Path(cache).iterdir() if (p / "latents.safetensors").exists()]
    assert takes
    out = tmp_path / "next.mp4"
    result = run_cli(
        "extend",
        "--clip",
        takes[0],
        "--direction",
        "forward",
        "--prompt",
        "more",
        "--out",
        out,
        "--frames",
        8,
        *SMALL_ARGS,
        cache=cache,
    )
    assert result.returncode == 0, result.stderr
    assert read_video(out).frame_count == 8


@pytest.mark.parametrize(
    ("image_size", "shot_size"),
    [((64, 64), (64, 64)), ((200, 90), (128, 80))],  # a size the model makes is kept; others are fitted
)
def test_generate_from_a_start_image(tmp_path, cache, image_size, shot_size):
    image = tmp_path / "start.png"
    write_video(str(tmp_path / "img") + "/", moving_square_clip(1, *image_size), 12)
    (tmp_path / "img" / "frame_00000.png").rename(image)
    out = tmp_path / "i2v.mp4"
    result = run_cli(
        "generate", "--image", image, "--prompt", "a square", "--out", out, "--frames", 8, *SMALL_ARGS,
        cache=cache,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert read_video(out).frames.shape == (8, shot_size[1], shot_size[0], 3)


def test_ctrl_c_cancels_and_leaves_no_file(tmp_path, cache):
    out = tmp_path / "long.mp4"
    env = {**os.environ, "SHOTLINE_CACHE": str(cache)}
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "generate",
            "--prompt",
            "a slow one",
            "--out",
            str(out),
            "--steps",
            "200",
            "--seed",
            "1",
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    line = process.stderr.readline()
    assert "rendering" in line, line
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "cancelled" in err and not out.exists()
    assert not list(Path(cache).glob(".*partial"))


def _bad_inputs(tmp_path):
    good = tmp_path / "good.mp4"
    write_video(good, moving_square_clip(8), 12)
    other = tmp_path / "other.mp4"
    write_video(other, moving_square_clip(8, width=80), 12)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"definitely not a video" * 20)
    out = tmp_path / "out.mp4"
    gen = ["generate", "--prompt", "a ball", "--out", str(out), *SMALL_ARGS]
    return out, {
        "zero frames": ([*gen, "--frames", "0"], "positive number of frames"),
        "impossible frames": ([*gen, "--frames", "33"], "use 32 or 36 frames"),
        "bad size": ([*gen, "--width", "100"], "use 96 or 112"),
        "unknown model": ([*gen, "--model", "dragon-xl"], "no model called 'dragon-xl'"),
        "missing image": ([*gen, "--image", str(tmp_path / "nope.png")], "nope.png"),
        "missing clip": (
            [
                "extend",
                "--clip",
                str(tmp_path / "nope.mp4"),
                "--direction",
                "forward",
                "--prompt",
                "x",
                "--out",
                str(out),
            ],
            "nope.mp4",
        ),
        "unreadable clip": (
            ["extend", "--clip", str(garbage), "--direction", "forward", "--prompt", "x", "--out", str(out)],
            "garbage.mp4",
        ),
        "different sizes": (
            ["bridge", "--left", str(good), "--right", str(other), "--prompt", "x", "--out", str(out)],
            "different sizes",
        ),
        "bad output": ([*gen[:3], "--out", str(tmp_path / "out.avi")], "out.avi"),
        "missing output folder": ([*gen[:3], "--out", str(tmp_path / "no" / "out.mp4")], "does not exist"),
        "missing argument": (["extend", "--prompt", "x", "--out", str(out)], "--clip"),
        "bad direction": (
            ["extend", "--clip", str(good), "--direction", "up", "--prompt", "x", "--out", str(out)],
            "direction",
        ),
    }


BAD_CASES = [
    "zero frames",
    "impossible frames",
    "bad size",
    "unknown model",
    "missing image",
    "missing clip",
    "unreadable clip",
    "different sizes",
    "bad output",
    "missing output folder",
    "missing argument",
    "bad direction",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_exits_2_with_one_line_and_no_output(tmp_path, capfd, monkeypatch, case):
    monkeypatch.setenv("SHOTLINE_CACHE", str(tmp_path / "cache"))
    out, cases = _bad_inputs(tmp_path)
    assert sorted(cases) == sorted(BAD_CASES)
    argv, expected = cases[case]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capfd.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], err
    assert "Traceback" not in err and not out.exists()
