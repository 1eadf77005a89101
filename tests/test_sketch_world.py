"""Tests of the storyboard world (renderer, captions, ground truth) and the sketch prompt vocabulary."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.sketch.captions import caption
from engine.sketch.vocabulary import (
    CAMERAS,
    COLORS,
    GROUNDS,
    MOTIONS,
    SKIES,
    SPEEDS,
    SUBJECTS,
    VOCABULARY,
    WEATHERS,
    normalize_prompt,
    parse_scene,
)
from engine.sketch.world import (
    GROUND_COLORS,
    SKY_COLORS,
    SUBJECT_COLORS,
    SceneSpec,
    SubjectSpec,
    complete_scene,
    render,
    sample_scene,
)

W, H = 128, 80


def _scene(
    kind: str = "ball",
    color: str = "red",
    motion: str = "right",
    speed: str = "slow",
    x: float = 0.3,
    y: float = 0.9,
    **scene: object,
) -> SceneSpec:
    return SceneSpec((SubjectSpec(kind, color, motion, speed, x, y),), **scene)


def _recolored(scene: SceneSpec, index: int) -> SceneSpec:
    """The same scene with subject `index` in another colour: the pixels that change are its silhouette."""
    subject = scene.subjects[index]
    other = "blue" if subject.color == "red" else "red"
    subjects = list(scene.subjects)
    subjects[index] = dataclasses.replace(subject, color=other)
    return dataclasses.replace(scene, subjects=tuple(subjects))


def _silhouette(scene: SceneSpec, index: int, frames: int = 12) -> np.ndarray:  # [T, H, W] bool
    a = render(scene, frames, W, H).frames
    b = render(_recolored(scene, index), frames, W, H).frames
    return (a != b).any(axis=-1)


def _box_mask(box: np.ndarray, margin: float = 0.5) -> np.ndarray:  # [H, W] bool
    x0, y0 = np.floor(box[:2] - margin).astype(int)
    x1, y1 = np.ceil(box[2:] + margin).astype(int)
    mask = np.zeros((H, W), bool)
    mask[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = True
    return mask


def _nearest(color: np.ndarray, references: dict) -> str:
    return min(references, key=lambda name: float(np.sum((color - np.array(references[name])) ** 2)))


def _as_tuples(text: str) -> tuple[tuple, dict]:
    parsed = parse_scene(text)
    subjects = tuple((s.kind, s.color, s.motion, s.speed) for s in parsed.subjects)
    scene = {k: getattr(parsed, k) for k in ("ground", "sky", "weather", "camera") if getattr(parsed, k)}
    return subjects, scene


# --- determinism and time ----------------------------------------------------------------------------------


def test_same_scene_renders_identical_frames_and_truth():
    scene = sample_scene(np.random.default_rng(3))
    a, b = render(scene, 12, W, H), render(scene, 12, W, H)
    assert a.frames.shape == (12, H, W, 3) and a.frames.dtype == np.uint8
    assert np.array_equal(a.frames, b.frames)
    assert np.array_equal(a.subject_boxes, b.subject_boxes)
    assert a.subject_boxes.shape == (12, len(scene.subjects), 4)


def test_sampling_is_reproducible_and_seeds_differ():
    assert sample_scene(np.random.default_rng(7)) == sample_scene(np.random.default_rng(7))
    scenes = [sample_scene(np.random.default_rng(seed)) for seed in range(8)]
    assert len(set(scenes)) == 8
    assert not np.array_equal(render(scenes[0], 2, W, H).frames, render(scenes[1], 2, W, H).frames)


def test_holdout_rejects_combinations():
    rng = np.random.default_rng(0)

    def red_on_snow(scene: SceneSpec) -> bool:
        return scene.ground == "snow" and any(s.color == "red" for s in scene.subjects)

    scenes = [sample_scene(rng, holdout=red_on_snow) for _ in range(300)]
    assert not any(red_on_snow(s) for s in scenes)
    assert {s.ground for s in scenes} == set(GROUNDS)


@pytest.mark.parametrize("camera", CAMERAS)
def test_rendering_further_in_time_continues_seamlessly(camera):
    rng = np.random.default_rng(CAMERAS.index(camera))
    for weather in WEATHERS:
        scene = dataclasses.replace(sample_scene(rng, two_subjects=1.0), camera=camera, weather=weather)
        whole = render(scene, 72, W, H)
        first, second = render(scene, 36, W, H), render(scene, 36, W, H, start_frame=36)
        assert np.array_equal(whole.frames, np.concatenate([first.frames, second.frames]))
        for name in ("subject_boxes", "horizon", "camera_offset", "zoom"):
            joined = np.concatenate([getattr(first, name), getattr(second, name)])
            np.testing.assert_allclose(getattr(whole, name), joined, rtol=1e-6, atol=1e-4)


def test_frame_rate_changes_sampling_of_time_not_the_scene():
    scene = _scene(motion="left", speed="fast", camera="zoom_in", weather="rain")
    at_24 = render(scene, 8, W, H, fps=24)
    at_12 = render(scene, 4, W, H, fps=12)
    assert np.array_equal(at_24.frames[::2], at_12.frames)


# --- captions and the vocabulary ---------------------------------------------------------------------------


def test_captions_parse_back_to_the_scene():
    rng = np.random.default_rng(11)
    for _ in range(500):
        scene = sample_scene(rng)
        text = caption(scene, rng)
        parsed = parse_scene(text)
        assert parsed.unknown == (), text
        assert (parsed.ground, parsed.sky) == (scene.ground, scene.sky), text
        assert (parsed.weather or "none", parsed.camera or "static") == (scene.weather, scene.camera), text
        got = [(s.kind, s.color, s.motion, s.speed) for s in parsed.subjects]
        want = [(s.kind, s.color, s.motion, None if s.motion == "still" else s.speed) for s in scene.subjects]
        assert got == want, text


def test_partial_captions_name_only_true_values():
    rng = np.random.default_rng(12)
    named = 0
    for _ in range(200):
        scene = sample_scene(rng)
        text = caption(scene, rng, detail=0.5)
        parsed = parse_scene(text)
        assert parsed.unknown == (), text
        assert parsed.ground in (None, scene.ground) and parsed.sky in (None, scene.sky), text
        assert parsed.weather in (None, scene.weather) and parsed.camera in (None, scene.camera), text
        for got, want in zip(parsed.subjects, scene.subjects, strict=True):
            assert (got.kind, got.color, got.motion) == (want.kind, want.color, want.motion), text
            assert got.speed in (None, want.speed), text
        named += parsed.ground is not None
    assert 50 < named < 150  # about half name the ground


def test_caption_without_generator_is_fixed():
    scene = _scene(kind="car", color="orange", motion="left", speed="fast", ground="road", sky="night")
    assert caption(scene) == caption(scene)
    assert caption(scene) == "An orange car drives left quickly on a road at night"


@pytest.mark.parametrize(
    ("prompt", "subjects", "scene"),
    [
        (
            "a red ball moving left over snowy ground at night",
            (("ball", "red", "left", None),),
            {"ground": "snow", "sky": "night"},
        ),
        (
            "A blue box bounces quickly on the beach at sunset while snow is falling",
            (("box", "blue", "bounce", "fast"),),
            {"ground": "sand", "sky": "sunset", "weather": "snowfall"},
        ),
        (
            "two yellow birds fly up slowly under a blue sky",
            (("bird", "yellow", "up", "slow"), ("bird", "yellow", "up", "slow")),
            {"sky": "day"},
        ),
        (
            "the camera pans to the left as a person walks right along the street in the rain",
            (("person", None, "right", None),),
            {"ground": "road", "weather": "rain", "camera": "pan_left"},
        ),
        (
            "zooming in on a purple cube that is not moving, dusk, snowy field",
            (("box", "purple", "still", None),),
            {"ground": "snow", "sky": "sunset", "camera": "zoom_in"},
        ),
        (
            "a white car stays still on asphalt at nighttime, static camera",
            (("car", "white", "still", None),),
            {"ground": "road", "sky": "night", "camera": "static"},
        ),
        (
            "A man standing still in a sandy desert under a starry sky",
            (("person", None, "still", None),),
            {"ground": "sand", "sky": "night"},
        ),
        (
            "a crimson sphere rises rapidly over the ocean in daytime, camera pulls back",
            (("ball", "red", "up", "fast"),),
            {"ground": "water", "sky": "day", "camera": "zoom_out"},
        ),
        (
            "green kid drops slowly onto the lawn, sunny, it is raining",
            (("person", "green", "down", "slow"),),
            {"ground": "grass", "sky": "day", "weather": "rain"},
        ),
        (
            "a violet crate hops on a frozen lake at dawn, locked-off shot",
            (("box", "purple", "bounce", None),),
            {"ground": "snow", "sky": "sunset", "camera": "static"},
        ),
        (
            "an orange automobile moves from right to left on the highway; the camera pans right",
            (("car", "orange", "left", None),),
            {"ground": "road", "camera": "pan_right"},
        ),
        (
            "balls moving downward on the sea in the evening, snowing",
            (("ball", None, "down", None),),
            {"ground": "water", "sky": "sunset", "weather": "snowfall"},
        ),
        ("a box on snow", (("box", None, None, None),), {"ground": "snow"}),
        ("snow falling on a box", (("box", None, None, None),), {"weather": "snowfall"}),
        (
            "people walking leftwards through a meadow at dusk, push in",
            (("person", None, "left", None),),
            {"ground": "grass", "sky": "sunset", "camera": "zoom_in"},
        ),
        (
            "a car zooms right down the road",
            (("car", None, "right", "fast"),),
            {"ground": "road"},
        ),
        (
            "a red ball and a blue box",
            (("ball", "red", None, None), ("box", "blue", None, None)),
            {},
        ),
        (
            "a red ball moves left and a fast blue car drives right",
            (("ball", "red", "left", None), ("car", "blue", "right", "fast")),
            {},
        ),
        (
            "a ball that is red bounces while a box that is black stays still",
            (("ball", "red", "bounce", None), ("box", "black", "still", None)),
            {},
        ),
    ],
)
def test_prompt_words_map_to_attributes(prompt, subjects, scene):
    assert _as_tuples(prompt) == (subjects, scene)
    assert normalize_prompt(prompt).unknown == ()


def test_structural_and_marks_where_the_second_subject_starts():
    assert normalize_prompt("a red ball and a blue box").tokens == ("red", "ball", "and", "blue", "box")
    assert normalize_prompt("a red ball moves left and the camera pans right").tokens == (
        "red",
        "ball",
        "left",
        "pan_right",
    )


def test_unknown_words_are_reported_once_in_order():
    normalized = normalize_prompt("A red Dragon flies left over the castle; the dragon is grey")
    assert normalized.unknown == ("dragon", "castle", "grey")
    assert normalized.tokens == ("red", "left")
    assert (
        normalize_prompt(
            "the ball is on the sand, and then it is in the sky while the camera is still"
        ).unknown
        == ()
    )


def test_a_third_subject_and_second_values_are_dropped_and_said_so():
    normalized = normalize_prompt("a red ball, a blue box and a green car")
    assert normalized.tokens == ("red", "ball", "and", "blue", "box")
    assert normalized.dropped == ("green", "car")
    normalized = normalize_prompt("a ball moves left then right on a snowy road on a sunny day at night")
    assert normalized.tokens == ("ball", "left", "snow", "day")
    assert normalized.dropped == ("right", "road", "night")
    assert normalize_prompt("a car drives down the road").tokens == ("car", "road")
    assert normalize_prompt("a pan-left over a field").tokens == ("pan_left", "grass")
    assert normalize_prompt("a locked-off shot of a zooming car").dropped == ("zoom_in",)


def test_vocabulary_holds_every_canonical_value_once():
    assert len(set(VOCABULARY)) == len(VOCABULARY)
    for values in (SUBJECTS, COLORS, MOTIONS, SPEEDS, GROUNDS, SKIES, CAMERAS, WEATHERS[1:]):
        assert set(values) <= set(VOCABULARY)
    rng = np.random.default_rng(5)
    for _ in range(100):
        assert set(normalize_prompt(caption(sample_scene(rng), rng)).tokens) <= set(VOCABULARY)


def test_complete_scene_keeps_what_the_prompt_asks():
    parsed = parse_scene("a purple bird flies right quickly over the sea at sunset")
    for seed in range(5):
        scene = complete_scene(parsed, np.random.default_rng(seed))
        assert (scene.ground, scene.sky, scene.camera, scene.weather) == ("water", "sunset", "static", "none")
        (bird,) = scene.subjects
        assert (bird.kind, bird.color, bird.motion, bird.speed) == ("bird", "purple", "right", "fast")


def test_invalid_specs_are_rejected():
    with pytest.raises(ValueError):
        SubjectSpec("dragon", "red", "left")
    with pytest.raises(ValueError):
        SceneSpec((), ground="grass")
    with pytest.raises(ValueError):
        _scene(ground="lava")


# --- ground truth agrees with the pixels -------------------------------------------------------------------


@pytest.mark.parametrize("kind", SUBJECTS)
def test_subject_fills_its_box_and_its_colour_dominates(kind):
    for color in COLORS:
        scene = _scene(kind=kind, color=color, ground=GROUNDS[COLORS.index(color) % 5], seed=1)
        clip = render(scene, 12, W, H)
        inside = _silhouette(scene, 0)
        exact = (np.abs(clip.frames.astype(int) - SUBJECT_COLORS[color]).max(axis=-1) <= 2) & inside
        for t in range(12):
            box = _box_mask(clip.subject_boxes[t, 0])
            assert not (inside[t] & ~box).any(), "subject pixels outside its box"
            assert inside[t][box].mean() > 0.3, "box much larger than the subject"
            assert exact[t].sum() > 0.45 * inside[t].sum(), f"{color} {kind} does not dominate its silhouette"


def test_boxes_follow_the_pixels_under_any_camera():
    rng = np.random.default_rng(21)
    for _ in range(12):
        scene = dataclasses.replace(sample_scene(rng), weather="none")
        clip = render(scene, 12, W, H)
        for index in range(len(scene.subjects)):
            inside = _silhouette(scene, index)
            for t in range(12):
                assert not (inside[t] & ~_box_mask(clip.subject_boxes[t, index])).any(), scene


@pytest.mark.parametrize("weather", WEATHERS)
def test_ground_band_colour_identifies_the_ground(weather):
    for ground in GROUNDS:
        for sky in SKIES:
            clip = render(_scene(x=0.8, ground=ground, sky=sky, weather=weather), 4, W, H)
            for t in range(4):
                band = np.zeros((H, W), bool)
                band[int(np.ceil(clip.horizon[t])) + 2 :] = True
                band &= ~_box_mask(clip.subject_boxes[t, 0])
                mean = clip.frames[t][band].mean(axis=0)
                assert _nearest(mean, GROUND_COLORS) == ground, (ground, sky, weather, mean)


@pytest.mark.parametrize("weather", WEATHERS)
def test_sky_band_colour_identifies_the_sky(weather):
    for sky in SKIES:
        for ground in GROUNDS:
            clip = render(_scene(x=0.8, ground=ground, sky=sky, weather=weather, seed=4), 4, W, H)
            for t in range(4):
                band = np.zeros((H, W), bool)
                band[: int(clip.horizon[t]) - 2] = True
                band &= ~_box_mask(clip.subject_boxes[t, 0])
                mean = clip.frames[t][band].mean(axis=0)
                assert _nearest(mean, SKY_COLORS) == sky, (sky, ground, weather, mean)


@pytest.mark.parametrize(
    ("motion", "axis", "sign"), [("left", 0, -1), ("right", 0, 1), ("up", 1, -1), ("down", 1, 1)]
)
def test_motion_direction_matches_box_centres(motion, axis, sign):
    for speed, expected in (("slow", 1.0), ("fast", 2.5)):
        clip = render(_scene(motion=motion, speed=speed, x=0.5, y=0.7), 36, W, H)
        boxes = clip.subject_boxes[:, 0]
        centre = (boxes[:, axis] + boxes[:, axis + 2]) / 2
        step = np.median(np.diff(centre))  # robust to the one jump when the subject wraps around
        scale = 1.0 if axis == 0 else H / W  # vertical speeds are the same fraction of the height
        assert step == pytest.approx(sign * expected * scale, rel=1e-3)
        other = (boxes[:, 1 - axis] + boxes[:, 3 - axis]) / 2
        assert np.ptp(other) < 1e-3


def test_bounce_goes_up_and_comes_back_down():
    clip = render(_scene(motion="bounce", speed="fast", y=0.9), 36, W, H)
    bottom = clip.subject_boxes[:, 0, 3]
    ground_line = 0.9 * H
    assert bottom.max() == pytest.approx(ground_line)
    assert bottom.min() < ground_line - 15
    landings = np.flatnonzero(np.isclose(bottom, ground_line))
    assert len(landings) >= 3  # a hop every 12 frames
    assert np.ptp((clip.subject_boxes[:, 0, 0] + clip.subject_boxes[:, 0, 2]) / 2) < 1e-3


def test_pans_move_the_view_and_still_subjects_with_it():
    still = render(_scene(motion="still", x=0.8, camera="static"), 8, W, H)
    assert np.ptp(still.subject_boxes[:, 0], axis=0).max() == 0
    panned = render(_scene(motion="still", x=0.8, camera="pan_right"), 8, W, H)
    centre = (panned.subject_boxes[:, 0, 0] + panned.subject_boxes[:, 0, 2]) / 2
    assert np.allclose(np.diff(centre), -1.0)  # the camera moves right: the world slides left
    assert np.allclose(np.diff(panned.camera_offset), 1.0)
    # the background slides too: columns clear of the subject shift by one pixel per frame
    assert np.array_equal(panned.frames[1][:, :60], panned.frames[0][:, 1:61])


@pytest.mark.parametrize(("camera", "grows"), [("zoom_in", True), ("zoom_out", False)])
def test_zoom_scales_subjects_about_the_centre(camera, grows):
    clip = render(_scene(motion="still", x=0.5, y=0.9, camera=camera), 36, W, H)
    width = clip.subject_boxes[:, 0, 2] - clip.subject_boxes[:, 0, 0]
    assert np.all(np.diff(clip.zoom) > 0) == grows and np.all(np.diff(clip.zoom) < 0) != grows
    np.testing.assert_allclose(width / width[0], clip.zoom / clip.zoom[0], rtol=1e-5)
    centre = (clip.subject_boxes[:, 0, 0] + clip.subject_boxes[:, 0, 2]) / 2
    assert np.allclose(centre, W / 2)
    assert (clip.horizon[-1] > clip.horizon[0]) == grows  # the horizon lies below the centre


def test_weather_particles_fall():
    dry = render(_scene(ground="grass", sky="night"), 6, W, H).frames.astype(int)
    for weather in ("snowfall", "rain"):
        wet = render(_scene(ground="grass", sky="night", weather=weather), 6, W, H).frames.astype(int)
        changed = (np.abs(wet - dry).max(axis=-1) > 40).mean(axis=(1, 2))
        assert np.all(changed > 0.003), weather
