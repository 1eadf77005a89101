"""Benchmark: one default sketch shot (36 frames, 128×80) on this machine's CPU, end to end and by stage.

Run: .venv/bin/python tests/benchmarks/bench_generation.py [--threads N] [--repeats N] [--model FOLDER]
Figures are printed in seconds and as ratios to one denoiser call (B=1) measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine.backends.sketch import SketchBackend  # noqa: E402
from engine.device import pick_device  # noqa: E402
from engine.generate import run_generation  # noqa: E402
from engine.requests import GenerationRequest, resolve  # noqa: E402


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", type=Path, default=None, help="sketch checkpoint folder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    backend = SketchBackend.load(args.model, pick_device("cpu"))
    request = resolve(
        GenerationRequest(prompt="a red ball moves right over grass at sunset", seed=1), backend.capabilities
    )
    shape = (1, *backend.latent_shape(request.width, request.height, request.frames))
    x = torch.randn(shape)
    text = backend.encode_text([request.prompt])
    sigmas = torch.full((1, shape[2]), 0.5)

    reference = timed(lambda: backend.denoise(x, sigmas, text), args.repeats)
    text_time = timed(lambda: backend.encode_text([request.prompt, ""]), args.repeats)
    decode_time = timed(lambda: backend.decode_latents(x, starts_clip=True), args.repeats)
    preview_time = timed(lambda: backend.preview_frames(x), args.repeats)

    first_preview = []

    def one_shot() -> None:
        start = time.perf_counter()
        first_preview.clear()
        run_generation(
            backend,
            request,
            on_preview=lambda f: first_preview or first_preview.append(time.perf_counter() - start),
        )

    total = timed(one_shot, args.repeats)
    no_lag = timed(lambda: run_generation(backend, request.replace(frame_lag=0)), args.repeats)

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            str(ROOT / "main.py"),
            "generate",
            "--prompt",
            request.prompt,
            "--seed",
            "3",
            "--out",
            str(Path(tmp) / "shot.mp4"),
            "--quiet",
            "--cache",
            str(Path(tmp) / "cache"),
            *(["--model", str(args.model)] if args.model else []),
        ]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        cli = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "main.py"), "--version"], check=True, capture_output=True)
        startup = time.perf_counter() - start

    rows = [
        ("denoiser call, B=1 (reference)", reference),
        ("text encoding (prompt + negative)", text_time),
        ("latent → RGB preview, all latent frames", preview_time),
        ("autoencoder decode, 36 frames", decode_time),
        (f"first preview after start ({request.steps} steps)", first_preview[0]),
        (
            f"run_generation end to end ({request.steps} steps, {request.sampler}, CFG {request.guidance}, "
            f"frame lag {request.frame_lag})",
            total,
        ),
        ("run_generation end to end, frame lag 0 (all frames together)", no_lag),
        ("CLI `main.py generate` wall time (fresh process)", cli),
        ("CLI start-up alone (`main.py --version`)", startup),
    ]
    print(
        f"sketch {args.model or 'bundled'}, {request.width}×{request.height}×{request.frames} frames, "
        f"{shape[2]} latent frames, "
        f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats}"
    )
    for name, seconds in rows:
        print(f"  {name:<66} {seconds:8.3f} s  {seconds / reference:8.1f}×")


if __name__ == "__main__":
    main()
