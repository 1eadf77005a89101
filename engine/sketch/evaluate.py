"""Evaluate the sketch model on held-out attribute combinations: prompt adherence, extension seams, bridges.

    python -m engine.sketch.evaluate [--folder resources/sketch] [--prompts 16] [--steps N] [--guidance G]
                                     [--adherence-only]

Adherence is measured from the frames with simple image analysis against the world's reference colours:
the subject's colour (the dominant colour among those its backdrop does not hold), the ground band, the
sky band, and the subject's motion (the centroid of its largest colour patch over time); each reads the
world's own renders of the held-out scenes right (tests check it). Extension and bridge quality are the
seam jump: the mean frame difference across a join divided by the median frame difference inside the
clips (1 = a join as smooth as the footage itself), on world clips and on clips the world did not make;
and the error against the world's true render of those frames, beside a reference measured in the same
run (a frozen last frame for an extension, a cross-dissolve for a bridge: what an editor without the model
would do).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.backends.sketch import SketchBackend
from engine.device import pick_device
from engine.generate import run_generation
from engine.requests import GenerationRequest, KnownFrames
from engine.sketch.captions import caption
from engine.sketch.data import is_held_out
from engine.sketch.world import (
    GROUND_COLORS,
    SKY_COLORS,
    SUBJECT_COLORS,
    SceneSpec,
    render,
    render_background,
    sample_scene,
)

MIN_SUBJECT_PIXELS = 25  # per frame at 128×80
COPY_GAP = 3  # px: patches of the subject colour nearer than this are parts of one silhouette
MIN_COPY_SHARE = 0.5  # of the largest patch: a smaller patch is a speck, not another copy of the subject
COLOUR_DISTANCE = 60.0
MAX_SUBJECT_SHARE = 0.25  # of a frame: more is a band of background, not a subject
BOUNCE_HEIGHT = 6.0  # px the centroid must rise and fall for a bounce (a wing beat moves it ~2)


def _nearest(colour: np.ndarray, references: dict) -> str:
    return min(references, key=lambda name: float(np.linalg.norm(colour - np.array(references[name]))))


def ground_of(frames: np.ndarray) -> str:
    h = frames.shape[1]
    return _nearest(frames[:, int(0.82 * h) :].reshape(-1, 3).mean(axis=0), dict(GROUND_COLORS))


def sky_of(frames: np.ndarray) -> str:
    h = frames.shape[1]
    return _nearest(frames[:, : int(0.25 * h)].reshape(-1, 3).mean(axis=0), dict(SKY_COLORS))


def _colour_mask(frames: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    distance = np.linalg.norm(frames.astype(np.float32) - np.array(colour, np.float32), axis=-1)
    return distance < COLOUR_DISTANCE  # [T, H, W]


def subject_pixels(frames: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """Pixels per frame `[T]` near `colour` once the detected ground and sky colours are removed: what of the
    colour lies in the subjects' region rather than the background."""
    return (_colour_mask(frames, colour) & ~_background_mask(frames)).sum(axis=(1, 2))


def subject_colour_of(frames: np.ndarray, candidates: Sequence[str]) -> str | None:
    """The candidate colour covering the most pixels, each pixel labelled with the nearest of the candidate
    colours and the detected ground and sky colours (within COLOUR_DISTANCE): what is nearer the
    backdrop is backdrop. Pass the colours `distinguishable_colours` finds for the prompt's backdrop: a
    sunset's orange horizon and its reflections on water outnumber a purple subject, and the top of a
    night sky is nearer black than the sky's mean, so either would win on the world's own render."""
    references = [SUBJECT_COLORS[name] for name in candidates]
    references += [GROUND_COLORS[ground_of(frames)], SKY_COLORS[sky_of(frames)]]
    distance = np.linalg.norm(  # [T, H, W, K]
        frames.astype(np.float32)[..., None, :] - np.array(references, np.float32), axis=-1
    )
    label = np.where(distance.min(axis=-1) < COLOUR_DISTANCE, distance.argmin(axis=-1), -1)  # [T, H, W]
    counts = {name: float((label == k).sum(axis=(1, 2)).mean()) for k, name in enumerate(candidates)}
    best = max(counts, key=counts.get)
    return best if counts[best] >= MIN_SUBJECT_PIXELS else None


def _background_mask(frames: np.ndarray) -> np.ndarray:
    """Pixels `[T, H, W]` near the detected ground or sky colour."""
    return _colour_mask(frames, GROUND_COLORS[ground_of(frames)]) | _colour_mask(
        frames, SKY_COLORS[sky_of(frames)]
    )


