"""Build the Wan modules from checked files: no hub, no pickle, no random initialisation.

Each module is built with empty (meta) parameters from its config, then takes its tensors straight
from the safetensors files (`assign=True`, so a 14B model is never allocated twice), converted from
Wan's original key names when the file uses them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from engine.backends.precision import cast_keeping_fp32_modules
from engine.backends.wan.files import _ORIGINAL_PREFIX, WanModelFiles
from engine.errors import WeightsError
from engine.weights import load_safetensors

__all__ = ["WanModules", "load_wan_modules", "offline"]


def offline() -> None:
    """Make sure nothing in diffusers / transformers / huggingface_hub tries the network."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "DIFFUSERS_OFFLINE"):
        os.environ[name] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


@dataclass
class WanModules:
    transformer: nn.Module  # WanTransformer3DModel or WanVACETransformer3DModel
    vae: nn.Module  # AutoencoderKLWan
    text_encoder: nn.Module  # transformers.UMT5EncoderModel
    tokenizer: object  # a transformers tokenizer
    image_encoder: nn.Module | None = None  # I2V: transformers.CLIPVisionModel
    image_processor: object | None = None  # I2V: transformers.CLIPImageProcessor


def _state_dict(files: tuple[Path, ...], device: torch.device) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = {}
    for f in files:
        state.update(load_safetensors(f, device="cpu" if device.type == "mps" else device))
    return state


def _assign(model: nn.Module, state: dict[str, torch.Tensor], where: Path) -> None:
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as error:  # shapes were checked; this is a missing or extra key
        raise WeightsError(
            f"The weights in {where.name} do not fit the model they claim to be.", str(error)
        ) from None


def _build_empty(build):
    from accelerate import init_empty_weights

    with init_empty_weights():  # parameters on meta; buffers such as RoPE tables stay real
        return build()


def load_transformer(files: WanModelFiles, device: torch.device, dtype: torch.dtype) -> nn.Module:
    from diffusers import WanTransformer3DModel, WanVACETransformer3DModel

    cls = WanVACETransformer3DModel if files.kind == "vace" else WanTransformer3DModel
    model = _build_empty(lambda: cls.from_config(files.transformer_config))
    state = _state_dict(files.transformer_files, device)
    if any(k.endswith("head.modulation") for k in state):
        from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

        state = convert_wan_transformer_to_diffusers(
            {k.removeprefix(_ORIGINAL_PREFIX): v for k, v in state.items()}
        )
    _assign(model, state, files.transformer_files[0])
    cast_keeping_fp32_modules(model, dtype)
    return model.to(device).eval().requires_grad_(False)


def load_vae(files: WanModelFiles, device: torch.device) -> nn.Module:
    from diffusers import AutoencoderKLWan

    model = _build_empty(lambda: AutoencoderKLWan.from_config(files.vae_config))
    state = _state_dict(files.vae_files, device)
    if "decoder.middle.0.residual.0.gamma" in state:
        from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

        state = convert_wan_vae_to_diffusers(state)
    _assign(model, state, files.vae_files[0])
    # fp32: the diffusers docs advise it for the Wan VAE (§1.6 of the notes); it is small (127M)
    return model.float().to(device).eval().requires_grad_(False)


def load_text_encoder(files: WanModelFiles, device: torch.device, dtype: torch.dtype) -> nn.Module:
    from transformers import UMT5Config, UMT5EncoderModel

    model = _build_empty(lambda: UMT5EncoderModel(UMT5Config(**files.text_encoder_config)))
    state = _state_dict(files.text_encoder_files, device)
    shared = state.get("shared.weight", state.get("encoder.embed_tokens.weight"))
    state = {k: v for k, v in state.items() if k != "lm_head.weight"}
    state["shared.weight"] = state["encoder.embed_tokens.weight"] = shared  # tied: one tensor, two names
    _assign(model, state, files.text_encoder_files[0])
    return model.to(device, dtype).eval().requires_grad_(False)


def load_tokenizer(files: WanModelFiles):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(files.tokenizer_dir), local_files_only=True)
    except (OSError, ValueError, TypeError) as error:
        raise WeightsError(
            f"The tokenizer in {files.tokenizer_dir} cannot be read: copy the tokenizer/ folder of a "
            "diffusers Wan 2.1 download there.",
            str(error),
        ) from None


def load_image_encoder(files: WanModelFiles, device: torch.device, dtype: torch.dtype):
    """I2V's CLIP vision tower and its image processor, from the checked image_encoder/ folder."""
    from transformers import CLIPImageProcessor, CLIPVisionModel

    try:
        encoder = CLIPVisionModel.from_pretrained(
            str(files.root / "image_encoder"), local_files_only=True, use_safetensors=True, dtype=dtype
        )
        processor = CLIPImageProcessor.from_pretrained(
            str(files.root / "image_processor"), local_files_only=True
        )
    except (OSError, ValueError) as error:
        raise WeightsError(f"The image encoder of {files.root.name} cannot be loaded.", str(error)) from None
    return encoder.to(device).eval().requires_grad_(False), processor


def load_wan_modules(files: WanModelFiles, device: torch.device, dtype: torch.dtype) -> WanModules:
    offline()
    modules = WanModules(
        transformer=load_transformer(files, device, dtype),
        vae=load_vae(files, device),
        text_encoder=load_text_encoder(files, device, dtype),
        tokenizer=load_tokenizer(files),
    )
    if files.kind == "i2v":
        modules.image_encoder, modules.image_processor = load_image_encoder(files, device, dtype)
    return modules
