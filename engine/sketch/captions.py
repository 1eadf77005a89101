"""Captions for storyboard-world scenes: free text naming what a `SceneSpec` shows, in varied phrasings.

Training captions vary templates, synonyms, word order and how much they name (`detail`); without a
generator a caption is the plain, complete one (what the evaluation prompts with). Whatever a caption
names, `vocabulary.parse_scene` reads back, with no unknown words.
"""

from __future__ import annotations

import numpy as np

from engine.sketch.world import SceneSpec, SubjectSpec

_KIND_WORDS = {
    "ball": ("ball", "ball", "sphere"),
    "box": ("box", "box", "cube", "crate"),
    "car": ("car", "car", "automobile"),
    "bird": ("bird",),
    "person": ("person", "person", "man", "woman", "kid", "figure"),
}
_KIND_PLURALS = {"ball": "balls", "box": "boxes", "car": "cars", "bird": "birds", "person": "people"}
_COLOR_WORDS = {
    "red": ("red", "red", "crimson"),
    "orange": ("orange",),
    "yellow": ("yellow",),
    "green": ("green",),
    "blue": ("blue",),
    "purple": ("purple", "purple", "violet"),
    "white": ("white",),
    "black": ("black",),
}
_KIND_VERBS = {"ball": "rolls", "box": "slides", "car": "drives", "bird": "flies", "person": "walks"}
_KIND_PARTICIPLES = {
    "ball": "rolling",
    "box": "sliding",
    "car": "driving",
    "bird": "flying",
    "person": "walking",
}
_ADVERBS = {
    "slow": ("slowly", "slowly", "gently", "leisurely"),
    "fast": ("quickly", "fast", "rapidly", "swiftly"),
}
_DIRECTIONS = {
    "left": ("left", "left", "to the left", "leftward", "towards the left", "from right to left"),
    "right": ("right", "right", "to the right", "rightward", "towards the right", "from left to right"),
}
_VERTICAL = {
    "up": (
        ("moves up", "rises", "floats upward", "climbs", "goes up", "moves upwards"),
        ("moving up", "rising", "climbing", "floating upward", "going up"),
    ),
    "down": (
        ("moves down", "sinks", "falls", "drops", "descends", "moves downward"),
        ("moving down", "sinking", "falling", "dropping", "descending"),
    ),
    "bounce": (
        ("bounces", "hops", "is bouncing", "bounces up and down", "jumps", "bobs up and down"),
        ("bouncing", "hopping", "jumping", "bouncing up and down"),
    ),
    "still": (
        (
            "stays still",
            "stands still",
            "is stationary",
            "does not move",
            "is not moving",
            "sits motionless",
            "rests",
            "stays in place",
        ),
        ("staying still", "standing still", "not moving", "resting", "sitting still", "motionless"),
    ),
}
_GROUND_PHRASES = {
    "grass": (
        "on grass",
        "on green grass",
        "on a grassy meadow",
        "on a lawn",
        "in a field",
        "over grassy ground",
    ),
    "snow": ("on snow", "on snowy ground", "on a snowy field", "across white snow", "in the snow", "on ice"),
    "sand": ("on sand", "on a sandy beach", "across the desert", "on the beach", "over sandy ground"),
    "water": (
        "over water",
        "above the sea",
        "on a lake",
        "across the ocean",
        "over blue water",
        "on the river",
    ),
    "road": (
        "on a road",
        "along the street",
        "on asphalt",
        "on a highway",
        "on the road",
        "along a grey road",
    ),
}
_SKY_PHRASES = {
    "day": ("during the day", "in daytime", "under a blue sky", "on a sunny day", "in daylight", "at noon"),
    "sunset": (
        "at sunset",
        "at dusk",
        "in the evening",
        "under an orange sky",
        "at twilight",
        "in the golden hour",
    ),
    "night": (
        "at night",
        "under a starry sky",
        "at nighttime",
        "under the stars",
        "on a dark night",
        "at midnight",
    ),
}
_WEATHER_PHRASES = {
    "none": ("",),
    "snowfall": (
        "with snow falling",
        "as snow falls",
        "while it is snowing",
        "in falling snow",
        "during a snowfall",
        "with snowflakes drifting down",
    ),
    "rain": (
        "in the rain",
        "while it rains",
        "with rain falling",
        "during a downpour",
        "in light rain",
        "as rain pours down",
    ),
}
_CAMERA_PHRASES = {
    "static": (
        "",
        "",
        "static camera",
        "the camera is still",
        "locked-off shot",
        "still camera",
        "tripod shot",
    ),
    "pan_left": (
        "the camera pans left",
        "camera panning left",
        "pan left",
        "the camera slowly pans to the left",
        "the camera moves left",
    ),
    "pan_right": (
        "the camera pans right",
        "camera panning right",
        "pan right",
        "the camera slowly pans to the right",
        "the camera moves right",
    ),
    "zoom_in": ("the camera zooms in", "zooming in", "slow push in", "the camera pushes in", "zoom in"),
    "zoom_out": ("the camera zooms out", "zooming out", "the camera pulls back", "pull out", "zoom out"),
}


