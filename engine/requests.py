"""What to generate: frozen request dataclasses, their recipe form, and validation against a model."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from engine.backends.base import ModelCapabilities
from engine.errors import InvalidRequestError

SAMPLERS = ("euler", "unipc")
MAX_STEPS = 200
MAX_FRAME_LAG = 8  # steps per latent frame


def _digest_array(array: np.ndarray | None) -> str:
    if array is None:
        return ""
    contiguous = np.ascontiguousarray(array)
    header = f"{contiguous.dtype.str}{contiguous.shape}".encode()
    return hashlib.sha256(header + contiguous.tobytes()).hexdigest()[:32]


@dataclass(frozen=True)
class KnownFrames:
    """Frames the generation must contain, "these frames are known, generate the rest".

    `position` is the pixel frame, counted from the first frame of the new shot, where the first
    known frame lands: negative for context before the shot (extend forward, the left side of a
    bridge), `>= frames` for context after it (extend backward, the right side of a bridge), inside
    `[0, frames)` for an image or keyframe that belongs to the shot itself.

    Give decoded `frames` (uint8 `[N, H, W, 3]`), the take's stored `latents` (normalised,
    float32 `[C, t, h, w]`, tagged with the `latent_space` they came from), or both: latents are
    used when the model shares their latent space, frames otherwise.
    """

    position: int
    frames: np.ndarray | None = field(default=None, compare=False, repr=False)
    latents: np.ndarray | None = field(default=None, compare=False, repr=False)
    latent_space: str = ""
    source: str = ""  # what the user would recognise: a file name or a take id
    digest: str = field(default="", init=False)

    def __post_init__(self) -> None:
        if self.frames is None and self.latents is None:
            raise InvalidRequestError("Known frames need pixel frames or stored latents.")
        if self.frames is not None:
            frames = self.frames
            if frames.ndim == 3 and frames.shape[-1] == 3:  # a single image
                frames = frames[None]
            if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
                raise InvalidRequestError(
                    "Known frames must be RGB video frames.",
                    f"expected uint8 [N, H, W, 3], got {frames.dtype} {list(frames.shape)}",
                )
            frames.setflags(write=False)
            object.__setattr__(self, "frames", frames)
        if self.latents is not None:
            if self.latents.ndim != 4:
                raise InvalidRequestError(
                    "Stored latents have the wrong shape.",
                    f"expected [C, t, h, w], got {list(self.latents.shape)}",
                )
            self.latents.setflags(write=False)
        digest = _digest_array(self.frames) + _digest_array(self.latents) + self.latent_space
        object.__setattr__(self, "digest", hashlib.sha256(digest.encode()).hexdigest()[:32])

    @property
    def count(self) -> int:
        """Number of pixel frames covered."""
        if self.frames is not None:
            return int(self.frames.shape[0])
        raise ValueError("latent-only known frames need the model's layout to count pixel frames")

    @property
    def size(self) -> tuple[int, int] | None:
        """(width, height) of the pixel frames, if any."""
        if self.frames is None:
            return None
        return int(self.frames.shape[2]), int(self.frames.shape[1])

    def to_recipe(self) -> dict:
        return {
            "schema": "KnownFrames.1",
            "position": self.position,
            "frames": None if self.frames is None else int(self.frames.shape[0]),
            "has_latents": self.latents is not None,
            "latent_space": self.latent_space,
            "source": self.source,
            "digest": self.digest,
        }


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: a shot of `frames` frames at `width`×`height`, plus what is already known.

    `None` for steps, guidance, shift, sampler or frame lag means "the model's default"; `None` for
    seed means "pick one" (the job queue resolves it so the recipe records the real seed). `frame_lag`
    is how many steps each latent frame settles after its neighbour nearer what is known (0: all frames
    together; see `engine.sampling.schedules.frame_lagged_sigmas`); only models trained with a noise level
    per frame take it.
    """

    prompt: str
    negative_prompt: str = ""
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    fps: float | None = None
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    shift: float | None = None
    sampler: str | None = None
    frame_lag: int | None = None
    model: str = "sketch"
    known: tuple[KnownFrames, ...] = ()
    match_seams: bool = True  # carry the decoder's error on known frames into the frames beside them

    def replace(self, **changes) -> GenerationRequest:
        return dataclasses.replace(self, **changes)

    def to_recipe(self) -> dict:
        """Everything needed to reproduce this generation, as JSON-ready data.

        A frame lag of 0 is left out: it renders as requests did before the option existed, so the cache
        keys of takes rendered then still find them."""
        recipe = {"schema": "GenerationRequest.1"}
        for f in dataclasses.fields(self):
            if f.name != "known" and not (f.name == "frame_lag" and self.frame_lag == 0):
                recipe[f.name] = getattr(self, f.name)
        recipe["known"] = [k.to_recipe() for k in self.known]
        return recipe

    def cache_key(self, model_identity: str) -> str:
        """The take's key in the media cache: same request + same weights → same key."""
        text = json.dumps({"recipe": self.to_recipe(), "model": model_identity}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def _nearest_multiples(value: int, factor: int, low: int, high: int) -> str:
    below = max(low, min(high, (value // factor) * factor))
    above = max(low, min(high, below + factor if below < value else below))
    options = sorted({below, above})
    return " or ".join(str(v) for v in options)


def _check_dimension(name: str, value: int, caps: ModelCapabilities, model: str) -> None:
    factor = caps.size_factor
    if value % factor == 0 and caps.min_size <= value <= caps.max_size:
        return
    raise InvalidRequestError(
        f"A {name} of {value} px does not work with the {model} model: use "
        f"{_nearest_multiples(value, factor, caps.min_size, caps.max_size)} "
        f"(a multiple of {factor} from {caps.min_size} to {caps.max_size}).",
    )


def _frames_message(frames: int, caps: ModelCapabilities, model: str, what: str = "shot") -> str:
    options = [n for n in caps.temporal.nearest_valid(frames) if caps.min_frames <= n <= caps.max_frames] or [
        caps.min_frames if frames < caps.min_frames else caps.max_frames
    ]
    return (
        f"A {what} of {frames} frames is not possible with the {model} model: use "
        f"{' or '.join(str(n) for n in options)} frames "
        f"({caps.min_frames} to {caps.max_frames}, in steps of {caps.temporal.factor})."
    )


def _default_frame_lag(request: GenerationRequest, caps: ModelCapabilities) -> int:
    """The model's frame lag for a shot made from the prompt alone; none where frames are known: there the
    known frames already place the subject, and on the sketch model a lag made the join rougher (seam jump
    1.30 → 1.49 over 16 extensions)."""
    return 0 if request.known else caps.default_frame_lag


def resolve(request: GenerationRequest, caps: ModelCapabilities) -> GenerationRequest:
    """Fill in the model's defaults and check `request`; `InvalidRequestError` names valid values."""
    model = request.model
    resolved = request.replace(
        width=caps.default_width if request.width is None else request.width,
        height=caps.default_height if request.height is None else request.height,
        frames=caps.default_frames if request.frames is None else request.frames,
        fps=caps.default_fps if request.fps is None else request.fps,
        steps=caps.default_steps if request.steps is None else request.steps,
        guidance=caps.default_guidance if request.guidance is None else request.guidance,
        shift=caps.default_shift if request.shift is None else request.shift,
        sampler=caps.default_sampler if request.sampler is None else request.sampler,
        frame_lag=_default_frame_lag(request, caps) if request.frame_lag is None else request.frame_lag,
    )
    _check_dimension("width", resolved.width, caps, model)
    _check_dimension("height", resolved.height, caps, model)
    frames = resolved.frames
    if not (caps.temporal.is_valid(frames) and caps.min_frames <= frames <= caps.max_frames):
        raise InvalidRequestError(_frames_message(frames, caps, model))
    if not 1 <= resolved.steps <= MAX_STEPS:
        raise InvalidRequestError(f"Steps must be between 1 and {MAX_STEPS} (got {resolved.steps}).")
    if not 0.0 <= resolved.guidance <= 30.0:
        raise InvalidRequestError(
            f"Guidance must be between 0 and 30 (got {resolved.guidance}); 1 turns it off."
        )
    if not 0.0 < resolved.shift <= 100.0:
        raise InvalidRequestError(f"Shift must be above 0 and at most 100 (got {resolved.shift}).")
    if not 0.0 < resolved.fps <= 240.0:
        raise InvalidRequestError(f"Frame rate must be above 0 and at most 240 (got {resolved.fps}).")
    if resolved.sampler not in SAMPLERS:
        raise InvalidRequestError(f"Unknown sampler '{resolved.sampler}': use {' or '.join(SAMPLERS)}.")
    lag = resolved.frame_lag
    if isinstance(lag, bool) or not isinstance(lag, int) or not 0 <= lag <= MAX_FRAME_LAG:
        raise InvalidRequestError(
            f"The frame lag must be a whole number of steps from 0 to {MAX_FRAME_LAG} (got {lag}); "
            "0 turns it off."
        )
    if lag > 0 and not caps.native_conditioning:
        raise InvalidRequestError(
            f"The {model} model was not trained with a noise level per frame, so it cannot take a frame lag: "
            "use 0."
        )
    if resolved.seed is not None and not 0 <= resolved.seed < 2**63:
        raise InvalidRequestError(f"The seed must be a whole number from 0 to 2^63−1 (got {resolved.seed}).")
    for known in resolved.known:
        _check_known(known, resolved, caps)
    return resolved


def _check_known(known: KnownFrames, request: GenerationRequest, caps: ModelCapabilities) -> None:
    size = known.size
    if size is not None and size != (request.width, request.height):
        name = known.source or "The conditioning clip"
        raise InvalidRequestError(
            f"{name} is {size[0]}×{size[1]} but the shot is {request.width}×{request.height}: "
            "clips joined by extend or bridge must have the same size.",
        )
