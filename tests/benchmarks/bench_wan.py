"""Wan 2.1 speed: stock diffusers WanPipeline vs Shotline's engine, side by side in one run, per speed option.

    python tests/benchmarks/bench_wan.py     # GPU: full Wan2.1-T2V-1.3B config, 480×832, 81 frames,
                                             # 50 steps, CFG 5, bf16, random weights
    python tests/benchmarks/bench_wan.py --tiny --device cpu --steps 4   # CPU smoke run of the script

Every figure is printed as a ratio to the stock pipeline measured in the same run: per-step time,
end-to-end time, peak GPU memory, and the mean absolute difference of the frames (exact options must
stay at rounding level; draft mode trades some). The transformer's achieved TFLOP/s is computed from its
matmul FLOPs per step (attention + linear layers, cond and uncond). The text encoder is a 1-layer
umT5 with the real 4096-wide output (its cost is one call per clip and not what is measured here).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from engine.backends.wan import WanBackend, WanOptions  # noqa: E402
from engine.device import DeviceChoice  # noqa: E402
from engine.generate import run_generation  # noqa: E402
from engine.requests import GenerationRequest  # noqa: E402

WAN_1_3B = dict(
    patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
    text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024,
)  # fmt: skip
TINY = dict(WAN_1_3B, num_attention_heads=1, ffn_dim=64, num_layers=2, text_dim=32, freq_dim=32)


def build_folder(folder: Path, tiny: bool) -> Path:
    """A random-weight Wan2.1-T2V folder in the diffusers layout."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel
    from wan_tiny import tiny_tokenizer

    torch.manual_seed(0)
    transformer = WanTransformer3DModel(**(TINY if tiny else WAN_1_3B))
    vae = AutoencoderKLWan(base_dim=8 if tiny else 96, z_dim=16)
    d_model = 32 if tiny else 4096
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=64,
            d_model=d_model,
            d_kv=min(64, d_model),
            d_ff=256,
            num_layers=1,
            num_heads=max(1, d_model // 64),
            feed_forward_proj="gated-gelu",
            pad_token_id=0,
            eos_token_id=1,
        )
    )
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    )
    pipe = WanPipeline(
        tokenizer=tiny_tokenizer(),
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=scheduler,
    )
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder


def transformer_flops(config: dict, tokens: int, text_tokens: int = 512) -> float:
    """Matmul FLOPs of one transformer call on one clip (multiply-add = 2)."""
    dim = config["num_attention_heads"] * config["attention_head_dim"]
    per_layer = (
        2 * tokens * dim * dim * 4  # self-attention q, k, v, o
        + 2 * 2 * tokens * tokens * dim  # q·kᵀ and attention·v
        + 2 * tokens * dim * dim * 2
        + 2 * text_tokens * dim * dim * 2  # cross-attention q, o and k, v
        + 2 * 2 * tokens * text_tokens * dim
        + 2 * tokens * dim * config["ffn_dim"] * 2  # feed-forward
    )
    return per_layer * config["num_layers"]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_gb(device: torch.device) -> float:
    return torch.cuda.max_memory_allocated(device) / 1024**3 if device.type == "cuda" else float("nan")


@dataclasses.dataclass
class Run:
    name: str
    step_s: float
    total_s: float
    peak_gb: float
    frames: np.ndarray


def run_stock(folder: Path, args, device: torch.device, dtype: torch.dtype) -> Run:
    from diffusers import WanPipeline

    pipe = WanPipeline.from_pretrained(str(folder), dtype=dtype, local_files_only=True)
    pipe.vae.to(torch.float32)
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    marks: list[float] = []

    def on_step(pipeline, i, t, kwargs):
        sync(device)
        marks.append(time.perf_counter())
        return kwargs

    def once(steps: int):
        return pipe(
            prompt="a red ball", negative_prompt="", height=args.height, width=args.width,
            num_frames=args.frames, num_inference_steps=steps, guidance_scale=5.0, output_type="np",
            callback_on_step_end=on_step,
            generator=torch.Generator("cpu").manual_seed(0),
        ).frames[0]  # fmt: skip

    once(2)  # warm-up
    reset_peak(device)
    marks.clear()
    sync(device)
    start = time.perf_counter()
    frames = once(args.steps)
    sync(device)
    total = time.perf_counter() - start
    steps = np.diff(marks)
    result = Run("diffusers WanPipeline (stock)", float(np.median(steps)), total, peak_gb(device), frames)
    return result


