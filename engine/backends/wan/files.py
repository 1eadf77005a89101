"""Find, check and identify a user's Wan 2.1 weights before anything is loaded.

Two layouts are accepted:

    diffusers folder                        single files (as ComfyUI users keep them)
    ├── model_index.json                    ├── wan2.1_t2v_1.3B_bf16.safetensors   transformer
    ├── transformer/  config.json + *.safetensors   ├── umt5_xxl_fp16.safetensors      text encoder
    ├── vae/          config.json + *.safetensors   ├── wan_2.1_vae.safetensors        VAE
    ├── text_encoder/ config.json + *.safetensors   └── tokenizer/  (umT5 tokenizer files)
    ├── tokenizer/
    └── scheduler/    scheduler_config.json

Every weights file is checked from its header (`engine.weights`): pickles are refused unopened, a
truncated or corrupt file is named, and each tensor's shape is compared with the model its config
(or, for single files, its tensor shapes) describes, so a mismatch is reported before any memory is
spent. The variant (T2V / I2V / VACE, 1.3B / 14B) comes from the configs and tensor shapes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from engine.errors import ModelNotFoundError, WeightsError
from engine.weights import PICKLE_SUFFIXES, TensorInfo, check_shapes, inspect_safetensors, refuse_pickle

__all__ = ["WanModelFiles", "inspect_wan_model", "looks_like_wan"]

Kind = Literal["t2v", "i2v", "vace"]
HEAD_DIM = 128  # every released Wan 2.1 model uses 128-dim attention heads (notes §1.1)
WAN_VAE_MEAN = (-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
                0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921)  # fmt: skip
WAN_VAE_STD = (2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
               3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160)  # fmt: skip
_ORIGINAL_PREFIX = "model.diffusion_model."


@dataclass(frozen=True)
class WanModelFiles:
    """A checked Wan model on disk: where each part lives and what it is."""

    root: Path
    layout: Literal["diffusers", "single-file"]
    kind: Kind
    transformer_config: dict[str, Any]
    transformer_files: tuple[Path, ...]
    vae_config: dict[str, Any]
    vae_files: tuple[Path, ...]
    text_encoder_config: dict[str, Any]
    text_encoder_files: tuple[Path, ...]
    tokenizer_dir: Path
    scheduler_config: dict[str, Any] = field(default_factory=dict)
    transformer_parameters: int = 0
    text_encoder_parameters: int = 0
    vae_parameters: int = 0
    original_keys: bool = False  # single-file transformer/VAE in Wan's own key names
    image_encoder_files: tuple[Path, ...] = ()  # I2V: the CLIP vision tower (image_encoder/)

    @property
    def size(self) -> str:
        dim = self.transformer_config["num_attention_heads"] * self.transformer_config["attention_head_dim"]
        known = {1536: "1.3B", 5120: "14B"}
        return known.get(dim) or f"{self.transformer_parameters / 1e6:.1f}M-parameter"

    @property
    def label(self) -> str:
        return f"Wan2.1 {self.kind.upper()} {self.size}"

    def memory_estimate_gb(
        self, width: int = 832, height: int = 480, frames: int = 81, weight_bytes: int = 2
    ) -> dict[str, float]:
        """Rough GPU memory (GB) to generate one clip: weights in bf16, the VAE in fp32, and the
        largest working set of one denoiser call with cond and uncond batched."""
        gb = 1024**3
        tokens = ((frames - 1) // 4 + 1) * (height // 16) * (width // 16)
        dim = self.transformer_config["num_attention_heads"] * self.transformer_config["attention_head_dim"]
        ffn = self.transformer_config["ffn_dim"]
        working = 2 * tokens * (4 * dim + ffn) * weight_bytes  # [2, seq, ·] live tensors in one block
        weights = (self.transformer_parameters + self.text_encoder_parameters) * weight_bytes
        base = self.vae_config.get("base_dim", 96)
        vae = self.vae_parameters * 4 + 4 * height * width * 2 * base * 4 * 4  # one 4-frame chunk, fp32
        return {
            "weights": weights / gb,
            "working": working / gb,
            "vae_decode": vae / gb,
            "total": (weights + max(working, vae)) / gb,
        }


# --- entry point ------------------------------------------------------------------------------------
def looks_like_wan(path: Path) -> bool:
    """Cheap test: is `path` meant to be a Wan model (so errors should speak of Wan)?"""
    if path.is_file():
        return path.suffix == ".safetensors" or path.suffix in PICKLE_SUFFIXES
    if (path / "model_index.json").exists():
        return True
    return path.is_dir() and any(
        p.suffix in (".safetensors", *PICKLE_SUFFIXES) for p in path.iterdir() if p.is_file()
    )


def inspect_wan_model(path: str | Path) -> WanModelFiles:
    """Check the Wan model at `path` (a folder, or one of its single files) without loading it."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelNotFoundError(f"There is no file or folder at {path}.", detail=str(path))
    if path.is_file():
        refuse_pickle(path)
        path = path.parent
    if (path / "model_index.json").exists():
        return _inspect_diffusers_folder(path)
    return _inspect_single_files(path)


