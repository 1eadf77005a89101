"""Tiny random-weight Wan 2.1 models on disk, in the diffusers layout and as ComfyUI-style single files.

Same architecture classes as the real checkpoints (WanTransformer3DModel, AutoencoderKLWan, UMT5), with
widths small enough to run on a CPU in a second; the tokenizer is built with the `tokenizers` library.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from safetensors.torch import save_file

WORDS = ["a", "red", "ball", "blue", "box", "moves", "left", "right", "over", "green", "grass",
         "at", "sunset", "the", "camera", "pans", "slowly"]  # fmt: skip


def tiny_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2} | {w: i + 3 for i, w in enumerate(WORDS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


def tiny_components(seed: int = 0, vace: bool = False, i2v: bool = False, flf2v: bool = False) -> dict:
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanTransformer3DModel,
        WanVACETransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(seed)
    common = dict(
        patch_size=(1, 2, 2),
        num_attention_heads=1,
        attention_head_dim=128,  # Wan's head width, so single files can be read back by their shapes
        in_channels=16,
        out_channels=16,
        text_dim=32,
        freq_dim=32,
        ffn_dim=64,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=1024,
    )
    if vace:
        transformer = WanVACETransformer3DModel(**common, vace_layers=[0], vace_in_channels=96)
    elif i2v or flf2v:  # 16 noisy + 4 mask + 16 condition channels, CLIP features through the image embedder
        # FLF2V: both images' 17 CLIP tokens (16 patches + class) in a row get a learned position embedding
        extra_config = {"pos_embed_seq_len": 2 * 17} if flf2v else {}
        transformer = WanTransformer3DModel(
            **{**common, "in_channels": 36}, image_dim=32, added_kv_proj_dim=128, **extra_config
        )
    else:
        transformer = WanTransformer3DModel(**common)
    vae = AutoencoderKLWan(base_dim=8, z_dim=16)
    config = UMT5Config(
        vocab_size=len(WORDS) + 3,
        d_model=32,
        d_kv=8,
        d_ff=48,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        feed_forward_proj="gated-gelu",
        pad_token_id=0,
        eos_token_id=1,
    )
    text_encoder = UMT5EncoderModel(config)
    # random init leaves near-zero outputs; widen the weights so outputs depend on the inputs visibly
    with torch.no_grad():
        for module in (transformer, vae):
            for p in module.parameters():
                if p.dim() > 1:
                    p.mul_(3.0)
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    )
    extra = {}
    if i2v or flf2v:
        from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

        vision = CLIPVisionConfig(
            hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, image_size=32,
            patch_size=8, projection_dim=32,
        )  # fmt: skip
        extra = {
            "image_encoder": CLIPVisionModel(vision).eval(),
            "image_processor": CLIPImageProcessor(
                size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
            ),
        }
    return extra | {
        "transformer": transformer.eval(),
        "vae": vae.eval(),
        "text_encoder": text_encoder.eval(),
        "tokenizer": tiny_tokenizer(),
        "scheduler": scheduler,
    }


def save_diffusers_folder(folder: Path, components: dict, vace: bool = False) -> Path:
    from diffusers import WanImageToVideoPipeline, WanPipeline, WanVACEPipeline

    if "image_encoder" in components:
        pipe = WanImageToVideoPipeline(**components)
    else:
        pipe = (WanVACEPipeline if vace else WanPipeline)(**components)
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder


# --- single files in Wan's original key names (as ComfyUI users keep them) ------------------------------
_TRANSFORMER_TO_ORIGINAL = [
    ("condition_embedder.time_embedder.linear_1", "time_embedding.0"),
    ("condition_embedder.time_embedder.linear_2", "time_embedding.2"),
    ("condition_embedder.text_embedder.linear_1", "text_embedding.0"),
    ("condition_embedder.text_embedder.linear_2", "text_embedding.2"),
    ("condition_embedder.time_proj", "time_projection.1"),
    ("ffn.net.0.proj", "ffn.0"),
    ("ffn.net.2", "ffn.2"),
    ("attn1.to_out.0", "self_attn.o"),
    ("attn2.to_out.0", "cross_attn.o"),
    ("attn1.to_", "self_attn."),
    ("attn2.to_", "cross_attn."),
    ("attn1.norm_", "self_attn.norm_"),
    ("attn2.norm_", "cross_attn.norm_"),
]


def transformer_to_original(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        new = key
        if key == "scale_shift_table":
            new = "head.modulation"
        elif key.startswith("proj_out."):
            new = key.replace("proj_out.", "head.head.")
        else:
            for old, repl in _TRANSFORMER_TO_ORIGINAL:
                new = new.replace(old, repl)
            new = re.sub(r"^blocks\.(\d+)\.scale_shift_table$", r"blocks.\1.modulation", new)
            new = re.sub(r"^blocks\.(\d+)\.norm2\.", r"blocks.\1.norm3.", new)
        out[prefix + new] = value
    return out


_RESNET = {"norm1.gamma": "residual.0.gamma", "conv1": "residual.2", "norm2.gamma": "residual.3.gamma",
           "conv2": "residual.6", "conv_shortcut": "shortcut"}  # fmt: skip


def _resnet_to_original(rest: str) -> str:
    for old, new in _RESNET.items():
        if rest.startswith(old + ".") or rest == old:
            return new + rest[len(old) :]
    return rest


def vae_to_original(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        part, _, rest = key.partition(".")
        new = key
        if key.startswith(("quant_conv.", "post_quant_conv.")):
            new = ("conv1." if key.startswith("quant_conv.") else "conv2.") + key.split(".", 1)[1]
        elif rest.startswith("conv_in."):
            new = f"{part}.conv1.{rest[len('conv_in.') :]}"
        elif rest.startswith("norm_out."):
            new = f"{part}.head.0.{rest[len('norm_out.') :]}"
        elif rest.startswith("conv_out."):
            new = f"{part}.head.2.{rest[len('conv_out.') :]}"
        elif m := re.match(r"mid_block\.resnets\.(\d)\.(.*)", rest):
            new = f"{part}.middle.{2 * int(m.group(1))}.{_resnet_to_original(m.group(2))}"
        elif m := re.match(r"mid_block\.attentions\.0\.(.*)", rest):
            new = f"{part}.middle.1.{m.group(1)}"
        elif m := re.match(r"down_blocks\.(\d+)\.(.*)", rest):
            new = f"{part}.downsamples.{m.group(1)}.{_resnet_to_original(m.group(2))}"
        elif m := re.match(r"up_blocks\.(\d+)\.resnets\.(\d+)\.(.*)", rest):
            new = (
                f"{part}.upsamples.{4 * int(m.group(1)) + int(m.group(2))}.{_resnet_to_original(m.group(3))}"
            )
        elif m := re.match(r"up_blocks\.(\d+)\.upsamplers\.0\.(.*)", rest):
            new = f"{part}.upsamples.{4 * int(m.group(1)) + 3}.{m.group(2)}"
        out[new] = value
    return out


def save_single_files(folder: Path, components: dict, prefix: str = "model.diffusion_model.") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    t = {k: v.contiguous() for k, v in components["transformer"].state_dict().items()}
    save_file(transformer_to_original(t, prefix), str(folder / "wan2.1_t2v_tiny_bf16.safetensors"))
    v = {k: v.contiguous() for k, v in components["vae"].state_dict().items()}
    save_file(vae_to_original(v), str(folder / "wan_2.1_vae.safetensors"))
    te = components["text_encoder"].state_dict()
    te = {k: v.contiguous() for k, v in te.items() if k != "encoder.embed_tokens.weight"}
    save_file(te, str(folder / "umt5_tiny_fp16.safetensors"))
    components["tokenizer"].save_pretrained(str(folder / "tokenizer"))
    return folder
