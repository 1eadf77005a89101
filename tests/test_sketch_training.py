"""Sketch training and evaluation tools: noise-level sampling, a short resumable run, the metrics."""

import dataclasses
import itertools
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from engine.backends.sketch.backend import build_modules
from engine.backends.sketch.config import LEGACY_DECODER, AutoencoderConfig, SketchConfig
from engine.sketch.data import is_held_out, world_batch
from engine.sketch.evaluate import (
    _eval_scenes,
    adherence,
    distinguishable_colours,
    duplicated,
    evaluate,
    ground_of,
    measurable,
    motion_of,
    offworld_clip,
    seam_jump,
    sky_of,
    subject_colour_of,
    subject_copies,
)
from engine.sketch.train import (
    TrainSettings,
    _lr,
    grow_denoiser,
    load_or_create,
    main,
    motion_weights,
    sample_sigmas,
    upgrade_decoder,
)
from engine.sketch.world import SUBJECT_COLORS, SceneSpec, SubjectSpec, render, render_background


def test_noise_levels_mix_shared_per_frame_and_clean_context():
    settings = TrainSettings(stage="denoiser", per_frame_noise=0.5, clean_context=0.5)
    sigmas = sample_sigmas(torch.Generator().manual_seed(0), 400, 9, settings)
    assert sigmas.shape == (400, 9) and float(sigmas.min()) >= 0 and float(sigmas.max()) <= 1
    clean = sigmas == 0
    assert 0.3 < clean.any(dim=1).float().mean() < 0.7  # about half the samples have clean context
    assert not clean.all(dim=1).any()  # never a sample with nothing to learn
    shared = (sigmas.max(dim=1).values - sigmas.min(dim=1).values < 1e-6) & ~clean.any(dim=1)
    assert 0.2 < shared.float().mean() < 0.6
    leading = clean[:, 0] & ~clean[:, -1]
    trailing = clean[:, -1] & ~clean[:, 0]
    assert leading.any() and trailing.any() and (clean[:, 0] & clean[:, -1]).any()


def test_noise_levels_practise_the_first_sampling_steps():
    # the first steps of a sample (σ ≥ 0.95) decide the layout from the prompt alone: they need practice
    settings = TrainSettings(stage="denoiser", per_frame_noise=0.0, clean_context=0.0)
    sigmas = sample_sigmas(torch.Generator().manual_seed(1), 4000, 1, settings)
    top = float((sigmas >= 0.95).float().mean())
    assert 0.13 < top < 0.22  # the top share plus what the shifted logit-normal and uniform give
    assert float((sigmas < 0.5).float().mean()) > 0.1  # low noise levels are still trained


def test_a_last_run_anneals_the_learning_rate_over_its_minutes():
    plain = TrainSettings(stage="denoiser", lr=1e-3, warmup=10)
    annealed = dataclasses.replace(plain, anneal=True)
    assert _lr(0, plain) == pytest.approx(1e-4) and _lr(500, plain, 0.9) == pytest.approx(1e-3)
    rates = [_lr(500, annealed, t) for t in np.linspace(0, 1, 11)]
    assert rates[0] == pytest.approx(1e-3) and rates[-1] == pytest.approx(1e-4)
    assert all(a > b for a, b in itertools.pairwise(rates))


def test_training_batches_never_show_held_out_combinations():
    rng = np.random.default_rng(0)
    video, captions, scenes = world_batch(rng, 12, 8, 64, 48)
    assert video.shape == (12, 3, 8, 48, 64) and float(video.min()) >= -1 and float(video.max()) <= 1
    assert not any(is_held_out(s) for s in scenes) and all(captions)
    _, _, held = world_batch(rng, 6, 4, 64, 48, held_out=True)
    assert all(is_held_out(s) for s in held)