def subject_track(frames: np.ndarray, colour: str) -> np.ndarray:
    """`[N, 3]` rows of (frame, x, y): the centroid of the subject in each frame where enough of its colour
    shows, off the background; where the subject shares the background's colour (a white ball on snow)
    and nothing is left off it, the whole colour mask, unless that covers a band of the frame.

    The subject is the largest patch of its colour (`patch_labels`): while a subject wraps round an edge,
    the copy leaving and the copy entering both show for a few frames, and the centroid of both would
    glide across the frame the wrong way; the largest one jumps, and `motion_of` leaves jumps out."""
    colour_mask = _colour_mask(frames, SUBJECT_COLORS[colour])  # [T, H, W]
    ys, xs = np.mgrid[: frames.shape[1], : frames.shape[2]]
    for mask in (colour_mask & ~_background_mask(frames), colour_mask):
        shown = [t for t, m in enumerate(mask) if MIN_SUBJECT_PIXELS <= m.sum() <= MAX_SUBJECT_SHARE * m.size]
        if len(shown) >= len(frames) // 2:
            break
    labels = patch_labels(mask[shown]) if shown else np.zeros((0, *mask.shape[1:]), np.int64)
    rows = []
    for t, frame_mask, frame_labels in zip(shown, mask[shown], labels, strict=True):
        ids, sizes = np.unique(frame_labels[frame_mask], return_counts=True)
        largest = frame_mask & (frame_labels == ids[np.argmax(sizes)])
        rows.append((t, xs[largest].mean(), ys[largest].mean()))
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def _grow(mask: np.ndarray, radius: int) -> np.ndarray:
    """`mask [T, H, W]` with every pixel within `radius` (a square) of a set pixel set too."""
    height, width = mask.shape[1:]
    padded = np.pad(mask, ((0, 0), (radius, radius), (radius, radius)))
    span = range(-radius, radius + 1)
    return np.max(
        [
            padded[:, radius + dy : radius + dy + height, radius + dx : radius + dx + width]
            for dy in span
            for dx in span
        ],
        axis=0,
    )


def subject_copies(frames: np.ndarray, colour: str) -> np.ndarray:
    """Per frame `[T]`: how many separate patches of the subject colour, off the background, show.

    A silhouette's own parts (a person's head and body, a car's body between its windows) lie within a few
    pixels of each other, so patches are counted as `patch_labels` joins them; patches under
    MIN_COPY_SHARE of the largest one (road markings, specks) do not count. The world's own renders of
    the held-out scenes read as one copy per subject (tested)."""
    mask = _colour_mask(frames, SUBJECT_COLORS[colour]) & ~_background_mask(frames)  # [T, H, W]
    labels = patch_labels(mask)
    counts = np.zeros(len(frames), dtype=np.int64)
    for t in range(len(frames)):
        _, sizes = np.unique(labels[t][mask[t]], return_counts=True)  # the subject's own pixels per patch
        if sizes.size:
            counts[t] = int(
                ((sizes >= MIN_SUBJECT_PIXELS / 2) & (sizes >= MIN_COPY_SHARE * sizes.max())).sum()
            )
    return counts


