"""The Wan 2.1 backend on tiny random-weight checkpoints: same frames as diffusers' WanPipeline, safe loading,
variant detection, offline, registration."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from wan_tiny import save_diffusers_folder, save_single_files, tiny_components

from app.cli import main as cli_main
from engine.backends.catalog import register_model, registered_models, set_model_options, unregister_model
from engine.backends.registry import available_models, load_backend
from engine.backends.wan import WanBackend, inspect_wan_model
from engine.device import DeviceChoice
from engine.errors import InvalidRequestError, ModelNotFoundError, WeightsError
from engine.generate import run_generation
from engine.media import read_video
from engine.requests import GenerationRequest, KnownFrames
from engine.sampling.schedules import trained_flow_sigmas

CPU = DeviceChoice(torch.device("cpu"), torch.float32)
SETTINGS = dict(
    prompt="a red ball moves left over green grass",
    negative_prompt="blue box",
    width=96,
    height=64,
    frames=9,
    steps=6,
    guidance=5.0,
    seed=7,
)


@pytest.fixture(scope="module")
def wan_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("wan")
    components = tiny_components()
    return {
        "diffusers": save_diffusers_folder(root / "diffusers", components),
        "single": save_single_files(root / "single", components),
    }


@pytest.fixture(scope="module")
def reference_frames(wan_models) -> np.ndarray:
    """What diffusers' own WanPipeline makes from the folder: float frames [F, H, W, 3] in [0, 1]."""
    from diffusers import WanPipeline

    pipe = WanPipeline.from_pretrained(str(wan_models["diffusers"]), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    out = pipe(
        prompt=SETTINGS["prompt"],
        negative_prompt=SETTINGS["negative_prompt"],
        height=SETTINGS["height"],
        width=SETTINGS["width"],
        num_frames=SETTINGS["frames"],
        num_inference_steps=SETTINGS["steps"],
        guidance_scale=SETTINGS["guidance"],
        generator=torch.Generator("cpu").manual_seed(SETTINGS["seed"]),
        output_type="np",
    )
    frames = out.frames[0]
    assert frames.std() > 0.05  # the tiny model draws something, so a match means something
    return frames


def _mad_in_levels(ours: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(ours.astype(np.float32) / 255.0 - reference).mean() * 255.0)


# --- parity with diffusers ------------------------------------------------------------------------------
def test_schedule_and_timesteps_match_diffusers_unipc() -> None:
    from diffusers import UniPCMultistepScheduler

    for shift in (3.0, 5.0, 16.0):
        scheduler = UniPCMultistepScheduler(
            prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=shift
        )
        scheduler.set_timesteps(50)
        ours = trained_flow_sigmas(50, shift)
        assert torch.equal(scheduler.sigmas, ours)
        assert torch.equal(torch.floor(ours[:-1].double() * 1000).long(), scheduler.timesteps)


def test_cli_generate_from_a_diffusers_folder_matches_wan_pipeline_offline(
    wan_models, reference_frames, tmp_path, monkeypatch
):
    attempts: list[object] = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    out = tmp_path / "frames"
    status = cli_main(
        [
            "generate", "--model", str(wan_models["diffusers"]), "--out", f"{out}/",
            "--prompt", SETTINGS["prompt"], "--negative-prompt", SETTINGS["negative_prompt"],
            "--width", "96", "--height", "64", "--frames", "9", "--steps", "6", "--guidance", "5",
            "--seed", "7", "--device", "cpu", "--cache", str(tmp_path / "cache"), "--quiet",
        ]
    )  # fmt: skip
    assert status == 0
    assert attempts == []  # loading and generating never touched the network
    frames = read_video(out).frames  # [F, H, W, 3] uint8
    assert frames.shape == reference_frames.shape
    assert _mad_in_levels(frames, reference_frames) <= 1.0


def test_single_files_in_wan_key_names_give_the_same_frames(wan_models, reference_frames):
    backend = WanBackend.load(wan_models["single"], CPU)
    assert backend.files.layout == "single-file" and backend.files.original_keys
    result = run_generation(backend, GenerationRequest(**SETTINGS, shift=3.0, model="single"))
    assert _mad_in_levels(result.frames, reference_frames) <= 1.0


def test_vace_extension_matches_wan_vace_pipeline(tmp_path, monkeypatch):
    """Extend forward through VACE: the clip's last frame kept (mask 0), the rest generated (mask 1)."""
    from diffusers import WanVACEPipeline
    from diffusers.pipelines.wan import pipeline_wan_vace

    # diffusers' VACE pipeline calls ftfy without checking it is installed (the T2V one checks);
    # give the reference the identity cleaner it would use without ftfy
    monkeypatch.setattr(pipeline_wan_vace, "ftfy", SimpleNamespace(fix_text=lambda text: text), raising=False)
    folder = save_diffusers_folder(tmp_path / "vace", tiny_components(vace=True), vace=True)
    clip = np.random.default_rng(0).integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    known = torch.from_numpy(clip).permute(0, 3, 1, 2).float() / 255  # [1, 3, H, W] in [0, 1]
    video = torch.cat([known, torch.full((8, 3, 64, 64), 0.5)])  # 9 frames: 1 kept, 8 to make
    mask = torch.cat([torch.zeros(1, 3, 64, 64), torch.ones(8, 3, 64, 64)])
    pipe = WanVACEPipeline.from_pretrained(str(folder), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    reference = pipe(
        prompt="a red ball", negative_prompt="blue box", video=[video], mask=[mask], height=64, width=64,
        num_frames=9, num_inference_steps=5, guidance_scale=5.0,
        generator=torch.Generator("cpu").manual_seed(3), output_type="np",
    ).frames[0]  # fmt: skip

    backend = WanBackend.load(folder, CPU)
    assert backend.capabilities.control_context
    request = GenerationRequest(
        prompt="a red ball", negative_prompt="blue box", width=64, height=64, frames=5, steps=5,
        guidance=5.0, shift=3.0, seed=3, model="vace", known=(KnownFrames(position=-1, frames=clip),),
        match_seams=False,  # the model's own output, as diffusers gives it
    )  # fmt: skip
    result = run_generation(backend, request)
    assert _mad_in_levels(result.frames, reference[1:6]) <= 1.0


@pytest.mark.parametrize("variant", ["i2v", "flf2v"])
def test_image_to_video_matches_wan_image_to_video_pipeline(tmp_path, monkeypatch, variant):
    """A start image (I2V), or a first and a last frame (FLF2V: a bridge between two clips)."""
    from diffusers import WanImageToVideoPipeline
    from diffusers.pipelines.wan import pipeline_wan_i2v
    from PIL import Image

    monkeypatch.setattr(pipeline_wan_i2v, "ftfy", SimpleNamespace(fix_text=lambda text: text), raising=False)
    folder = save_diffusers_folder(tmp_path / variant, tiny_components(**{variant: True}))
    rng = np.random.default_rng(0)
    first, last = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    pipe = WanImageToVideoPipeline.from_pretrained(str(folder), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    reference = pipe(
        image=Image.fromarray(first), last_image=Image.fromarray(last) if variant == "flf2v" else None,
        prompt="a red ball", negative_prompt="blue box", height=64, width=64, num_frames=9,
        num_inference_steps=4, guidance_scale=5.0, generator=torch.Generator("cpu").manual_seed(3),
        output_type="np",
    ).frames[0]  # fmt: skip

    backend = WanBackend.load(folder, CPU)
    assert backend.files.kind == "i2v" and backend.capabilities.default_steps == 40
    known = [KnownFrames(position=0, frames=first[None], source="start.png")]
    if variant == "flf2v":
        known.append(KnownFrames(position=8, frames=last[None], source="end.png"))
    request = GenerationRequest(
        prompt="a red ball", negative_prompt="blue box", width=64, height=64, frames=9, steps=4,
        guidance=5.0, shift=3.0, seed=3, model=variant, known=tuple(known),
        match_seams=False,  # the model's own output, as diffusers gives it
    )  # fmt: skip
    assert _mad_in_levels(run_generation(backend, request).frames, reference) <= 1.0
    with pytest.raises(InvalidRequestError, match="start image"):
        run_generation(backend, GenerationRequest(**SETTINGS, model=variant))


def test_the_scheduler_config_sets_the_defaults(wan_models):
    backend = WanBackend.load(wan_models["diffusers"], CPU)
    caps = backend.capabilities
    assert (caps.default_sampler, caps.default_shift) == ("unipc", 3.0)
    assert caps.temporal.first_frame_alone and caps.temporal.is_valid(81)
    assert backend.latent_shape(832, 480, 81) == (16, 21, 60, 104)


# --- detection and validation --------------------------------------------------------------------------
def test_variant_and_memory_are_reported(wan_models, tmp_path):
    files = inspect_wan_model(wan_models["diffusers"])
    assert files.kind == "t2v" and files.layout == "diffusers"
    assert files.transformer_parameters == sum(
        p.numel() for p in tiny_components()["transformer"].parameters()
    )
    memory = files.memory_estimate_gb()
    assert memory["total"] >= memory["weights"] > 0
    vace = save_diffusers_folder(tmp_path / "vace", tiny_components(vace=True), vace=True)
    assert inspect_wan_model(vace).kind == "vace"


def _copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / folder.name
    shutil.copytree(folder, target)
    return target


def test_a_pickle_weights_file_is_refused_and_never_opened(wan_models, tmp_path):
    folder = _copy(wan_models["diffusers"], tmp_path)
    weights = folder / "transformer" / "diffusion_pytorch_model.safetensors"
    weights.unlink()
    marker = tmp_path / "pwned"
    pickle_path = folder / "transformer" / "diffusion_pytorch_model.bin"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    import pickle

    pickle_path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(WeightsError, match=r"diffusion_pytorch_model\.bin.*pickle"):
        inspect_wan_model(folder)
    renamed = folder / "transformer" / "diffusion_pytorch_model.safetensors"
    pickle_path.rename(renamed)  # a pickle under a safetensors name: refused by content
    with pytest.raises(WeightsError, match=r"diffusion_pytorch_model\.safetensors is a Python pickle"):
        inspect_wan_model(folder)
    assert not marker.exists()


def test_a_truncated_file_is_named(wan_models, tmp_path):
    folder = _copy(wan_models["single"], tmp_path)
    vae = folder / "wan_2.1_vae.safetensors"
    data = vae.read_bytes()
    vae.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(WeightsError, match=r"wan_2\.1_vae\.safetensors is truncated"):
        load_backend(str(folder), CPU)


def test_a_config_that_does_not_match_the_weights_is_refused(wan_models, tmp_path):
    folder = _copy(wan_models["diffusers"], tmp_path)
    config_path = folder / "transformer" / "config.json"
    config = json.loads(config_path.read_text())
    config["ffn_dim"] = 96
    config_path.write_text(json.dumps(config))
    with pytest.raises(WeightsError, match=r"transformer/config\.json") as caught:
        inspect_wan_model(folder)
    assert "ffn" in caught.value.detail


def test_a_missing_part_is_named(wan_models, tmp_path):
    folder = _copy(wan_models["single"], tmp_path)
    (folder / "umt5_tiny_fp16.safetensors").unlink()
    with pytest.raises(ModelNotFoundError, match="no text encoder"):
        inspect_wan_model(folder)
    shutil.rmtree(folder / "tokenizer")
    (folder / "umt5.safetensors").write_bytes(
        (wan_models["single"] / "umt5_tiny_fp16.safetensors").read_bytes()
    )
    with pytest.raises(ModelNotFoundError, match="tokenizer"):
        inspect_wan_model(folder)


# --- offline, extension, registration -------------------------------------------------------------------
def test_extend_forward_follows_the_clip(wan_models, reference_frames):
    backend = WanBackend.load(wan_models["diffusers"], CPU)
    clip = (reference_frames * 255).round().astype(np.uint8)  # [9, 64, 96, 3]
    tail = KnownFrames(position=-4, frames=clip[-4:], source="shot 1")
    extended = run_generation(
        backend, GenerationRequest(**{**SETTINGS, "seed": 8}, model="wan", known=(tail,))
    )
    assert extended.frames.shape == (9, 64, 96, 3)
    assert extended.latents is not None and extended.latents.shape == (16, 3, 8, 12)
    plain = run_generation(backend, GenerationRequest(**{**SETTINGS, "seed": 8}, model="wan"))
    assert not np.array_equal(extended.frames, plain.frames)  # the clip's end changed what follows


def test_registered_models_load_by_name(wan_models, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTLINE_CONFIG", str(tmp_path / "config"))
    entry = register_model("tiny-t2v", wan_models["diffusers"])
    assert entry.kind == "t2v" and entry.path == str(wan_models["diffusers"].resolve())
    assert "tiny-t2v" in available_models()
    set_model_options("tiny-t2v", offload="model", vae_tiling="on")
    backend = load_backend("tiny-t2v", CPU)
    assert isinstance(backend, WanBackend)
    assert (backend.options.offload, backend.options.vae_tiling) == ("model", "on")
    assert "group offload" in backend.memory_advice()  # the next setting to try after running out of memory
    with pytest.raises(InvalidRequestError, match="Unknown model setting turbo"):
        set_model_options("tiny-t2v", turbo=True)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text('{"_class_name": "WanPipeline"}')
    with pytest.raises(WeightsError):
        register_model("broken", broken)
    assert sorted(registered_models()) == ["tiny-t2v"]  # a failed registration changes nothing
    unregister_model("tiny-t2v")
    assert available_models() == ["sketch"]


def test_models_command_line(wan_models, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SHOTLINE_CONFIG", str(tmp_path / "config"))
    assert cli_main(["models", "check", str(wan_models["single"])]) == 0
    assert "single-file layout" in capsys.readouterr().out
    assert cli_main(["models", "add", "tiny", str(wan_models["diffusers"])]) == 0
    assert cli_main(["models", "set", "tiny", "--offload", "group", "--draft", "on"]) == 0
    capsys.readouterr()
    assert cli_main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert "tiny\tWan2.1 T2V" in listed and "offload=group" in listed and "draft=True" in listed
    assert cli_main(["models", "add", "bad name!", str(wan_models["diffusers"])]) == 2
    assert "cannot be a model name" in capsys.readouterr().err
    assert cli_main(["models", "remove", "tiny"]) == 0
    assert registered_models() == {}


def test_joins_with_a_text_to_video_model_are_flagged_as_lower_quality(wan_models, sketch_backend):
    from app.render_plan import joining_note

    wan = WanBackend.load(wan_models["diffusers"], CPU)
    assert "latent replacement" in joining_note(wan, joins_clips=True)
    assert joining_note(wan, joins_clips=False) == ""  # a plain shot: nothing to warn about
    assert joining_note(sketch_backend, joins_clips=True) == ""  # trained with per-frame noise levels


@pytest.mark.parametrize("cfg_batching", [True, False])
def test_draft_mode_skips_blocks_with_its_step_cache(wan_models, cfg_batching):
    from engine.backends.wan import WanOptions

    def block_calls(options: WanOptions) -> tuple[int, np.ndarray]:
        backend = WanBackend.load(wan_models["diffusers"], CPU, options)
        calls = []
        backend.modules.transformer.blocks[-1].ffn.register_forward_hook(lambda *args: calls.append(1))
        frames = run_generation(backend, GenerationRequest(**{**SETTINGS, "steps": 24}, model="wan")).frames
        return len(calls), frames

    exact_calls, exact = block_calls(WanOptions(cfg_batching=cfg_batching))
    draft_calls, draft = block_calls(WanOptions(cfg_batching=cfg_batching, draft=True, draft_threshold=0.99))
    assert draft_calls < exact_calls  # steps whose first block barely changed reused the cached rest
    exact_id = WanBackend.load(wan_models["diffusers"], CPU).identity
    assert WanBackend.load(wan_models["diffusers"], CPU, WanOptions(draft=True)).identity != exact_id
    assert draft.shape == exact.shape and np.abs(draft.astype(float) - exact).mean() < 64
