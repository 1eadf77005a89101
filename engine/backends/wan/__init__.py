"""Wan 2.1 from a user's local weights (diffusers folder or single safetensors files)."""

from engine.backends.wan.backend import WanBackend
from engine.backends.wan.files import WanModelFiles, inspect_wan_model
from engine.backends.wan.options import WanOptions

__all__ = ["WanBackend", "WanModelFiles", "WanOptions", "inspect_wan_model"]