def patch_labels(mask: np.ndarray) -> np.ndarray:
    """`[T, H, W]` int labels of the patches of `mask [T, H, W]` (0 off it): pixels within COPY_GAP of each
    other share a label, so a silhouette's parts (a person's head and body) are one patch. Labels spread
    as the largest neighbouring label until nothing changes, and each pixel then takes the label of the pixel
    its label names (which lies in the same patch and holds a label as large or larger), so a label crosses
    a patch in about log₂ of its length of rounds instead of its length (numpy only)."""
    grown = _grow(mask, COPY_GAP)
    height, width = mask.shape[1:]
    labels = np.where(grown, np.arange(1, mask.size + 1).reshape(mask.shape), 0)
    while True:
        padded = np.pad(labels, ((0, 0), (1, 1), (1, 1)))
        around = np.max(
            [
                padded[:, 1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
                for dy in (-1, 0, 1)
                for dx in (-1, 0, 1)
            ],
            axis=0,
        )
        spread = np.where(grown, around, 0)
        spread = np.where(grown, spread.reshape(-1)[np.maximum(spread, 1) - 1].reshape(mask.shape), 0)
        if np.array_equal(spread, labels):
            return labels
        labels = spread


def duplicated(frames: np.ndarray, colour: str, subjects: int = 1) -> bool:
    """Whether more copies of the subject show than the scene has subjects of its colour, in more than a
    quarter of the frames: "a yellow ball" drawn as two or three balls."""
    return float((subject_copies(frames, colour) > subjects).mean()) > 0.25


def motion_of(frames: np.ndarray, colour: str) -> str | None:
    """left / right / up / down / bounce / still from the track of the subject colour's centroid.

    Steps longer than a third of the frame are a subject wrapping round an edge and are left out. A
    bounce rises and falls: its vertical path (unwrapped, smoothed over 3 frames against wing beats and
    jitter) goes both ways by more than a quarter of its travel and spans more than BOUNCE_HEIGHT, while
    up and down keep mostly one direction. Directions are the median step: a few stray frames do not
    decide them."""
    track = subject_track(frames, colour)
    if len(track) < len(frames) // 2:
        return None
    dt, jump_x, jump_y = np.diff(track, axis=0).T
    keep = (np.abs(jump_x) < frames.shape[2] / 3) & (np.abs(jump_y) < frames.shape[1] / 3)  # no wraps
    step_x, step_y = (jump_x / dt)[keep], (jump_y / dt)[keep]  # px / frame
    if len(step_y) < 3:
        return None
    dx, dy = float(np.median(step_x)), float(np.median(step_y))
    path_y = np.convolve(np.cumsum(step_y), np.ones(3) / 3, mode="valid")  # unwrapped, wing beats smoothed
    moves_y = np.diff(path_y)
    rises, falls = float(-moves_y[moves_y < 0].sum()), float(moves_y[moves_y > 0].sum())
    if abs(dx) < 0.3 and np.ptp(path_y) > BOUNCE_HEIGHT and min(rises, falls) > 0.25 * (rises + falls):
        return "bounce"
    if max(abs(dx), abs(dy)) < 0.3:
        return "still"
    if abs(dx) >= abs(dy):
        return "right" if dx > 0 else "left"
    return "down" if dy > 0 else "up"


def seam_jump(before: np.ndarray, after: np.ndarray) -> float:
    """Mean absolute difference across the join ÷ median difference between neighbouring frames inside."""
    inside = [np.abs(np.diff(c.astype(np.float32), axis=0)).mean(axis=(1, 2, 3)) for c in (before, after)]
    typical = float(np.median(np.concatenate(inside)))
    join = float(np.abs(after[0].astype(np.float32) - before[-1].astype(np.float32)).mean())
    return join / max(typical, 0.5)


def continuation_error(made: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute difference (0–255 levels) between generated frames and the true render of that time."""
    return float(np.abs(made.astype(np.float32) - truth.astype(np.float32)).mean())


def distinguishable_colours(scene: SceneSpec, width: int = 128, height: int = 80) -> tuple[str, ...]:
    """The subject colours colour analysis can tell from `scene`'s backdrop: at most 1 % of the world's own
    render of its sky and ground lies near them (not white over snow, black under a night sky, orange
    against a sunset)."""
    backdrop = render_background(scene, 1, width, height)
    return tuple(
        name for name, rgb in SUBJECT_COLORS.items() if float(_colour_mask(backdrop, rgb).mean()) <= 0.01
    )


def measurable(scene: SceneSpec, width: int = 128, height: int = 80) -> bool:
    """Whether colour analysis can tell the subject from its backdrop (see `distinguishable_colours`)."""
    return scene.subjects[0].color in distinguishable_colours(scene, width, height)


def _eval_scenes(count: int, seed: int) -> list[SceneSpec]:
    """Held-out one-subject scenes, static camera, no weather, whose subject the image analysis can see."""
    rng = np.random.default_rng(seed)
    scenes = []
    while len(scenes) < count:
        scene = sample_scene(rng, two_subjects=0.0)
        if is_held_out(scene) and scene.camera == "static" and scene.weather == "none" and measurable(scene):
            scenes.append(scene)
    return scenes


def offworld_clip(frames: int, width: int, height: int) -> np.ndarray:
    """A plain coloured disc moving right over two flat colour bands, unlike anything the world renders."""
    clip = np.empty((frames, height, width, 3), dtype=np.uint8)
    clip[:, : height // 2] = (70, 40, 110)
    clip[:, height // 2 :] = (180, 170, 60)
    ys, xs = np.mgrid[:height, :width]
    for t in range(frames):
        cx, cy = 20 + 1.5 * t, height * 0.55
        clip[t][(xs - cx) ** 2 + (ys - cy) ** 2 < 100] = (240, 240, 240)
    return clip


def adherence(
    backend: SketchBackend,
    prompts: int = 16,
    steps: int | None = None,
    seed: int = 0,
    guidance: float | None = None,
) -> dict:
    """Prompt adherence per attribute on held-out prompts, moving subjects split by speed, and the motion
    confusion ("down->bounce": how many prompts asking for down gave a bounce; "->none": no track found)
    and the colour misses ("red->orange": prompts asking for red whose subject came out orange), and the
    share of prompts whose one subject came out as several copies (`duplicated`)."""
    hits = {"colour": [], "ground": [], "sky": [], "motion": []}
    by_speed: dict[str, list[bool]] = {"slow": [], "fast": []}
    confusion: Counter[str] = Counter()
    colour_misses: Counter[str] = Counter()
    copies = []
    for i, scene in enumerate(_eval_scenes(prompts, seed)):
        subject = scene.subjects[0]
        request = GenerationRequest(prompt=caption(scene), seed=seed + i, steps=steps, guidance=guidance)
        out = run_generation(backend, request).frames
        colour = subject_colour_of(out, distinguishable_colours(scene))
        hits["colour"].append(colour == subject.color)
        if colour != subject.color:
            colour_misses[f"{subject.color}->{colour or 'none'}"] += 1
        hits["ground"].append(ground_of(out) == scene.ground)
        hits["sky"].append(sky_of(out) == scene.sky)
        motion = motion_of(out, subject.color)
        hits["motion"].append(motion == subject.motion)
        copies.append(duplicated(out, subject.color))
        confusion[f"{subject.motion}->{motion or 'none'}"] += 1
        if subject.motion != "still":
            by_speed[subject.speed].append(motion == subject.motion)
    report: dict = {f"adherence_{k}": float(np.mean(v)) for k, v in hits.items()}
    report.update({f"adherence_motion_{k}": float(np.mean(v)) for k, v in by_speed.items() if v})
    report["motion_confusion"] = dict(sorted(confusion.items()))
    report["colour_misses"] = dict(sorted(colour_misses.items()))
    report["duplicated"] = float(np.mean(copies))  # share of prompts whose one subject came out as copies
    return report


def evaluate(
    backend: SketchBackend,
    prompts: int = 16,
    steps: int | None = None,
    seed: int = 0,
    guidance: float | None = None,
) -> dict:
    caps = backend.capabilities
    width, height, frames = caps.default_width, caps.default_height, caps.default_frames
    report = adherence(backend, prompts, steps, seed, guidance)

    context, gap = caps.context_frames, 4 * 4
    seams, bridges, offworld = [], [], []
    errors: dict[str, list[float]] = {"extend": [], "bridge": [], "extend_freeze": [], "bridge_freeze": []}
    for i, scene in enumerate(_eval_scenes(max(2, prompts // 4), seed + 99)):
        clip = render(scene, 2 * frames + gap, width, height).frames
        left, truth, right = clip[:frames], clip[frames : 2 * frames], clip[frames + gap :]
        base = GenerationRequest(
            prompt=caption(scene), seed=seed + i, steps=steps, guidance=guidance, frames=frames
        )
        new = run_generation(backend, base.replace(known=(KnownFrames(-context, left[-context:]),))).frames
        seams.append(seam_jump(left, new))
        errors["extend"].append(continuation_error(new, truth))
        errors["extend_freeze"].append(continuation_error(np.repeat(left[-1:], frames, axis=0), truth))
        bridge_request = base.replace(
            frames=gap, known=(KnownFrames(-context, left[-context:]), KnownFrames(gap, right[:context]))
        )
        bridged = run_generation(backend, bridge_request).frames
        bridges.append((seam_jump(left, bridged) + seam_jump(bridged, right)) / 2)
        errors["bridge"].append(continuation_error(bridged, truth[:gap]))
        crossfade = np.linspace(0, 1, gap + 2)[1:-1, None, None, None]  # the plain editor's answer
        dissolve = (1 - crossfade) * left[-1].astype(np.float32) + crossfade * right[0].astype(np.float32)
        errors["bridge_freeze"].append(continuation_error(dissolve, truth[:gap]))
    plain = offworld_clip(frames, width, height)
    request = GenerationRequest(
        prompt="a white ball moves right",
        steps=steps,
        guidance=guidance,
        frames=frames,
        known=(KnownFrames(-context, plain[-context:]),),
    )
    for i in range(max(2, prompts // 4)):  # one seed's seam is noise (1.5 to 2.8 over 16 seeds): a median
        offworld.append(seam_jump(plain, run_generation(backend, request.replace(seed=seed + i)).frames))
    report.update({f"continuation_error_{k}": float(np.median(v)) for k, v in errors.items()})
    report.update(
        seam_jump_extend=float(np.median(seams)),
        seam_jump_bridge=float(np.median(bridges)),
        seam_jump_offworld=float(np.median(offworld)),
    )
    return report


def quick_report(folder: Path) -> dict:
    """A small evaluation for training logs."""
    backend = SketchBackend.load(folder, pick_device("cpu"))
    return evaluate(backend, prompts=8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--guidance", type=float, default=None, help="override the model's default scale")
    parser.add_argument(
        "--adherence-only", action="store_true", help="only prompt adherence (with the motion confusion)"
    )
    args = parser.parse_args(argv)
    backend = SketchBackend.load(args.folder, pick_device("cpu"))
    measure = adherence if args.adherence_only else evaluate
    print(json.dumps(measure(backend, args.prompts, args.steps, args.seed, args.guidance), indent=2))


if __name__ == "__main__":
    main()
