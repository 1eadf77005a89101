"""Speed and memory settings for the Wan backend, each one measured in tests/benchmarks/bench_wan.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ATTENTION_BACKENDS = {  # our name → diffusers' attention dispatcher name
    "auto": None,  # PyTorch SDPA picks (flash / efficient / math)
    "flash": "_native_flash",
    "cudnn": "_native_cudnn",
    "efficient": "_native_efficient",
    "native": "native",
}


@dataclass(frozen=True)
class WanOptions:
    """How to run a Wan model. Exact options keep the output the same; `draft` trades quality for speed."""

    attention: Literal["auto", "flash", "cudnn", "efficient", "native"] = "auto"
    compile_blocks: bool = False  # regional torch.compile of the repeated transformer blocks
    cfg_batching: bool = True  # cond and uncond in one batched call
    draft: bool = False  # First Block Cache: skip the rest of the model when the first block barely changes
    draft_threshold: float = 0.08
    offload: Literal["none", "model", "group"] = "none"  # for cards with little memory
    vae_tiling: Literal["auto", "on", "off"] = "auto"  # auto: tile when the decode would not fit

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION_BACKENDS:
            raise ValueError(f"attention must be one of {', '.join(ATTENTION_BACKENDS)}")
        if self.offload not in ("none", "model", "group"):
            raise ValueError("offload must be none, model or group")
        if self.vae_tiling not in ("auto", "on", "off"):
            raise ValueError("vae_tiling must be auto, on or off")
        if not 0 < self.draft_threshold < 1:
            raise ValueError("draft_threshold must be between 0 and 1")

    def memory_advice(self) -> str:
        """Which setting to change after the GPU ran out of memory, most effective first."""
        steps = []
        if self.offload == "none":
            steps.append("turn on model offload for this model (Models… → offload: model)")
        elif self.offload == "model":
            steps.append("switch this model to group offload (Models… → offload: group)")
        if self.vae_tiling != "on":
            steps.append("turn VAE tiling on")
        steps.append("use fewer frames or a smaller size")
        return "; ".join(steps)

    def describe(self) -> str:
        parts = [f"attention {self.attention}"]
        parts += ["compiled blocks"] * self.compile_blocks
        parts += ["batched CFG" if self.cfg_batching else "sequential CFG"]
        parts += [f"draft (cache {self.draft_threshold})"] * self.draft
        parts += [f"{self.offload} offload"] * (self.offload != "none")
        parts += [f"VAE tiling {self.vae_tiling}"]
        return ", ".join(parts)