class _Picker:
    """Chooses among phrasings: the first option without a generator, a random one with it."""

    def __init__(self, rng: np.random.Generator | None, detail: float = 1.0) -> None:
        self.rng = rng
        self.detail = detail

    def keep(self) -> bool:
        """Whether to name an optional attribute."""
        return self.rng is None or self.detail >= 1.0 or bool(self.rng.random() < self.detail)

    def __call__(self, options: tuple[str, ...]) -> str:
        return options[0] if self.rng is None else options[int(self.rng.integers(len(options)))]

    def chance(self, p: float) -> bool:
        return self.rng is not None and bool(self.rng.random() < p)


def _noun_phrase(s: SubjectSpec, pick: _Picker) -> str:
    color, kind = pick(_COLOR_WORDS[s.color]), pick(_KIND_WORDS[s.kind])
    if pick.chance(0.15):
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} that is {color}"
    article = "an" if color[0] in "aeiou" else "a"
    return f"{pick(('a', 'the', 'one')) if pick.chance(0.3) else article} {color} {kind}"


def _verb_phrase(s: SubjectSpec, pick: _Picker, participle: bool) -> str:
    if s.motion in _VERTICAL:
        phrase = pick(_VERTICAL[s.motion][participle])
    else:
        own = _KIND_PARTICIPLES[s.kind] if participle else _KIND_VERBS[s.kind]
        neutral = (
            ("moving", "going", "heading", "drifting") if participle else ("moves", "goes", "heads", "drifts")
        )
        phrase = f"{pick((own, *neutral))} {pick(_DIRECTIONS[s.motion])}"
    if s.motion == "still" or not pick.keep():
        return phrase
    adverb = pick(_ADVERBS[s.speed])
    if pick.chance(0.4) and adverb.endswith("ly") and adverb != "leisurely":
        return f"{adverb} {phrase}"
    return f"{phrase} {adverb}"


def _subjects_clause(scene: SceneSpec, pick: _Picker) -> str:
    participle = pick.chance(0.35)
    first = scene.subjects[0]
    if len(scene.subjects) == 2:
        second = scene.subjects[1]
        same = all(getattr(first, a) == getattr(second, a) for a in ("kind", "color", "motion", "speed"))
        if same and pick.chance(0.7):
            plural = f"two {pick(_COLOR_WORDS[first.color])} {_KIND_PLURALS[first.kind]}"
            return f"{plural} {_verb_phrase(first, pick, True)}"
        one = f"{_noun_phrase(first, pick)} {_verb_phrase(first, pick, participle)}"
        two = f"{_noun_phrase(second, pick)} {_verb_phrase(second, pick, participle)}"
        joints = (" and ", ", and ") if participle else (" and ", " while ", ", and ", "; ")
        return f"{one}{pick(joints)}{two}"
    return f"{_noun_phrase(first, pick)} {_verb_phrase(first, pick, participle)}"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def caption(scene: SceneSpec, rng: np.random.Generator | None = None, *, detail: float = 1.0) -> str:
    """A free-text caption of `scene`; with `rng`, varied templates, synonyms and word order.

    Subjects are always named with kind, colour and motion. Speed (unless still), ground, sky, weather
    (unless "none") and camera (unless "static", which is said sometimes) are each named with probability
    `detail` (all of them without `rng`), so partial prompts occur in training too. What a caption names,
    `vocabulary.parse_scene(caption(...))` gives back, with no unknown words.
    """
    pick = _Picker(rng, detail)
    subjects = _subjects_clause(scene, pick)
    ground = pick(_GROUND_PHRASES[scene.ground]) if pick.keep() else ""
    sky = pick(_SKY_PHRASES[scene.sky]) if pick.keep() else ""
    weather = pick(_WEATHER_PHRASES[scene.weather]) if pick.keep() else ""
    camera = pick(_CAMERA_PHRASES[scene.camera]) if pick.keep() else ""
    place = " ".join(p for p in (ground, sky) if p)
    tail_weather = f", {weather}" if weather else ""
    if camera.startswith("the camera") and pick.chance(0.5):
        tail_camera = f"{pick((' as ', ' while '))}{camera}"
    else:
        tail_camera = f", {camera}" if camera else ""
    template = 0 if rng is None else int(rng.integers(5))
    if template == 1 and sky:
        text = (
            f"{_capitalised(sky)}, {' '.join(p for p in (subjects, ground) if p)}{tail_weather}{tail_camera}"
        )
    elif template == 2 and ground:
        text = f"{_capitalised(place)}: {subjects}{tail_weather}{tail_camera}"
    elif template == 3 and camera:
        sentence = _capitalised(" ".join(p for p in (subjects, place) if p))
        text = f"{_capitalised(camera)}. {sentence}{tail_weather}"
    elif template == 4 and weather:
        text = f"{_capitalised(weather)}, {' '.join(p for p in (subjects, place) if p)}{tail_camera}"
    else:
        text = f"{_capitalised(' '.join(p for p in (subjects, place) if p))}{tail_weather}{tail_camera}"
    return text + ("." if pick.chance(0.5) else "")