def test_a_short_run_saves_loadable_weights_and_resumes(tmp_path):
    out = str(tmp_path)
    main(["autoencoder", "--out", out, "--minutes", "0.001", "--batch", "1"])
    config, _, _, _ = load_or_create(tmp_path)
    assert len(config.latent_mean) == config.autoencoder.latent_channels
    main(
        ["denoiser", "--out", out, "--minutes", "0.001", "--batch", "1", "--frames", "8", "--eval-every", "0",
         "--anneal"]
    )  # fmt: skip
    *_, step = load_or_create(tmp_path)
    assert step >= 1
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert any(r["stage"] == "autoencoder-eval" for r in log)
    runs = [r for r in log if r["stage"] == "run"]  # each run's settings, to reproduce a staged checkpoint
    assert [r["settings"]["stage"] for r in runs] == ["autoencoder", "denoiser"] and runs[1]["step"] == 0
    assert runs[1]["settings"]["anneal"] is True and runs[0]["settings"]["anneal"] is False
    from engine.backends.sketch import SketchBackend
    from engine.device import pick_device

    backend = SketchBackend.load(tmp_path, pick_device("cpu"))
    assert backend.trained and backend.capabilities.latent_channels == config.autoencoder.latent_channels

    # refining the decoder changes the decoder only: the latent space and the denoiser stay as they were
    before = load_file(str(tmp_path / "sketch.safetensors"))
    main(["decoder", "--out", out, "--minutes", "0.001", "--batch", "1", "--temporal-loss", "1"])
    after = load_file(str(tmp_path / "sketch.safetensors"))
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert changed and all(name.startswith(("autoencoder.", "preview.")) for name in changed)
    assert not any(name.startswith(("autoencoder.encoder", "autoencoder.fold")) for name in changed)
    refined, *_, resumed_step = load_or_create(tmp_path)
    assert refined.latent_mean == config.latent_mean and resumed_step == step


def test_an_older_decoder_gains_temporal_context_and_decodes_as_before(tmp_path):
    older = SketchConfig(autoencoder=AutoencoderConfig(**LEGACY_DECODER))
    legacy_file = json.loads(older.to_json())
    for key in LEGACY_DECODER:  # a settings file from before the option existed
        del legacy_file["autoencoder"][key]
    (tmp_path / "config.json").write_text(json.dumps(legacy_file))
    assert SketchConfig.from_json(tmp_path / "config.json") == older
    modules = build_modules(older)
    config, upgraded = upgrade_decoder(older, modules)
    assert config.autoencoder == AutoencoderConfig() and upgraded.autoencoder.temporal is not None
    latents = torch.randn(1, 16, 4, 10, 16, generator=torch.Generator().manual_seed(0))  # [B, z, T, h, w]
    with torch.no_grad():
        before, after = modules.autoencoder.decode(latents), upgraded.autoencoder.decode(latents)
    assert after.shape == before.shape == (1, 3, 16, 80, 128)
    assert torch.allclose(after, before, atol=1e-5)
    assert all(
        torch.equal(a, b)
        for a, b in zip(
            modules.denoiser.state_dict().values(), upgraded.denoiser.state_dict().values(), strict=True
        )
    )
    assert upgrade_decoder(config, upgraded)[1] is upgraded  # already current: nothing to do


def _denoise(modules, x, sigma, text):
    timestep = torch.full((1, x.shape[2] * 40), 1000.0 * sigma)  # [B, T·h'·w']: 40 tokens per latent frame
    return modules.denoiser(
        hidden_states=x, timestep=timestep, encoder_hidden_states=text, return_dict=False
    )[0]


def test_a_grown_denoiser_predicts_as_before_and_its_new_blocks_learn():
    config = SketchConfig()
    modules = build_modules(config)
    grown_config, grown = grow_denoiser(config, modules, config.denoiser.layers + 3)
    assert grown_config.denoiser.layers == len(grown.denoiser.blocks) == config.denoiser.layers + 3
    assert grown_config.autoencoder == config.autoencoder and grown_config.text_encoder == config.text_encoder
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 16, 3, 10, 16, generator=generator)  # [B, z, T, h, w]
    text = torch.randn(1, 24, 128, generator=generator)  # [B, L, D]
    with torch.no_grad():
        before, after = _denoise(modules, x, 0.7, text), _denoise(grown, x, 0.7, text)
    assert torch.equal(after, before)  # the new blocks start as identities
    _denoise(grown, x, 0.7, text).square().mean().backward()
    new_block = grown.denoiser.blocks[1]  # the copy following trained block 0
    assert float(new_block.attn1.to_out[0].weight.grad.abs().sum()) > 0  # it has something to learn
    with pytest.raises(SystemExit, match="cannot shrink"):
        grow_denoiser(grown_config, grown, config.denoiser.layers)
    assert grow_denoiser(config, modules, config.denoiser.layers)[1] is modules