# --- diffusers layout ---------------------------------------------------------------------------------
def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"The model folder has no {path.parent.name}/{path.name}.", str(path)) from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise WeightsError(f"{path.parent.name}/{path.name} is damaged: {error}.", str(path)) from None
    if not isinstance(data, dict):
        raise WeightsError(f"{path.parent.name}/{path.name} is not a settings file.", str(path))
    return data


def _component_files(folder: Path) -> tuple[Path, ...]:
    """The safetensors files of one component folder (all shards), refusing pickle-only folders."""
    if not folder.is_dir():
        raise WeightsError(f"The model folder has no {folder.name}/ folder.", str(folder))
    index = sorted(folder.glob("*.safetensors.index.json"))
    if index:
        shards = sorted(set(_read_json(index[0]).get("weight_map", {}).values()))
        files = tuple(folder / name for name in shards)
        for f in files:
            if not f.exists():
                raise WeightsError(
                    f"{folder.name}/{f.name} is missing (listed in {index[0].name}): "
                    "the download is incomplete.",
                    str(f),
                )
        return files
    files = tuple(sorted(folder.glob("*.safetensors")))
    if files:
        return files
    pickles = sorted(p for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        refuse_pickle(pickles[0])
    raise WeightsError(f"{folder.name}/ holds no .safetensors weights.", str(folder))


def _headers(files: tuple[Path, ...]) -> dict[str, TensorInfo]:
    tensors: dict[str, TensorInfo] = {}
    for f in files:
        tensors.update(inspect_safetensors(f))
    return tensors


def _expected_shapes(build) -> dict[str, tuple[int, ...]]:
    """Parameter shapes of a model built on the meta device (no memory, no initialisation)."""
    with torch.device("meta"):
        model = build()
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def _check_against(files: tuple[Path, ...], found, expected, what: str, ignore=()) -> int:
    check_shapes(files[0] if len(files) == 1 else files[0].parent, expected, found, what, ignore)
    return sum(math.prod(info.shape) for name, info in found.items() if name not in ignore)


_TIED_T5 = ("encoder.embed_tokens.weight", "shared.weight", "lm_head.weight")


def _t5_found(found: dict[str, TensorInfo]) -> dict[str, TensorInfo]:
    """Text-encoder tensors with the tied embedding under one name (files keep either)."""
    shared = found.get("shared.weight") or found.get("encoder.embed_tokens.weight")
    rest = {k: v for k, v in found.items() if k not in _TIED_T5}
    if shared is not None:
        rest["shared.weight"] = shared
    return rest


def _t5_expected(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    from transformers import UMT5Config, UMT5EncoderModel

    expected = _expected_shapes(lambda: UMT5EncoderModel(UMT5Config(**config)))
    return {k: v for k, v in expected.items() if k not in _TIED_T5} | {
        "shared.weight": expected["shared.weight"]
    }


def _kind_of(transformer_config: dict[str, Any], class_name: str) -> Kind:
    if "VACE" in class_name or transformer_config.get("vace_layers"):
        return "vace"
    if transformer_config.get("in_channels", 16) != transformer_config.get("out_channels", 16):
        return "i2v"
    return "t2v"


def _transformer_class(kind: Kind):
    from diffusers import WanTransformer3DModel, WanVACETransformer3DModel

    return WanVACETransformer3DModel if kind == "vace" else WanTransformer3DModel


def _inspect_diffusers_folder(root: Path) -> WanModelFiles:
    index = _read_json(root / "model_index.json")
    pipeline = str(index.get("_class_name", ""))
    if not pipeline.startswith("Wan"):
        raise ModelNotFoundError(
            f"{root.name} is a {pipeline or 'diffusers'} model, not Wan 2.1: Shotline runs Wan 2.1 "
            "(T2V, I2V, VACE) and its bundled sketch model.",
            str(root / "model_index.json"),
        )
    if "transformer_2" in index and index.get("transformer_2") not in (None, [None, None]):
        raise ModelNotFoundError(
            f"{root.name} is a Wan 2.2 two-expert model; Shotline supports the Wan 2.1 family for now.",
            str(root),
        )
    t_config = _read_json(root / "transformer" / "config.json")
    kind = _kind_of(t_config, str(t_config.get("_class_name", "")))
    image_files: tuple[Path, ...] = ()
    if kind == "i2v":
        image_files = _component_files(root / "image_encoder")
        _headers(image_files)
        if not (root / "image_processor").is_dir():
            raise WeightsError(
                f"{root.name} is an image-to-video model without an image_processor/ folder.", str(root)
            )
    t_files = _component_files(root / "transformer")
    vae_config = _read_json(root / "vae" / "config.json")
    vae_files = _component_files(root / "vae")
    te_config = _read_json(root / "text_encoder" / "config.json")
    te_files = _component_files(root / "text_encoder")
    tokenizer = root / "tokenizer"
    if not tokenizer.is_dir():
        raise WeightsError(f"The model folder {root.name} has no tokenizer/ folder.", str(tokenizer))
    scheduler_path = root / "scheduler" / "scheduler_config.json"
    scheduler = _read_json(scheduler_path) if scheduler_path.exists() else {}

    from diffusers import AutoencoderKLWan

    t_cls = _transformer_class(kind)
    t_params = _check_against(
        t_files, _headers(t_files), _expected_shapes(lambda: t_cls.from_config(t_config)),
        "its transformer/config.json",
    )  # fmt: skip
    vae_params = _check_against(
        vae_files, _headers(vae_files), _expected_shapes(lambda: AutoencoderKLWan.from_config(vae_config)),
        "its vae/config.json",
    )  # fmt: skip
    te_params = _check_against(
        te_files, _t5_found(_headers(te_files)), _t5_expected(_t5_config_subset(te_config)),
        "its text_encoder/config.json",
    )  # fmt: skip
    return WanModelFiles(
        root=root,
        layout="diffusers",
        kind=kind,
        transformer_config=_public(t_config),
        transformer_files=t_files,
        vae_config=_public(vae_config),
        vae_files=vae_files,
        text_encoder_config=_t5_config_subset(te_config),
        text_encoder_files=te_files,
        tokenizer_dir=tokenizer,
        scheduler_config=scheduler,
        transformer_parameters=t_params,
        text_encoder_parameters=te_params,
        vae_parameters=vae_params,
        image_encoder_files=image_files,
    )


def _public(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if not k.startswith("_")}


_T5_KEYS = (
    "vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_heads", "relative_attention_num_buckets",
    "relative_attention_max_distance", "dropout_rate", "layer_norm_epsilon", "feed_forward_proj",
    "pad_token_id", "eos_token_id", "decoder_start_token_id", "tie_word_embeddings", "is_gated_act",
    "dense_act_fn",
)  # fmt: skip


def _t5_config_subset(config: dict[str, Any]) -> dict[str, Any]:
    return {k: config[k] for k in _T5_KEYS if k in config}


# --- single-file layout ------------------------------------------------------------------------------
def _role(tensors: dict[str, TensorInfo]) -> str:
    names = tensors.keys()
    if any(n.endswith("head.modulation") or n == "scale_shift_table" for n in names):
        return "transformer"
    if "decoder.middle.0.residual.0.gamma" in names or "decoder.mid_block.resnets.0.norm1.gamma" in names:
        return "vae"
    if any(n.startswith("encoder.block.0.layer.0.SelfAttention") for n in names):
        return "text_encoder"
    if any(n.startswith(("visual.", "vision_model.")) for n in names):
        return "image_encoder"
    return "unknown"


def _inspect_single_files(folder: Path) -> WanModelFiles:
    found: dict[str, list[tuple[Path, dict[str, TensorInfo]]]] = {}
    pickles = []
    for f in sorted(folder.iterdir()):
        if f.suffix.lower() in PICKLE_SUFFIXES:
            pickles.append(f)
        elif f.suffix == ".safetensors":
            tensors = inspect_safetensors(f)
            found.setdefault(_role(tensors), []).append((f, tensors))
    missing = [role for role in ("transformer", "text_encoder", "vae") if role not in found]
    if missing:
        hint = (
            f" ({', '.join(p.name for p in pickles)} are pickle files, which Shotline never opens)"
            if pickles
            else ""
        )
        raise ModelNotFoundError(
            f"{folder} does not hold a whole Wan model: no {', '.join(m.replace('_', ' ') for m in missing)} "
            f".safetensors file found{hint}. Put the transformer, umT5 text encoder and Wan VAE files in one "
            "folder, or use the diffusers folder.",
            detail=str(folder),
        )
    for role in ("transformer", "text_encoder", "vae"):
        if len(found[role]) > 1:
            names = ", ".join(p.name for p, _ in found[role])
            raise ModelNotFoundError(
                f"{folder.name} holds several {role.replace('_', ' ')} files ({names}): keep one."
            )
    ((t_path, t_tensors),) = found["transformer"]
    ((te_path, te_tensors),) = found["text_encoder"]
    ((vae_path, vae_tensors),) = found["vae"]
    tokenizer = _find_tokenizer(folder)

    t_original = any(n.endswith("head.modulation") for n in t_tensors)
    t_names = _diffusers_transformer_names(t_tensors) if t_original else t_tensors
    t_config = _transformer_config_from_shapes(t_names, t_path)
    kind = _kind_of(t_config, "")
    if kind == "i2v":
        raise ModelNotFoundError(
            f"{t_path.name} is an image-to-video Wan transformer: its CLIP image encoder is not part of the "
            "single-file layout Shotline reads. Use the diffusers folder of Wan2.1-I2V.",
            str(t_path),
        )
    t_params = _check_against(
        (t_path,),
        t_names,
        _expected_shapes(lambda: _transformer_class(kind).from_config(t_config)),
        "a Wan transformer of these dimensions",
    )
    v_original = "decoder.middle.0.residual.0.gamma" in vae_tensors
    v_names = _diffusers_vae_names(vae_tensors) if v_original else vae_tensors
    vae_config = _vae_config_from_shapes(v_names, vae_path)
    from diffusers import AutoencoderKLWan

    vae_params = _check_against(
        (vae_path,),
        v_names,
        _expected_shapes(lambda: AutoencoderKLWan.from_config(vae_config)),
        "the Wan 2.1 VAE",
    )
    te_config = _t5_config_from_shapes(te_tensors, te_path)
    te_params = _check_against((te_path,), _t5_found(te_tensors), _t5_expected(te_config), "a umT5 encoder")
    return WanModelFiles(
        root=folder,
        layout="single-file",
        kind=kind,
        transformer_config=t_config,
        transformer_files=(t_path,),
        vae_config=vae_config,
        vae_files=(vae_path,),
        text_encoder_config=te_config,
        text_encoder_files=(te_path,),
        tokenizer_dir=tokenizer,
        scheduler_config={},
        transformer_parameters=t_params,
        text_encoder_parameters=te_params,
        vae_parameters=vae_params,
        original_keys=t_original or v_original,
    )


def _find_tokenizer(folder: Path) -> Path:
    for candidate in (folder / "tokenizer", folder):
        if (candidate / "tokenizer.json").exists() or (candidate / "spiece.model").exists():
            return candidate
    raise ModelNotFoundError(
        f"{folder.name} has no umT5 tokenizer: copy the tokenizer/ folder of a diffusers Wan 2.1 download "
        "(tokenizer.json or spiece.model) next to the weights.",
        detail=str(folder),
    )


def _meta(tensors: dict[str, TensorInfo], prefix: str = "") -> dict[str, torch.Tensor]:
    return {
        k.removeprefix(prefix): torch.empty(v.shape, device="meta")
        for k, v in tensors.items()
        if not k.endswith("scaled_fp8")
    }


def _diffusers_transformer_names(tensors: dict[str, TensorInfo]) -> dict[str, TensorInfo]:
    """Tensor names and shapes as diffusers names them, for a file in Wan's original key names."""
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    meta = {k.removeprefix(_ORIGINAL_PREFIX): v for k, v in _meta(tensors).items()}
    converted = convert_wan_transformer_to_diffusers(meta)
    return {k: TensorInfo("F32", tuple(v.shape)) for k, v in converted.items()}


def _diffusers_vae_names(tensors: dict[str, TensorInfo]) -> dict[str, TensorInfo]:
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    converted = convert_wan_vae_to_diffusers(_meta(tensors))
    return {k: TensorInfo("F32", tuple(v.shape)) for k, v in converted.items()}


def _shape(tensors: dict[str, TensorInfo], name: str, path: Path) -> tuple[int, ...]:
    if name not in tensors:
        raise WeightsError(f"{path.name} is not a complete Wan file: it has no tensor {name}.", str(path))
    return tensors[name].shape


def _transformer_config_from_shapes(tensors: dict[str, TensorInfo], path: Path) -> dict[str, Any]:
    dim, in_channels, *patch = _shape(tensors, "patch_embedding.weight", path)
    if dim % HEAD_DIM:
        raise WeightsError(f"{path.name} has a width ({dim}) no Wan 2.1 model has.", str(path))
    layers = {int(m.group(1)) for n in tensors if (m := re.match(r"blocks\.(\d+)\.", n))}
    out = _shape(tensors, "proj_out.weight", path)[0] // (patch[0] * patch[1] * patch[2])
    config: dict[str, Any] = {
        "patch_size": list(patch),
        "num_attention_heads": dim // HEAD_DIM,
        "attention_head_dim": HEAD_DIM,
        "in_channels": in_channels,
        "out_channels": out,
        "text_dim": _shape(tensors, "condition_embedder.text_embedder.linear_1.weight", path)[1],
        "freq_dim": _shape(tensors, "condition_embedder.time_embedder.linear_1.weight", path)[1],
        "ffn_dim": _shape(tensors, "blocks.0.ffn.net.0.proj.weight", path)[0],
        "num_layers": len(layers),
        "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads",
        "eps": 1e-6,
        "rope_max_seq_len": 1024,
    }
    if "condition_embedder.image_embedder.ff.net.0.proj.weight" in tensors:
        config["image_dim"] = tensors["condition_embedder.image_embedder.ff.net.0.proj.weight"].shape[1]
        config["added_kv_proj_dim"] = dim
    vace = {int(m.group(1)) for n in tensors if (m := re.match(r"vace_blocks\.(\d+)\.", n))}
    if vace:
        step = len(layers) // len(vace)
        config["vace_layers"] = [i * step for i in range(len(vace))]
        config["vace_in_channels"] = _shape(tensors, "vace_patch_embedding.weight", path)[1]
    return config


def _vae_config_from_shapes(tensors: dict[str, TensorInfo], path: Path) -> dict[str, Any]:
    base_dim = _shape(tensors, "encoder.conv_in.weight", path)[0]
    z_dim = _shape(tensors, "post_quant_conv.weight", path)[0]
    if z_dim != len(WAN_VAE_MEAN):
        raise WeightsError(
            f"{path.name} is not the Wan 2.1 VAE ({z_dim} latent channels, not 16).", str(path)
        )
    return {
        "base_dim": base_dim,
        "z_dim": z_dim,
        "latents_mean": list(WAN_VAE_MEAN),
        "latents_std": list(WAN_VAE_STD),
    }


def _t5_config_from_shapes(tensors: dict[str, TensorInfo], path: Path) -> dict[str, Any]:
    if any(info.dtype.startswith("F8") for info in tensors.values()):
        raise WeightsError(
            f"{path.name} is an fp8-scaled text encoder; Shotline needs the fp16 or bf16 umT5 file "
            "(umt5_xxl_fp16.safetensors).",
            str(path),
        )
    shared = tensors.get("shared.weight") or tensors.get("encoder.embed_tokens.weight")
    if shared is None:
        raise WeightsError(f"{path.name} is not a complete umT5 encoder (no token embedding).", str(path))
    vocab, d_model = shared.shape
    prefix = "encoder.block.0.layer."
    heads = _shape(tensors, prefix + "0.SelfAttention.relative_attention_bias.weight", path)
    layers = {int(m.group(1)) for n in tensors if (m := re.match(r"encoder\.block\.(\d+)\.", n))}
    return {
        "vocab_size": vocab,
        "d_model": d_model,
        "d_kv": _shape(tensors, prefix + "0.SelfAttention.q.weight", path)[0] // heads[1],
        "d_ff": _shape(tensors, prefix + "1.DenseReluDense.wi_0.weight", path)[0],
        "num_layers": len(layers),
        "num_heads": heads[1],
        "relative_attention_num_buckets": heads[0],
        "feed_forward_proj": "gated-gelu",
        "layer_norm_epsilon": 1e-6,
    }
