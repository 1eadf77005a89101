"""Casting diffusers transformers to half precision the way diffusers does it."""

from __future__ import annotations

import torch
from torch import nn


def cast_keeping_fp32_modules(model: nn.Module, dtype: torch.dtype) -> None:
    """Cast `model` to `dtype` in place, keeping the modules the class lists in `_keep_in_fp32_modules`
    (for Wan: norms, the time embedding, RoPE, the modulation tables) in float32."""
    if dtype == torch.float32:
        nn.Module.to(model, dtype)
        return
    nn.Module.to(model, dtype)
    keep = tuple(getattr(model, "_keep_in_fp32_modules", None) or ())
    for name, module in model.named_modules():
        if any(part in keep for part in name.split(".")):
            nn.Module.to(module, torch.float32)
    for name, param in model.named_parameters():  # bare parameters such as `scale_shift_table`
        if any(part in keep for part in name.split(".")):
            param.data = param.data.float()
