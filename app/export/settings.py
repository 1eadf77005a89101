"""What an export writes: its format (named, or read from the path), its options, and checks on the path.

```
out/edit.mp4   → "mp4"     H.264, yuv420p, CRF (default 18), fast start        review copies
out/edit.mov   → "prores"  ProRes 422 HQ, 10-bit 4:2:2                          finishing
out/frames/    → "png"     a folder of frame_00000.png … with metadata.json      finishing, compositing
out/edit.otio  → "otio"    OpenTimelineIO: clips point at the rendered takes    your NLE
```
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

from engine.errors import InvalidRequestError

__all__ = [
    "DEFAULT_CRF",
    "FORMATS",
    "FORMAT_LABELS",
    "SIGNABLE_FORMATS",
    "ExportSettings",
    "export_settings",
    "infer_format",
]

FORMATS = ("mp4", "prores", "png", "otio")
FORMAT_LABELS = {
    "mp4": "H.264 MP4 (review)",
    "prores": "ProRes 422 HQ MOV (finishing)",
    "png": "PNG frames (a folder)",
    "otio": "OpenTimelineIO (for your editing software)",
}
SUFFIX_OF = {"mp4": ".mp4", "prores": ".mov", "otio": ".otio"}
_FORMAT_OF_SUFFIX = {suffix: name for name, suffix in SUFFIX_OF.items()}
SIGNABLE_FORMATS = ("mp4", "prores")  # C2PA manifests are embedded in single MP4 / MOV files
DEFAULT_CRF = 18  # visually transparent for review copies; lower is better and bigger
_CHOICES = "a .mp4 (H.264), .mov (ProRes 422 HQ) or .otio file, or a folder/ for PNG frames"


@dataclass(frozen=True)
class ExportSettings:
    """One export: where (`out`), as what (`format`), the H.264 `crf`, and whether to sign a C2PA manifest."""

    out: Path
    format: str
    crf: int = DEFAULT_CRF
    sign_c2pa: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        if self.format not in FORMATS:
            raise InvalidRequestError(
                f"Unknown export format '{self.format}': choose one of {', '.join(FORMATS)}."
            )
        if isinstance(self.crf, bool) or not isinstance(self.crf, Integral) or not 0 <= self.crf <= 51:
            raise InvalidRequestError(
                "The H.264 quality (CRF) must be a whole number from 0 (best) to 51 (smallest), "
                f"not {self.crf}."
            )
        if self.sign_c2pa and self.format not in SIGNABLE_FORMATS:
            raise InvalidRequestError(
                "C2PA signing works for .mp4 and .mov exports; PNG frames and OpenTimelineIO files carry "
                "their provenance in metadata and the .provenance.json sidecar."
            )

    @property
    def writes_pictures(self) -> bool:
        """Whether the export encodes frames (everything but OpenTimelineIO)."""
        return self.format != "otio"


def infer_format(out: str) -> str:
    """The format a path asks for: `.mp4`, `.mov`, `.otio`, or a folder (a trailing `/`, or one that
    exists)."""
    if out.endswith(("/", os.sep)) or Path(out).is_dir():
        return "png"
    suffix = Path(out).suffix.lower()
    if suffix in _FORMAT_OF_SUFFIX:
        return _FORMAT_OF_SUFFIX[suffix]
    raise InvalidRequestError(f"Cannot export to '{Path(out).name}': use {_CHOICES}.")


def export_settings(
    out: str | os.PathLike[str], format: str | None = None, *, crf: int | None = None, sign_c2pa: bool = False
) -> ExportSettings:
    """Settings for exporting to `out`, checked: the format matches the path and the folder exists.

    Raises `InvalidRequestError` with a sentence saying what to change.
    """
    text = os.fspath(out)
    if not text:
        raise InvalidRequestError(f"Choose where to export: {_CHOICES}.")
    if format is None:
        format = infer_format(text)
    elif format not in FORMATS:
        raise InvalidRequestError(f"Unknown export format '{format}': choose one of {', '.join(FORMATS)}.")
    path = Path(text)
    if format == "png":
        if path.exists() and not path.is_dir():
            raise InvalidRequestError(f"'{path.name}' is a file: PNG frames go into a folder.")
        if path.suffix.lower() in _FORMAT_OF_SUFFIX:
            raise InvalidRequestError(f"'{path.name}' names a file: PNG frames go into a folder/.")
    elif path.suffix.lower() != SUFFIX_OF[format]:
        raise InvalidRequestError(
            f"A {FORMAT_LABELS[format].split(' (')[0]} export needs a name ending in {SUFFIX_OF[format]}, "
            f"not '{path.name}'."
        )
    elif path.is_dir():
        raise InvalidRequestError(
            f"'{path.name}' is a folder: give a file name ending in {SUFFIX_OF[format]}."
        )
    if not path.absolute().parent.is_dir():
        raise InvalidRequestError(
            f"The folder {path.absolute().parent} does not exist: create it or choose another place."
        )
    return ExportSettings(path, format, DEFAULT_CRF if crf is None else crf, sign_c2pa)
