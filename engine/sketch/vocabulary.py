"""The words the sketch model understands: canonical attribute values, prompt normalisation and parsing.

A prompt is free text. `normalize_prompt` turns it into canonical tokens (the text encoder's input, in
prompt order) and the words it does not know, which the app reports ("the sketch model does not know:
dragon"). `parse_tokens` / `parse_scene` read the tokens back as attribute values (`ParsedPrompt`), which
evaluation uses to know what was asked for.

How words are read:
- Multi-word phrases are matched first, longest match wins ("snow falling" is weather, "snowy ground" is
  ground, "camera pans left" is a pan, "blue sky" is day, "green grass" is grass, "from left to right" is
  motion right). Phrases never span punctuation (`,.;:!?()`).
- Generic motion verbs (moves, goes, rolls, flies, walks, drives, …) carry no token: they are known but
  dropped, and the direction words carry the motion ("moves left" → `left`). Verbs that imply a speed keep
  it ("races" → `fast`, "crawls" → `slow`); "bounces/hops/jumps" → `bounce`; "stays/stands/sits/parked/
  hovering/not moving" → `still`.
- Subjects: "and" in the tokens is structural, not the English word: it is emitted exactly where a second
  subject starts, so "a red ball and a blue box" → `red ball and blue box`. A colour, motion or speed
  belongs to the subject whose words it sits among; after a conjunction (and/while/as/but) a colour,
  motion or speed that precedes a later subject noun belongs to that later subject. At most two subjects:
  words of a third are reported in `NormalizedPrompt.dropped`. "two red balls" → `two red ball` (a
  second, identical subject). A plural without a number ("balls") means one subject.
- Scene attributes (ground, sky, weather, camera) may appear anywhere. Each attribute (of the scene or of
  a subject) keeps the first value the prompt gives; a different later value ("a snowy road" → `snow`) is
  left out of the tokens and listed in `NormalizedPrompt.dropped`, so tokens and parse always agree.
- Idioms: "down the road" / "up the street" name the ground, not a motion; "zooms left" is a fast subject,
  "zooms in" a camera move; "up and down" is a bounce; "from left to right" is `right`.
- "grey"/"gray" name no colour the model draws: alone they are reported as unknown (mapping them to another
  colour would mislead); before a colour or ground word ("grey road", "dark blue") they are modifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

# --- canonical attribute values ---------------------------------------------------------------------------

SUBJECTS = ("ball", "box", "car", "bird", "person")
COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "white", "black")
MOTIONS = ("left", "right", "up", "down", "bounce", "still")
SPEEDS = ("slow", "fast")
GROUNDS = ("grass", "snow", "sand", "water", "road")
SKIES = ("day", "sunset", "night")
CAMERAS = ("static", "pan_left", "pan_right", "zoom_in", "zoom_out")
WEATHERS = ("none", "snowfall", "rain")

AND = "and"  # structural: a second subject starts here
TWO = "two"  # the current subject comes twice

# Every token the text encoder can see; the index is the token's position (the encoder adds 1 for padding).
VOCABULARY: tuple[str, ...] = (
    AND,
    TWO,
    *SUBJECTS,
    *COLORS,
    *MOTIONS,
    *SPEEDS,
    *GROUNDS,
    *SKIES,
    *CAMERAS,
    *(w for w in WEATHERS if w != "none"),
)

SUBJECT_ATTRIBUTES = ("kind", "color", "motion", "speed")
SCENE_ATTRIBUTES = ("ground", "sky", "weather", "camera")


def _attribute_table() -> Mapping[str, str]:
    table = {AND: "and", TWO: "count"}
    for attribute, values in (
        ("kind", SUBJECTS),
        ("color", COLORS),
        ("motion", MOTIONS),
        ("speed", SPEEDS),
        ("ground", GROUNDS),
        ("sky", SKIES),
        ("camera", CAMERAS),
        ("weather", WEATHERS[1:]),
    ):
        table.update(dict.fromkeys(values, attribute))
    return MappingProxyType(table)


ATTRIBUTE_OF: Mapping[str, str] = _attribute_table()  # token → attribute name


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# --- words that carry no meaning ----------------------------------------------------------------------

# Harmless function words: known, dropped, never reported.
STOP_WORDS = _set("""
    a an the is are was were be been being am on over in at with and of to across through under its it
    while whilst then as from into onto by for this that these those there here some very along around
    toward towards past near above below beneath against during behind beside between off out upon
    within has have having does do did doesn just also slightly really so too who which where when same
    they them their he she his her we you i my your our now keeps keep keeping continues continue
    continuing not but whereas meanwhile plus s all again about lots much many quite rather somewhat
    """)

# Scene words with no attribute of their own (the attribute comes from their neighbours): known, dropped.
FILLER_WORDS = _set("""
    sky skies ground land terrain landscape floor surface plain plains scene shot view video clip footage
    image picture background foreground camera cam weather time colored coloured color colour one single
    another other second first both each object thing shape place way direction side screen edge top bottom
    middle centre center light bright pale deep vivid pastel back horizon distance frame framing lens
    covered full fully steady steadily smooth smoothly
    move moves moving moved go goes going went travel travels travelling traveling travelled traveled
    drift drifts drifting drifted roll rolls rolling rolled fly flies flying flew walk walks walking walked
    drive drives driving drove slide slides sliding slid glide glides gliding run runs running ran head
    heads heading headed float floats floating floated cross crosses crossing crossed pass passes passing
    passed soar soars soaring sail sails sailing swim swims swimming wander wanders wandering advance
    advances advancing makes its way
    pan pans panning panned
    """)

# --- single words ------------------------------------------------------------------------------------------

_SINGLE_WORDS: dict[str, str] = {
    "ball": "ball balls sphere spheres orb orbs",
    "box": "box boxes cube cubes crate crates block blocks",
    "car": "car cars automobile automobiles vehicle vehicles auto",
    "bird": "bird birds",
    "person": "person persons people man men woman women kid kids child children boy boys girl girls guy "
    "guys pedestrian pedestrians figure figures human humans",
    "red": "red crimson scarlet",
    "orange": "orange",
    "yellow": "yellow golden gold",
    "green": "green",
    "blue": "blue navy",
    "purple": "purple violet lilac lavender magenta",
    "white": "white",
    "black": "black",
    "left": "left leftward leftwards",
    "right": "right rightward rightwards",
    "up": "up upward upwards rises rising rise climbs climbing climb ascends ascending ascend skyward "
    "skywards",
    "down": "down downward downwards falls falling fall fell drops dropping drop sinks sinking sink descends "
    "descending descend",
    "bounce": "bounce bounces bouncing bounced bouncy hop hops hopping hopped jump jumps jumping jumped leap "
    "leaps leaping bob bobs bobbing",
    "still": "still stationary motionless unmoving static idle parked immobile stays stay staying remains "
    "remain remaining standing stands stand sitting sits sit resting rests rest waiting waits halted stopped "
    "hover hovers hovering",
    "slow": "slow slowly gently gentle leisurely lazily lazy unhurried crawls crawling creeps creeping "
    "strolls strolling ambles ambling",
    "fast": "fast quick quickly rapidly rapid swiftly swift speedy speedily briskly brisk races racing "
    "speeds speeding dashes dashing rushes rushing zips zipping darts darting sprints sprinting hurries "
    "hurrying",
    "grass": "grass grassy meadow meadows field fields lawn lawns pasture prairie park",
    "snow": "snow snowy ice icy snowfield",
    "sand": "sand sandy beach desert dune dunes",
    "water": "water sea ocean lake river pond waves watery",
    "road": "road roads street streets asphalt highway tarmac pavement",
    "day": "day daytime daylight sunny sunshine sun morning noon midday afternoon daylit",
    "sunset": "sunset sunsets dusk evening twilight dawn sunrise sundown",
    "night": "night nights nighttime dark darkness starry stars star starlit moonlit moonlight moon midnight",
    "static": "lockoff tripod",
    "zoom_in": "zoom zooms zooming zoomed",
    "snowfall": "snowing snows snowfall snowfalls snowflakes snowflake flakes blizzard snowstorm",
    "rain": "rain rains raining rainy rainfall drizzle drizzling downpour rainstorm raindrops showers",
    TWO: "two 2 pair couple",
}


def _words_of(*tokens: str) -> frozenset[str]:
    return frozenset(w for t in tokens for w in _SINGLE_WORDS[t].split())


# --- phrases -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Element:
    words: frozenset[str]
    optional: bool = False


@dataclass(frozen=True)
class _Rule:
    """A phrase: elements matched in order; words in `gap` may sit between two elements."""

    pattern: tuple[_Element, ...]
    emit: tuple[str, ...]
    gap: frozenset[str] = frozenset()


def _el(words: str | Iterable[str]) -> _Element:
    return _Element(frozenset(words.split()) if isinstance(words, str) else frozenset(words))


def _opt(words: str | Iterable[str]) -> _Element:
    return _Element(_el(words).words, optional=True)


def _rule(emit: str, *pattern: _Element, gap: str = "") -> _Rule:
    return _Rule(tuple(pattern), tuple(emit.split()), frozenset(gap.split()))


_COLOR_WORDS = _words_of(*COLORS)
_MODIFIERS = _set("dark light bright pale deep vivid pastel grey gray")
_LEFT, _RIGHT, _UP, _DOWN = _words_of("left"), _words_of("right"), _words_of("up"), _words_of("down")
_MOTION_VERBS = _set(
    "move moves moving moved go goes going travel travels travelling traveling drift drifts drifting roll "
    "rolls rolling fly flies flying walk walks walking drive drives driving slide slides sliding glide "
    "glides gliding run runs running float floats floating"
)
_CAMERA_NOUNS = _set("camera cam shot view framing frame lens")
_STILLISH = _set("static still fixed stationary steady locked unmoving motionless")
_STAY = _set("stays stay remains remain holds hold is staying remaining holding keeps")
_CAM_ADV = _set("slow slowly gentle gently smooth smoothly steady steadily quick quickly fast")
_CAM_GAP = "the to is its camera slowly gently smoothly steadily quickly slightly"
_PAN = _set("pan pans panning panned")
_CAM_MOVE = _set(
    "moves moving move moved tracks tracking track tracked trucks trucking truck drifts drifting drift "
    "slides sliding glides gliding travels traveling travelling swings swinging turns turning rotates "
    "rotating sweeps sweeping goes going"
)
_ZOOM = _words_of("zoom_in")
_PUSH = _set("push pushes pushing pushed dolly dollies dollying dollied moves moving move")
_PULL = _set("pull pulls pulling pulled dolly dollies dollying backs backing moves moving move")
_IN = _set("in closer forward forwards")
_OUT = _set("out back away backward backwards")
_FALL = _set(
    "falling falls fall fell drifting drifts drift swirling swirls coming comes tumbling pouring pours"
)
_WEATHER_ADV = _set("gently softly lightly slowly steadily heavily gentle soft light heavy steady")
_WEATHER_GAP = "is are gently softly lightly slowly steadily heavily"
_SNOW_NOUNS = _set("snow snowflakes snowflake flakes")
_RAIN_WORDS = _words_of("rain")
_SKY_NOUNS = _set("sky skies")
_GENERIC_GROUND = _set("ground land terrain landscape floor surface plain plains")
_GROUND_ADJ = {"grass": "grassy", "snow": "snowy icy", "sand": "sandy", "water": "watery"}
_COLOR_GROUND = {
    "grass": "green",
    "snow": "white",
    "sand": "yellow golden tan brown",
    "water": "blue",
    "road": "black grey gray dark",
}


def _phrase_rules() -> tuple[_Rule, ...]:
    rules = [
        # camera: static
        _rule("static", _opt(_CAM_ADV), _el(_STILLISH), _el(_CAMERA_NOUNS)),
        _rule(
            "static", _el(_CAMERA_NOUNS), _opt(_STAY), _el(_STILLISH), gap="is completely perfectly totally"
        ),
        _rule(
            "static", _el(_CAMERA_NOUNS), _opt("does do is"), _el("not"), _el("move moving moves pan zoom")
        ),
        _rule("static", _el("no"), _opt(_CAMERA_NOUNS), _el("movement motion moves")),
        _rule("static", _el("locked"), _el("off down")),
        # camera: pans and zooms
        _rule("pan_left", _opt(_CAM_ADV), _el(_PAN), _el(_LEFT), gap=_CAM_GAP),
        _rule("pan_right", _opt(_CAM_ADV), _el(_PAN), _el(_RIGHT), gap=_CAM_GAP),
        _rule("pan_left", _el(_CAMERA_NOUNS), _el(_CAM_MOVE | _PAN), _el(_LEFT), gap=_CAM_GAP),
        _rule("pan_right", _el(_CAMERA_NOUNS), _el(_CAM_MOVE | _PAN), _el(_RIGHT), gap=_CAM_GAP),
        _rule("zoom_in", _opt(_CAM_ADV), _el(_ZOOM), _el(_IN), gap=_CAM_GAP),
        _rule("zoom_out", _opt(_CAM_ADV), _el(_ZOOM), _el(_OUT), gap=_CAM_GAP),
        _rule("zoom_in", _opt(_CAM_ADV), _el(_PUSH), _el("in"), gap=_CAM_GAP),
        _rule("zoom_out", _opt(_CAM_ADV), _el(_PULL), _el("out back away"), gap=_CAM_GAP),
        _rule("zoom_in", _el(_CAMERA_NOUNS), _el(_PUSH), _el(_IN), gap=_CAM_GAP),
        _rule("zoom_out", _el(_CAMERA_NOUNS), _el(_PULL), _el(_OUT), gap=_CAM_GAP),
        # a subject that "zooms left" is moving fast, not a camera zoom
        _rule("left fast", _el(_ZOOM), _el(_LEFT), gap="off away to the"),
        _rule("right fast", _el(_ZOOM), _el(_RIGHT), gap="off away to the"),
        _rule("up fast", _el(_ZOOM), _el(_UP), gap="off away"),
        _rule("down fast", _el(_ZOOM), _el(_DOWN), gap="off away"),
        # subject motion
        _rule("still", _opt("does do is are"), _el("not"), _el(_MOTION_VERBS | {"moving", "move"})),
        _rule("still", _el("no"), _el("motion movement")),
        _rule(
            "still",
            _el("stays stay stands standing sits sitting remains"),
            _el(_STILLISH | {"put"}),
            gap="completely perfectly totally",
        ),
        _rule("bounce", _el("up"), _el("and"), _el("down")),
        _rule("right", _opt("from"), _el(_LEFT), _el("to"), _el(_RIGHT), gap="the"),
        _rule("left", _opt("from"), _el(_RIGHT), _el("to"), _el(_LEFT), gap="the"),
        _rule("down", _opt("from"), _el("top"), _el("to"), _el("bottom"), gap="the"),
        _rule("up", _opt("from"), _el("bottom"), _el("to"), _el("top"), gap="the"),
        # weather: falling snow / rain (a colour or adverb in front is part of it)
        _rule("snowfall", _opt(_WEATHER_ADV | _COLOR_WORDS), _el(_FALL), _el(_SNOW_NOUNS)),
        _rule("snowfall", _opt(_COLOR_WORDS), _el(_SNOW_NOUNS), _el(_FALL), _opt("down"), gap=_WEATHER_GAP),
        _rule("snowfall", _el("snowy"), _el("weather")),
        _rule("snowfall", _el("heavy"), _el("snow")),
        _rule("rain", _opt(_WEATHER_ADV), _el(_FALL), _el(_RAIN_WORDS)),
        _rule("rain", _el(_RAIN_WORDS), _el(_FALL), _opt("down"), gap=_WEATHER_GAP),
        _rule("rain", _el(_WEATHER_ADV), _el(_RAIN_WORDS)),
        # sky
        _rule("day", _el("blue clear bright sunny azure cloudless"), _el(_SKY_NOUNS)),
        _rule("day", _el("broad"), _el("daylight")),
        _rule("sunset", _el("orange pink red purple golden warm violet crimson glowing"), _el(_SKY_NOUNS)),
        _rule("sunset", _el("golden"), _el("hour")),
        _rule("night", _el("dark black starry navy night moonlit starlit"), _el(_SKY_NOUNS)),
        # colour modifiers
        _rule("", _el(_MODIFIERS), _el(_COLOR_WORDS)),  # emits the colour itself: see _match_at
        # ground
        _rule("snow", _el("frozen icy"), _el(_words_of("water"))),
        _rule("road", _el("down up along"), _el(_words_of("road")), gap="the a"),  # "down the road"
    ]
    for ground, adjectives in _GROUND_ADJ.items():
        rules.append(_rule(ground, _el(adjectives), _el(_GENERIC_GROUND | {"field", "fields", "meadow"})))
    for ground in GROUNDS:
        nouns = _words_of(ground)
        rules.append(_rule(ground, _el(_COLOR_WORDS | _MODIFIERS | {"tan", "brown"}), _el(nouns)))
    for ground, colors in _COLOR_GROUND.items():
        rules.append(_rule(ground, _el(colors), _el(_GENERIC_GROUND)))
    return tuple(rules)


_RULES = _phrase_rules()
_SINGLE = MappingProxyType({w: token for token, words in _SINGLE_WORDS.items() for w in words.split()})

# --- matching ----------------------------------------------------------------------------------------------

_BOUNDARY = re.compile(r"[.,;:!?()\[\]\n\"—–]+")
_WORD = re.compile(r"[a-z0-9]+")
_CONJUNCTIONS = _set("and while whilst as but whereas meanwhile plus")


def _words(text: str) -> list[list[str]]:
    """Lower-case words, grouped into punctuation-delimited segments."""
    text = text.lower().replace("’", "'").replace("n't", " not").replace("'s", " ")
    segments = [_WORD.findall(part) for part in _BOUNDARY.split(text)]
    return [s for s in segments if s]


def _match(rule: _Rule, words: list[str], start: int) -> int:
    """Index after the phrase if `rule` matches at `start`, else -1."""
    j, matched_any = start, False
    for element in rule.pattern:
        k = j
        if matched_any:
            while k < len(words) and words[k] in rule.gap and words[k] not in element.words:
                k += 1
        if k < len(words) and words[k] in element.words:
            j, matched_any = k + 1, True
        elif not element.optional:
            return -1
    return j if matched_any else -1


def _match_at(words: list[str], start: int) -> tuple[int, tuple[str, ...]] | None:
    """The longest phrase at `start`: (end index, tokens), or None if the word starts none."""
    best: tuple[int, tuple[str, ...]] | None = None
    for rule in _RULES:
        end = _match(rule, words, start)
        if end > start and (best is None or end > best[0]):
            emit = rule.emit or (_SINGLE[words[end - 1]],)  # a modifier + colour is the colour
            best = (end, emit)
    if best is None and words[start] in _SINGLE:
        best = (start + 1, (_SINGLE[words[start]],))
    return best


@dataclass(frozen=True)
class _Event:
    token: str
    after_conjunction: bool  # a conjunction word came between the previous subject token and this one


def _scan(text: str) -> tuple[list[_Event], list[str]]:
    """Canonical tokens in prompt order (before subject grouping) and the unknown words."""
    events: list[_Event] = []
    unknown: list[str] = []
    conjunction = False
    for segment in _words(text):
        i = 0
        while i < len(segment):
            found = _match_at(segment, i)
            if found is not None:
                end, tokens = found
                for token in tokens:
                    events.append(_Event(token, conjunction))
                    conjunction = conjunction and ATTRIBUTE_OF[token] in SCENE_ATTRIBUTES
                i = end
                continue
            word = segment[i]
            if word in _CONJUNCTIONS:
                conjunction = True
            elif word not in STOP_WORDS and word not in FILLER_WORDS and word not in unknown:
                unknown.append(word)
            i += 1
    return events, unknown


def _opens_subject(events: list[_Event], index: int, current: dict[str, str] | None) -> bool:
    """Whether the subject-level token at `index` starts a new subject rather than joining `current`."""
    event = events[index]
    attribute = ATTRIBUTE_OF[event.token]
    if current is None:
        return True
    later = [e.token for e in events[index + 1 :] if ATTRIBUTE_OF[e.token] in SUBJECT_ATTRIBUTES]
    later_kind = any(ATTRIBUTE_OF[t] == "kind" for t in later)
    named = "kind" in current
    if attribute in ("kind", "count"):
        return named
    if attribute == "color":
        if not named:
            return False
        next_is_kind = bool(later) and ATTRIBUTE_OF[later[0]] == "kind"
        return "color" in current or next_is_kind or (event.after_conjunction and later_kind)
    return named and event.after_conjunction and later_kind  # motion, speed


def _group_subjects(events: list[_Event]) -> tuple[list[str], list[str]]:
    """Tokens with the structural "and" where the second subject starts; the tokens left out.

    Each attribute keeps its first value: repeats are dropped silently ("on a sunny day" → one `day`), other
    values are left out and returned ("snowy road" → `snow`, `road` left out), as are a third subject's.
    """
    tokens: list[str] = []
    left_out: list[str] = []
    scene: dict[str, str] = {}
    subjects: list[dict[str, str]] = []
    overflow = False
    for index, event in enumerate(events):
        attribute = ATTRIBUTE_OF[event.token]
        if attribute in SCENE_ATTRIBUTES:
            owner = scene
        else:
            if not overflow and _opens_subject(events, index, subjects[-1] if subjects else None):
                if len(subjects) == 2:
                    overflow = True
                else:
                    if subjects:
                        tokens.append(AND)
                    subjects.append({})
            if overflow:
                left_out.append(event.token)
                continue
            owner = subjects[-1]
        given = owner.get(attribute)
        if given is None:
            owner[attribute] = event.token
            tokens.append(event.token)
        elif given != event.token:
            left_out.append(event.token)
    return tokens, list(dict.fromkeys(left_out))


# --- public API --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormalizedPrompt:
    """A prompt as the sketch model reads it."""

    tokens: tuple[str, ...]  # canonical tokens in prompt order (each in VOCABULARY)
    unknown: tuple[str, ...]  # words the model does not know, lower-cased, first occurrence order
    dropped: tuple[str, ...] = ()  # known tokens left out: a third subject's, a second value of an attribute


@dataclass(frozen=True)
class ParsedSubject:
    """One subject as a prompt describes it; None where the prompt does not say."""

    kind: str | None = None
    color: str | None = None
    motion: str | None = None
    speed: str | None = None


@dataclass(frozen=True)
class ParsedPrompt:
    """What a prompt asks for; None (or no subjects) where it does not say."""

    subjects: tuple[ParsedSubject, ...] = ()
    ground: str | None = None
    sky: str | None = None
    weather: str | None = None  # "snowfall" or "rain"; None when not mentioned (the world draws "none")
    camera: str | None = None  # None when not mentioned (the world draws "static")
    unknown: tuple[str, ...] = ()


def normalize_prompt(text: str) -> NormalizedPrompt:
    """Canonical tokens for the text encoder and the words the model does not know."""
    events, unknown = _scan(text)
    tokens, dropped = _group_subjects(events)
    return NormalizedPrompt(tuple(tokens), tuple(unknown), tuple(dropped))


def parse_tokens(tokens: Iterable[str], unknown: tuple[str, ...] = ()) -> ParsedPrompt:
    """Attribute values of normalised tokens: "and" separates subjects; an attribute's first value wins."""
    scene: dict[str, str] = {}
    subjects: list[dict[str, str]] = [{}]
    for token in tokens:
        attribute = ATTRIBUTE_OF[token]
        if attribute == "and":
            subjects.append({})
        elif attribute in SCENE_ATTRIBUTES:
            scene.setdefault(attribute, token)
        else:
            subjects[-1].setdefault(attribute, token)
    subjects = [s for s in subjects if s]
    if len(subjects) == 1 and "count" in subjects[0]:
        subjects.append(subjects[0])
    parsed = tuple(ParsedSubject(**{a: s.get(a) for a in SUBJECT_ATTRIBUTES}) for s in subjects)
    return ParsedPrompt(parsed, unknown=unknown, **{a: scene.get(a) for a in SCENE_ATTRIBUTES})


def parse_scene(text: str) -> ParsedPrompt:
    """What a free-text prompt asks for (see `engine.sketch.world.complete_scene` to render it)."""
    normalized = normalize_prompt(text)
    return parse_tokens(normalized.tokens, normalized.unknown)