@pytest.fixture(scope="module")
def scene_clip():
    scene = SceneSpec(
        subjects=(SubjectSpec("ball", "red", "right", "fast", x=0.3),), ground="snow", sky="night"
    )
    return scene, render(scene, 24, 128, 80).frames


def test_metrics_read_the_world_ground_truth(scene_clip):
    scene, frames = scene_clip
    assert ground_of(frames) == "snow" and sky_of(frames) == "night"
    assert subject_colour_of(frames, distinguishable_colours(scene)) == "red"
    assert motion_of(frames, "red") == "right"
    for motion in ("left", "up", "still"):
        still = SceneSpec(subjects=(SubjectSpec("box", "blue", motion, "slow", x=0.5, y=0.8),), ground="sand")
        assert motion_of(render(still, 24, 128, 80).frames, "blue") == motion


def test_a_subject_wrapping_round_the_frame_in_two_copies_still_reads_as_its_motion():
    # the model draws a wrap as the world does, but for a few frames the copy leaving the top and the copy
    # entering at the bottom both show; their joint centroid glides down while the subject rises
    scene = SceneSpec(subjects=(SubjectSpec("box", "red", "still", "slow", x=0.5, y=0.8),), ground="sand")
    frames = render_background(scene, 36, 128, 80).copy()  # [T, H, W, 3]
    size = 14
    for t in range(36):
        top = 50 - 2 * t  # rising 2 px / frame
        for y in (top, top + 80):  # the next copy enters from below as this one leaves
            rows = slice(max(y, 0), min(y + size, 80))
            frames[t, rows, 57 : 57 + size] = SUBJECT_COLORS["red"]
    both = [t for t in range(36) if 50 - 2 * t < 0 < 50 - 2 * t + size]  # leaving the top, entering below
    assert len(both) >= 4  # frames showing the two copies at once
    assert motion_of(frames, "red") == "up"


def test_seam_jump_is_about_one_for_a_continuous_clip_and_large_for_a_cut(scene_clip):
    _, frames = scene_clip
    assert seam_jump(frames[:12], frames[12:]) < 1.5
    assert seam_jump(frames[:12], offworld_clip(12, 128, 80)) > 5


def test_the_evaluation_reports_every_figure_beside_its_reference(sketch_backend):
    report = evaluate(sketch_backend, prompts=1, steps=1)
    for name in ("colour", "ground", "sky", "motion"):
        assert 0.0 <= report[f"adherence_{name}"] <= 1.0
    for name in ("extend", "bridge"):
        assert report[f"continuation_error_{name}_freeze"] > 0.0  # the world's subjects move
        assert 0.0 < report[f"continuation_error_{name}"] < 255.0
        assert report[f"seam_jump_{name}"] > 0.0
    assert report["seam_jump_offworld"] > 0.0


def test_adherence_counts_every_prompt_once_in_the_motion_confusion(sketch_backend):
    report = adherence(sketch_backend, prompts=3, steps=1)
    confusion = report["motion_confusion"]
    assert sum(confusion.values()) == 3
    asked = [key.split("->")[0] for key in confusion]
    assert set(asked) <= {"left", "right", "up", "down", "bounce", "still"}
    right = sum(n for key, n in confusion.items() if key.split("->")[0] == key.split("->")[1])
    assert report["adherence_motion"] == right / 3
    misses = report["colour_misses"]  # only the prompts whose colour came out wrong, e.g. "purple->none"
    assert sum(misses.values()) == round(3 * (1 - report["adherence_colour"]))
    assert all(key.split("->")[0] != key.split("->")[1] for key in misses)
    assert "seam_jump_extend" not in report  # adherence alone skips the extension and bridge runs
    assert report["duplicated"] in (0.0, 1 / 3, 2 / 3, 1.0)


