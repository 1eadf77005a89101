"""Weights a filmmaker might end up with: cut-short downloads, pickles renamed to .safetensors, torch.save
files, shapes and settings that do not match. Each is refused with a message naming the file, before memory is
spent on the model, and no code from a weights file ever runs (a booby-trapped pickle would create a file).
"""

from __future__ import annotations

import json
import pickle
import resource
import shutil
import struct
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from engine.backends.sketch import SketchBackend
from engine.backends.sketch.backend import DEFAULT_FOLDER
from engine.device import pick_device
from engine.errors import WeightsError
from engine.weights import inspect_safetensors, load_safetensors

WEIGHTS, CONFIG = "sketch.safetensors", "config.json"


class Booby:
    """Unpickling this creates the marker file: proof that code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture(scope="module")
def bundled() -> dict[str, bytes]:
    return {name: (DEFAULT_FOLDER / name).read_bytes() for name in (CONFIG, WEIGHTS)}


@pytest.fixture
def no_unpickling(monkeypatch):
    """Every way Python or torch could unpickle, made to record and refuse."""
    calls: list[str] = []

    def refuse(name):
        def guard(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} was called while loading weights")

        return guard

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse(f"pickle.{name}"))
    monkeypatch.setattr(torch, "load", refuse("torch.load"))
    return calls


def _header(raw: bytes) -> tuple[dict, int]:
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + length]), length


def _with_header(raw: bytes, change) -> bytes:
    header, length = _header(raw)
    change(header)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + raw[8 + length :]


def _first_tensor(header: dict) -> str:
    return next(name for name in header if name != "__metadata__")


def _state_with(change) -> dict[str, torch.Tensor]:
    from engine.backends.sketch.backend import build_modules
    from engine.backends.sketch.config import SketchConfig

    state = dict(build_modules(SketchConfig.from_json(DEFAULT_FOLDER / CONFIG)).state_dict())
    change(state)
    return state


def _config_with(raw: bytes, change) -> bytes:
    data = json.loads(raw)
    change(data)
    return json.dumps(data).encode()


def weights_cases(tmp: Path, marker: Path, raw: bytes) -> dict[str, tuple[str, bytes, str]]:
    """name → (file it replaces, its new bytes, a phrase the refusal must contain)."""
    header, length = _header(raw)
    data_start = 8 + length
    cases: dict[str, tuple[str, bytes, str]] = {}
    for protocol in (2, 4, 5):
        cases[f"pickle (protocol {protocol}) renamed"] = (
            WEIGHTS,
            pickle.dumps({"w": Booby(marker)}, protocol),
            "pickle",
        )
    zipped, legacy = tmp / "zip.pt", tmp / "legacy.pt"
    torch.save({"w": torch.zeros(3), "trap": Booby(marker)}, zipped)
    torch.save({"w": torch.zeros(3), "trap": Booby(marker)}, legacy, _use_new_zipfile_serialization=False)
    cases["torch.save checkpoint renamed"] = (WEIGHTS, zipped.read_bytes(), "PyTorch checkpoint")
    cases["legacy torch.save renamed"] = (WEIGHTS, legacy.read_bytes(), "pickle")
    for label, cut in {
        "empty": 0,
        "4 bytes": 4,
        "only the length": 8,
        "inside the header": 8 + length // 2,
        "header only": data_start,
        "half the tensors": data_start + (len(raw) - data_start) // 2,
        "one byte short": len(raw) - 1,
    }.items():
        cases[f"cut short: {label}"] = (WEIGHTS, raw[:cut], "")
    cases["Git LFS pointer"] = (
        WEIGHTS,
        b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 16219972\n",
        "LFS",
    )
    cases["HTML error page"] = (
        WEIGHTS,
        b"<!DOCTYPE html><html><body>Access denied</body></html>" * 3,
        "web page",
    )
    cases["header length absurd"] = (WEIGHTS, struct.pack("<Q", 2**62) + raw[8:], "")
    cases["header not JSON"] = (WEIGHTS, raw[:8] + b"\x00" * length + raw[data_start:], "")
    cases["header a list"] = (WEIGHTS, struct.pack("<Q", 8) + b"[1,2,3] " + raw[data_start:], "")
    name = _first_tensor(header)
    cases["unknown dtype"] = (
        WEIGHTS,
        _with_header(raw, lambda h: h[name].__setitem__("dtype", "F128")),
        "damaged",
    )
    cases["negative shape"] = (
        WEIGHTS,
        _with_header(raw, lambda h: h[name].__setitem__("shape", [-1, 4])),
        "damaged",
    )
    cases["offsets past the end"] = (
        WEIGHTS,
        _with_header(raw, lambda h: h[name].__setitem__("data_offsets", [0, 10**12])),
        "truncated",
    )
    cases["offsets reversed"] = (
        WEIGHTS,
        _with_header(raw, lambda h: h[name].__setitem__("data_offsets", h[name]["data_offsets"][::-1])),
        "damaged",
    )
    return cases


def shape_cases(tmp: Path) -> dict[str, tuple[str, bytes, str]]:
    cases = {}
    for label, change in {
        "a tensor of another shape": lambda s: s.__setitem__("denoiser.proj_out.weight", torch.zeros(3, 3)),
        "a tensor missing": lambda s: s.pop("denoiser.proj_out.weight"),
        "an extra tensor": lambda s: s.__setitem__("denoiser.extra.weight", torch.zeros(2)),
    }.items():
        path = tmp / "state.safetensors"
        save_file(_state_with(change), str(path))
        cases[label] = (WEIGHTS, path.read_bytes(), "do not match")
    return cases


def config_cases(raw: bytes) -> dict[str, tuple[str, bytes, str]]:
    def sets(section, key, value, phrase=""):
        change = lambda c: (c[section] if section else c).__setitem__(key, value)  # noqa: E731
        return (CONFIG, _config_with(raw, change), phrase)

    return {
        "config: more layers than the weights": sets("denoiser", "layers", 5, "do not match"),
        "config: other latent channels": sets("autoencoder", "latent_channels", 8),
        "config: a huge layer (would need 60 GB)": sets("denoiser", "ffn_dim", 10**7, "do not match"),
        "config: negative channels": sets("autoencoder", "latent_channels", -1),
        "config: zero heads": sets("denoiser", "heads", 0),
        "config: a fraction of a layer": sets("denoiser", "layers", 4.5),
        "config: text for a number": sets("denoiser", "ffn_dim", "big"),
        "config: a section is null": sets(None, "autoencoder", None),
        "config: wrong number of latent statistics": sets(None, "latent_mean", [0.0] * 3),
        "config: spatial factor not a power of two": sets("autoencoder", "spatial_factor", 3),
        "config: a list": (CONFIG, b"[1, 2, 3]", ""),
        "config: binary": (CONFIG, b"\x80\x04\x95\x00\x00", ""),
        "config: empty": (CONFIG, b"", ""),
    }  # fmt: skip


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")  # the "zero heads" settings, on meta
def test_bad_weights_and_settings_are_refused_naming_the_file(tmp_path, bundled, no_unpickling, ledger):
    marker = tmp_path / "PWNED"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    cases = {
        **weights_cases(scratch, marker, bundled[WEIGHTS]),
        **shape_cases(scratch),
        **config_cases(bundled[CONFIG]),
    }
    with ledger.area("weights", "damaged, renamed, mismatched files") as area:
        for index, (label, (replaced, content, phrase)) in enumerate(cases.items()):
            folder = tmp_path / f"model{index}"
            folder.mkdir()
            for name, data in bundled.items():
                (folder / name).write_bytes(content if name == replaced else data)
            area.tried()
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            started = time.perf_counter()
            try:
                SketchBackend.load(folder, pick_device("cpu"))
            except WeightsError as error:
                if replaced not in error.message:
                    area.fail(f"{label}: the message does not name {replaced}: {error.message!r}")
                if phrase and phrase not in error.message:
                    area.fail(f"{label}: the message does not say {phrase!r}: {error.message!r}")
                if str(folder) not in error.detail:
                    area.fail(f"{label}: the detail does not give the path: {error.detail!r}")
            except Exception as crash:
                area.fail(f"{label}: {type(crash).__name__} instead of a WeightsError: {crash!s:.200}")
            else:
                area.fail(f"{label}: loaded")
            grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before
            elapsed = time.perf_counter() - started
            if grown > 300 or elapsed > 10:
                area.fail(f"{label}: refusing it took {grown:.0f} MB more memory and {elapsed:.1f} s")
            if marker.exists():
                area.fail(f"{label}: CODE FROM THE WEIGHTS FILE RAN")
                marker.unlink()
            shutil.rmtree(folder)
        if no_unpickling:
            area.fail(f"unpickling was attempted: {sorted(set(no_unpickling))}")


def test_pickle_files_are_refused_by_name_without_being_opened(tmp_path, no_unpickling, monkeypatch, ledger):
    marker = tmp_path / "PWNED"
    paths = [tmp_path / f"model{suffix}" for suffix in (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".PT")]
    for path in paths:
        path.write_bytes(pickle.dumps(Booby(marker)))
    opened: list[str] = []
    real_open = Path.open
    monkeypatch.setattr(
        Path, "open", lambda self, *a, **k: opened.append(self.name) or real_open(self, *a, **k)
    )
    with ledger.area("weights", "pickle suffixes refused unopened") as area:
        for path in paths:
            suffix = path.suffix
            for reader in (inspect_safetensors, load_safetensors):
                area.tried()
                try:
                    reader(path)
                except WeightsError as error:
                    if path.name not in error.message or "pickle" not in error.message:
                        area.fail(f"{suffix}: {error.message!r}")
                else:
                    area.fail(f"{suffix}: {reader.__name__} accepted it")
        if opened:
            area.fail(f"pickle files were opened: {opened}")
        if marker.exists() or no_unpickling:
            area.fail("CODE FROM A WEIGHTS FILE RAN")
