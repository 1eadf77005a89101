"""Where the engine runs: CUDA in bf16 when present, else the CPU in fp32, with threads left for the UI."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    dtype: torch.dtype

    @property
    def label(self) -> str:
        if self.device.type == "cuda":
            return f"{torch.cuda.get_device_name(self.device)} ({str(self.dtype).removeprefix('torch.')})"
        return f"CPU, {torch.get_num_threads()} threads ({str(self.dtype).removeprefix('torch.')})"


def pick_device(preferred: str | None = None) -> DeviceChoice:
    """CUDA with bf16 when available (or asked for), else CPU with fp32."""
    name = preferred or os.environ.get("SHOTLINE_DEVICE") or ("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        return DeviceChoice(device, torch.bfloat16)
    return DeviceChoice(device, torch.float32)


def configure_threads(leave_for_ui: bool) -> int:
    """Set torch's CPU threads; a GUI keeps one core free so the interface stays responsive."""
    cores = os.cpu_count() or 1
    threads = max(1, cores - 1) if leave_for_ui else cores
    torch.set_num_threads(threads)
    return threads