def test_motion_weights_favour_what_moves_over_the_still_backdrop():
    x0 = torch.zeros(1, 4, 6, 8, 8)  # [B, z, T, h, w]: a still backdrop …
    for t in range(6):
        x0[0, :, t, 2, t] = 3.0  # … and a subject crossing it
    weights = motion_weights(x0, strength=1.0)
    assert weights.shape == (1, 1, 6, 8, 8)
    assert weights[0, 0, 3, 2, 3] > 3 * weights[0, 0, 3, 6, 6]  # the subject outweighs the backdrop
    assert torch.allclose(motion_weights(x0, strength=0.0), torch.ones(1, 1, 6, 8, 8))  # off: plain mean


def test_the_motion_detector_reads_every_true_motion_of_held_out_scenes():
    scenes = _eval_scenes(36, seed=3)
    assert {s.subjects[0].motion for s in scenes} == {"left", "right", "up", "down", "bounce", "still"}
    for scene in scenes:
        subject = scene.subjects[0]
        assert motion_of(render(scene, 36, 128, 80).frames, subject.color) == subject.motion, scene


def test_the_colour_reader_reads_every_true_colour_of_held_out_scenes():
    scenes = _eval_scenes(48, seed=1)
    assert {s.subjects[0].color for s in scenes} == set(SUBJECT_COLORS)
    assert any(s.sky == "sunset" and s.ground == "water" for s in scenes)  # orange horizon and reflections
    for scene in scenes:
        frames = render(scene, 36, 128, 80).frames
        assert subject_colour_of(frames, distinguishable_colours(scene)) == scene.subjects[0].color, scene


def test_the_copy_counter_sees_one_copy_of_every_true_subject_and_both_of_twins():
    scenes = _eval_scenes(48, seed=2)
    assert {s.subjects[0].kind for s in scenes} == {"ball", "box", "car", "bird", "person"}  # many parts
    for scene in scenes:
        frames = render(scene, 36, 128, 80).frames
        assert not duplicated(frames, scene.subjects[0].color), scene
    ball = SubjectSpec("ball", "red", "still", "slow", x=0.25, y=0.9)
    twins = SceneSpec(subjects=(ball, dataclasses.replace(ball, x=0.75)), ground="grass", sky="day")
    frames = render(twins, 12, 128, 80).frames
    assert subject_copies(frames, "red").tolist() == [2] * 12  # what a duplicated subject looks like
    assert duplicated(frames, "red") and not duplicated(frames, "red", subjects=2)


def test_a_subject_left_out_of_its_backdrop_reads_as_no_colour():
    scene = SceneSpec(subjects=(SubjectSpec("ball", "purple", "still", "slow", x=0.5, y=0.9),), sky="sunset")
    backdrop = render_background(scene, 12, 128, 80)
    assert "orange" not in distinguishable_colours(scene)  # the sunset holds orange: it is not asked about
    assert subject_colour_of(backdrop, distinguishable_colours(scene)) is None


def test_scenes_whose_subject_matches_its_backdrop_are_not_measured():
    white, red = (SubjectSpec("ball", colour, "still", "slow", x=0.5, y=0.9) for colour in ("white", "red"))
    assert not measurable(SceneSpec(subjects=(white,), ground="snow", sky="day"))
    assert measurable(SceneSpec(subjects=(red,), ground="snow", sky="day"))


def test_lagged_noise_practises_frame_lagged_sampling_beside_the_context():
    settings = TrainSettings(stage="denoiser", per_frame_noise=0.0, clean_context=0.5, lagged_noise=1.0)
    sigmas = sample_sigmas(torch.Generator().manual_seed(4), 300, 9, settings)
    assert float(sigmas.max()) <= 1 and not (sigmas == 0).all(dim=1).any()
    for row in sigmas:
        known = row == 0
        if bool(known[0]) and not bool(known[-1]):  # forward context: σ never falls away from it
            assert bool((row[1:] >= row[:-1] - 1e-6).all()), row
    spread = sigmas.max(dim=1).values - sigmas.where(sigmas > 0, 1.0).min(dim=1).values
    assert float((spread > 0.2).float().mean()) > 0.5  # nearly finished frames beside noisy ones
