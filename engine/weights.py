"""Safe weights files: safetensors only, checked before a byte of tensor data is trusted.

A safetensors file is `u64 header length (little endian) · JSON header · tensor bytes`; the header
maps each tensor name to its dtype, shape and byte range. `inspect_safetensors` reads only the header
and checks it against the file size, so a truncated download, a renamed pickle, a Git LFS pointer or
an HTML error page is refused with a message naming the file, before anything is loaded. Pickle-based
formats (`.pt`, `.pth`, `.bin`, `.ckpt`, `.pkl`) are refused by name and never opened: unpickling
runs code from the file.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.errors import WeightsError

__all__ = [
    "PICKLE_SUFFIXES",
    "TensorInfo",
    "check_shapes",
    "inspect_safetensors",
    "load_safetensors",
    "refuse_pickle",
]

PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle")
_MAX_HEADER = 100 * 1024 * 1024  # the format's own limit
_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}  # fmt: skip


@dataclass(frozen=True)
class TensorInfo:
    dtype: str  # safetensors' name: "F32", "BF16", …
    shape: tuple[int, ...]


def refuse_pickle(path: Path) -> None:
    """Raise for a pickle-based weights file, without reading it."""
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise WeightsError(
            f"{path.name} is a PyTorch pickle file; Shotline loads weights only from .safetensors files "
            "because a pickle can run code when it is opened. "
            "Download the .safetensors version of this model.",
            detail=str(path),
        )


def _what_it_is(start: bytes) -> str:
    if start.startswith(b"PK\x03\x04"):
        return "a PyTorch checkpoint (zip with a pickle inside) renamed to .safetensors"
    if start[:1] == b"\x80" and start[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle renamed to .safetensors"
    if start.startswith(b"version https://git-lfs"):
        return "a Git LFS pointer, not the weights (run `git lfs pull` in the model folder)"
    if start.lstrip()[:1] == b"<":
        return "a web page (an HTML error page saved instead of the download)"
    return "not a safetensors file"


def inspect_safetensors(path: str | Path) -> dict[str, TensorInfo]:
    """Names, dtypes and shapes of the tensors in `path`, after checking the header against the file.

    Raises WeightsError naming the file when it is missing, a pickle, truncated or corrupt.
    """
    path = Path(path)
    refuse_pickle(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            start = handle.read(8)
            if len(start) < 8:
                raise WeightsError(f"{path.name} is empty or cut short: download it again.", str(path))
            (header_len,) = struct.unpack("<Q", start)
            if header_len > min(_MAX_HEADER, size - 8) or header_len < 2:
                raise WeightsError(
                    f"{path.name} is {_what_it_is(start + handle.read(24))}: Shotline cannot load it.",
                    detail=f"{path}: header length {header_len}, file size {size}",
                )
            raw = handle.read(header_len)
    except FileNotFoundError:
        raise WeightsError(f"The weights file {path.name} is missing.", detail=str(path)) from None
    except OSError as error:
        raise WeightsError(
            f"The weights file {path.name} cannot be read.", detail=f"{path}: {error}"
        ) from None
    try:
        header = json.loads(raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
    except (UnicodeDecodeError, ValueError) as error:
        raise WeightsError(
            f"{path.name} is {_what_it_is(start + raw[:24])}: Shotline cannot load it.",
            detail=f"{path}: {error}",
        ) from None
    data_size = size - 8 - header_len
    tensors: dict[str, TensorInfo] = {}
    end_max = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape = str(entry["dtype"]), tuple(int(d) for d in entry["shape"])
            begin, end = (int(v) for v in entry["data_offsets"])
            expected = _DTYPE_BYTES[dtype] * math.prod(shape)
        except (KeyError, TypeError, ValueError) as error:
            raise WeightsError(
                f"{path.name} is damaged (its table of tensors is not valid): download it again.",
                detail=f"{path}: tensor {name!r}: {error!r}",
            ) from None
        if end > data_size:
            raise WeightsError(
                f"{path.name} is truncated ({size:,} bytes, the file says it needs "
                f"{8 + header_len + end:,}): the download did not finish — download it again.",
                detail=f"{path}: tensor {name!r} ends at byte {end} of {data_size}",
            )
        if end - begin != expected or begin < 0:
            raise WeightsError(
                f"{path.name} is damaged (tensor {name} has the wrong size): download it again.",
                detail=f"{path}: {name} {dtype}{list(shape)} spans {end - begin} bytes, expected {expected}",
            )
        end_max = max(end_max, end)
        tensors[name] = TensorInfo(dtype, shape)
    return tensors


def load_safetensors(path: str | Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """All tensors of a checked safetensors file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    inspect_safetensors(path)
    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise WeightsError(
            f"{path.name} is damaged or is not a safetensors file: download it again.",
            detail=f"{path}: {error}",
        ) from None


def check_shapes(
    path: Path,
    expected: Mapping[str, tuple[int, ...]],
    found: Mapping[str, TensorInfo] | Mapping[str, torch.Tensor],
    what: str,
    ignore: Iterable[str] = (),
) -> None:
    """Raise naming `path` when tensors are missing, unexpected or of another shape than `what` needs."""
    ignored = set(ignore)
    got = {name: tuple(info.shape) for name, info in found.items() if name not in ignored}
    want = {name: tuple(shape) for name, shape in expected.items() if name not in ignored}
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    wrong = sorted(n for n in set(want) & set(got) if want[n] != got[n])
    if not (missing or extra or wrong):
        return
    lines = [f"missing: {n}" for n in missing[:5]] + [f"unexpected: {n}" for n in extra[:5]]
    lines += [f"{n}: file has {list(got[n])}, {what} needs {list(want[n])}" for n in wrong[:5]]
    raise WeightsError(
        f"The weights in {path.name} do not match {what} "
        f"({len(missing)} missing, {len(extra)} unexpected, {len(wrong)} of another shape).",
        detail=f"{path}\n" + "\n".join(lines),
    )
