"""A disk that fills up: every file Shotline writes while it is installed draws on one budget of bytes, and
the write that would go past it fails with ENOSPC ("No space left on device"), as a full disk does.

Covers FFmpeg's output (PyAV writes through a Python file object instead of a path), Python `open()`
in `engine.media.writing` (PNG frames, metadata.json), safetensors files and `Path.write_text` (the
take's recipe).
The project file's own saving is covered by tests/test_document_serialize.py.
"""

from __future__ import annotations

import errno
import io
import pathlib

import av
from safetensors.torch import save as safetensors_bytes

import engine.cache
import engine.media.writing

_real_av_open = av.open
_real_write_text = pathlib.Path.write_text


class Disk:
    def __init__(self, room: int) -> None:
        self.room = room
        self.written = 0
        self.refused = 0  # how many writes failed for lack of room

    def take(self, size: int) -> None:
        if self.written + size > self.room:
            self.refused += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        self.written += size


class _DiskFile(io.RawIOBase):
    """A real file whose writes draw on the disk's budget."""

    def __init__(self, disk: Disk, path: str, mode: str) -> None:
        self.disk = disk
        binary = next(f"{flag}b" for flag in "wxa" if flag in mode) if "+" not in mode else "r+b"
        self.file = open(path, binary)  # noqa: SIM115

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return self.file.readable()

    def seekable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.disk.take(len(data))
        return self.file.write(data)

    def read(self, size: int = -1) -> bytes:
        return self.file.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()

    def flush(self) -> None:
        self.file.flush()

    def fileno(self) -> int:
        return self.file.fileno()

    def close(self) -> None:
        super().close()  # flushes first
        self.file.close()


def fill_disk(monkeypatch, room: int) -> Disk:
    """From now until the monkeypatch is undone, Shotline's writes share `room` bytes of free space."""
    disk = Disk(room)

    def av_open(file, mode="r", *args, **kwargs):
        if mode == "w" and isinstance(file, (str, pathlib.Path)):
            return _real_av_open(_DiskFile(disk, str(file), "wb"), mode, *args, **kwargs)
        return _real_av_open(file, mode, *args, **kwargs)

    def media_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            handle = _DiskFile(disk, str(file), mode)
            return handle if "b" in mode else io.TextIOWrapper(io.BufferedWriter(handle), encoding="utf-8")
        return open(file, mode, *args, **kwargs)

    def save_file(tensors, filename, metadata=None):
        data = safetensors_bytes(tensors, metadata)
        with _DiskFile(disk, str(filename), "wb") as handle:
            handle.write(data)

    def write_text(self, data, encoding=None, errors=None, newline=None):
        with _DiskFile(disk, str(self), "w") as handle:
            handle.write(data.encode(encoding or "utf-8"))
        return len(data)

    monkeypatch.setattr(av, "open", av_open)
    monkeypatch.setattr(engine.media.writing, "open", media_open, raising=False)
    monkeypatch.setattr(engine.cache, "save_file", save_file)
    monkeypatch.setattr(pathlib.Path, "write_text", write_text)
    return disk