def run_ours(folder: Path, args, choice: DeviceChoice, name: str, options: WanOptions) -> Run:
    backend = WanBackend.load(folder, choice, options)
    marks: list[float] = []

    def on_step(done: int, total: int) -> None:
        sync(choice.device)
        marks.append(time.perf_counter())

    def once(steps: int, seed: int = 0):
        request = GenerationRequest(
            prompt="a red ball", negative_prompt="", width=args.width, height=args.height, frames=args.frames,
            steps=steps, guidance=5.0, shift=3.0, seed=seed, model="wan",
        )  # fmt: skip
        return run_generation(backend, request, on_step=on_step).frames

    once(3 if options.compile_blocks else 2)  # warm-up (and compile)
    reset_peak(choice.device)
    marks.clear()
    sync(choice.device)
    start = time.perf_counter()
    frames = once(args.steps)
    sync(choice.device)
    total = time.perf_counter() - start
    result = Run(
        name, float(np.median(np.diff(marks))), total, peak_gb(choice.device), frames.astype(np.float32) / 255
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny config (to check the script on a CPU)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--width", type=int, default=832)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--only", default="", help="comma-separated option names to run")
    args = parser.parse_args()
    device = torch.device(args.device)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    choice = DeviceChoice(device, dtype)
    options = {
        "ours, sequential CFG (= stock settings)": WanOptions(cfg_batching=False),
        "ours, batched CFG": WanOptions(),
        "ours, cuDNN attention": WanOptions(attention="cudnn"),
        "ours, flash attention": WanOptions(attention="flash"),
        "ours, compiled blocks + cuDNN": WanOptions(attention="cudnn", compile_blocks=True),
        "ours, draft (First Block Cache)": WanOptions(draft=True),
        "ours, draft + compiled + cuDNN": WanOptions(attention="cudnn", compile_blocks=True, draft=True),
        "ours, group offload": WanOptions(offload="group"),
        "ours, model offload": WanOptions(offload="model"),
        "ours, VAE tiling on": WanOptions(vae_tiling="on"),
    }
    if args.only:
        wanted = args.only.split(",")
        options = {k: v for k, v in options.items() if any(w in k for w in wanted)}
    if device.type != "cuda":
        options = {k: v for k, v in options.items() if v.attention == "auto" and not v.compile_blocks}

    with tempfile.TemporaryDirectory() as tmp:
        folder = build_folder(Path(tmp) / "wan", args.tiny)
        config = TINY if args.tiny else WAN_1_3B
        tokens = ((args.frames - 1) // 4 + 1) * (args.height // 16) * (args.width // 16)
        flops_per_step = 2 * transformer_flops(config, tokens)  # cond + uncond
        print(f"# {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}, {dtype}, "
              f"{args.width}×{args.height}×{args.frames}, {args.steps} steps, {tokens} tokens")  # fmt: skip
        stock = run_stock(folder, args, device, dtype)
        runs = [stock]
        for name, opts in options.items():
            try:
                runs.append(run_ours(folder, args, choice, name, opts))
            except Exception as error:  # an option the machine lacks (e.g. a kernel): report, go on
                print(f"{name}: not available here ({type(error).__name__}: {error})")
        print(f"{'run':42} {'s/step':>8} {'×stock':>7} {'total s':>8} {'×stock':>7} {'peak GB':>8} "
              f"{'TFLOP/s':>8} {'MAD/255':>8}")  # fmt: skip
        for run in runs:
            mad = float(np.abs(run.frames - stock.frames).mean() * 255)
            print(
                f"{run.name:42} {run.step_s:8.3f} {stock.step_s / run.step_s:7.2f} {run.total_s:8.1f} "
                f"{stock.total_s / run.total_s:7.2f} {run.peak_gb:8.2f} "
                f"{flops_per_step / run.step_s / 1e12:8.1f} {mad:8.2f}"
            )


if __name__ == "__main__":
    main()
