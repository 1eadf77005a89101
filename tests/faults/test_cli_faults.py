"""Every failure on the command line: exit status 2, one line a filmmaker understands, no traceback, and the
technical detail with --verbose. Damaged weights, a full disk, out of memory, a device that is not there,
an internal error, damaged takes and projects.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import engine.backends.registry
from app.cli import main
from app.document import serialize
from engine.backends.sketch.backend import DEFAULT_FOLDER
from engine.media import read_video, write_video
from tests.faults._disk import fill_disk
from tests.faults.test_render_faults import Flaky
from tests.faults.test_weights_faults import Booby

SMALL = ["--steps", "2", "--seed", "3", "--frames", "8", "--width", "64", "--height", "64"]
PROGRESS = (
    "shotline: rendering",
    "shotline: exporting",
    "shotline: saved",
    "shotline: the sketch model does not know",
)


def run(capfd, argv: list[str]) -> tuple[int, list[str], str]:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith(PROGRESS)]
    return code, lines, err


def check_failure(capfd, argv, expected: str, area, label: str, detail: str | None = None) -> None:
    """`argv` fails with exit 2 and one line containing `expected`; with --verbose, `detail` shows too."""
    code, lines, err = run(capfd, argv)
    area.tried()
    if code != 2:
        area.fail(f"{label}: exit status {code}, not 2: {err[-300:]!r}")
    if "Traceback" in err:
        area.fail(f"{label}: printed a traceback without --verbose")
    if len(lines) != 1 or not lines[0].startswith("shotline: ") or expected not in lines[0]:
        area.fail(f"{label}: expected one line saying {expected!r}, got {lines!r}")
    if detail is not None:
        code, _, err = run(capfd, [*argv, "--verbose"])
        if code != 2 or detail not in err:
            area.fail(f"{label}: --verbose does not show {detail!r}: {err[-400:]!r}")


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTLINE_CACHE", str(tmp_path / "cache"))
    return tmp_path


def _model_folder(root: Path, name: str, replace: dict[str, bytes]) -> Path:
    folder = root / name
    folder.mkdir()
    for file in ("config.json", "sketch.safetensors"):
        target = folder / file
        if file in replace:
            target.write_bytes(replace[file])
        else:
            shutil.copyfile(DEFAULT_FOLDER / file, target)
    return folder


def test_damaged_models_fail_in_one_line_naming_the_file(workspace, capfd, ledger):
    weights = (DEFAULT_FOLDER / "sketch.safetensors").read_bytes()
    config = json.loads((DEFAULT_FOLDER / "config.json").read_text())
    marker = workspace / "PWNED"
    out = workspace / "shot.mp4"
    wrong_shape = workspace / "wrong.safetensors"
    save_file({"denoiser.proj_out.weight": torch.zeros(3, 3)}, str(wrong_shape))
    cases = {
        "truncated weights": ({"sketch.safetensors": weights[: len(weights) // 3]}, "sketch.safetensors"),
        "pickle renamed": ({"sketch.safetensors": pickle.dumps(Booby(marker))}, "sketch.safetensors"),
        "wrong shapes": ({"sketch.safetensors": wrong_shape.read_bytes()}, "do not match"),
        "settings that do not match": (
            {"config.json": json.dumps({**config, "denoiser": {**config["denoiser"], "layers": 2}}).encode()},
            "config.json",
        ),
        "settings damaged": ({"config.json": b"{not json"}, "config.json"),
    }
    with ledger.area("command line", "damaged models") as area:
        for index, (label, (replace, expected)) in enumerate(cases.items()):
            folder = _model_folder(workspace, f"model{index}", replace)
            argv = ["generate", "--prompt", "a ball", "--out", str(out), "--model", str(folder), *SMALL]
            check_failure(capfd, argv, expected, area, label, detail=str(folder))
        if marker.exists():
            area.fail("CODE FROM A WEIGHTS FILE RAN")
        if out.exists():
            area.fail("an output file was written")


def test_a_full_disk_fails_in_one_line_and_keeps_the_old_output(workspace, capfd, monkeypatch, ledger):
    out = workspace / "shot.mp4"
    write_video(out, np.full((4, 64, 64, 3), 50, np.uint8), 12)
    old = out.read_bytes()
    argv = ["generate", "--prompt", "a red ball moves right over grass", "--out", str(out), *SMALL]
    import app.cli

    real_write = app.cli.write_video

    def write_on_a_full_disk(*args, **kwargs):
        with monkeypatch.context() as patch:
            fill_disk(patch, 0)
            return real_write(*args, **kwargs)

    with ledger.area("command line", "full disk") as area:
        with monkeypatch.context() as patch:  # the disk is full from the start: the take cannot be stored
            fill_disk(patch, 0)
            check_failure(capfd, argv, "free disk space", area, "full before the render")
        with monkeypatch.context() as patch:  # the take is stored, then the disk fills: the export fails
            patch.setattr(app.cli, "write_video", write_on_a_full_disk)
            check_failure(
                capfd,
                argv,
                "not enough free disk space",
                area,
                "full at the export",
                detail="No space left on device",
            )
        if out.read_bytes() != old:
            area.lost(len(old), "the existing output file changed")
        if sorted(p.name for p in workspace.iterdir() if p.name.startswith(".")):
            area.lost(0, "temporary files were left beside the output")


def test_out_of_memory_and_internal_errors_fail_in_one_line(
    workspace, capfd, monkeypatch, sketch_backend, ledger
):
    out = workspace / "shot.mp4"
    argv = ["generate", "--prompt", "a red ball moves right over grass", "--out", str(out), *SMALL]
    with ledger.area("command line", "out of memory, internal errors, devices") as area:
        for error, expected, detail in [
            (
                torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
                "ran out of memory",
                "2.00 GiB",
            ),
            (
                RuntimeError("DefaultCPUAllocator: can't allocate memory"),
                "ran out of memory",
                "DefaultCPUAllocator",
            ),
            (ValueError("a bug deep in the model"), "internal error", "ValueError: a bug deep in the model"),
        ]:

            def load(folder, choice, error=error):
                flaky = Flaky(sketch_backend, error)
                flaky.armed = True
                return flaky

            monkeypatch.setattr(engine.backends.registry, "_load_sketch", load)
            check_failure(
                capfd, argv, expected, area, f"{type(error).__name__} while rendering", detail=detail
            )

        def broken_loader(folder, choice):
            raise KeyError("an unforeseen failure while loading")

        monkeypatch.setattr(engine.backends.registry, "_load_sketch", broken_loader)
        check_failure(
            capfd, argv, "internal error (KeyError)", area, "a bug outside the job", detail="Traceback"
        )
        monkeypatch.undo()
        monkeypatch.setenv("SHOTLINE_CACHE", str(workspace / "cache"))
        check_failure(capfd, [*argv, "--device", "gpu0"], "Unknown device 'gpu0'", area, "unknown device")
        if not torch.cuda.is_available():
            check_failure(capfd, [*argv, "--device", "cuda"], "No NVIDIA GPU", area, "no GPU here")
        if out.exists():
            area.fail("an output file was written")


def test_damaged_takes_and_projects(workspace, capfd, ledger):
    """A take folder passed as --clip with damaged parts, and damaged projects given to `render`."""
    out = workspace / "next.mp4"
    code, _, err = run(
        capfd, ["generate", "--prompt", "a red ball", "--out", str(workspace / "a.mp4"), *SMALL]
    )
    assert code == 0, err
    take = next(p for p in (workspace / "cache").iterdir() if (p / "latents.safetensors").exists())
    extend = ["extend", "--clip", str(take), "--direction", "forward", "--prompt", "more", "--out", str(out),
              "--steps", "2", "--frames", "8"]  # fmt: skip
    with ledger.area("command line", "damaged takes and projects") as area:
        # Latents that are not what Shotline writes: the frames are used instead, and it works.
        for label, tensors in {
            "latents under another name": {"other": torch.zeros(2, 2)},
            "latents of another shape": {"latents": torch.zeros(5)},
            "latents of integers": {"latents": torch.zeros(16, 2, 8, 8, dtype=torch.int64)},
        }.items():
            save_file(tensors, str(take / "latents.safetensors"))
            area.tried()
            code, _, err = run(capfd, extend)
            if code != 0 or read_video(out).frame_count != 8:
                area.fail(f"{label}: extend did not fall back to the frames: {err[-300:]!r}")
            out.unlink(missing_ok=True)
        (take / "frames.mkv").write_bytes(np.random.default_rng(0).bytes(20_000))
        check_failure(capfd, extend, "frames.mkv", area, "a take whose frames are damaged")
        (take / "recipe.json").write_text("[1, 2, 3]")
        check_failure(capfd, extend, take.name, area, "a take whose recipe is damaged")

        project = workspace / "film.shotline"
        text = serialize.dumps(_tiny())
        for label, content, expected in [
            ("truncated project", text.encode()[:300], "film.shotline"),
            ("project from a newer Shotline", text.replace("Project.1", "Project.9").encode(), "(Project.9)"),
            ("not a project", b"\x89PNG\r\n\x1a\n", "film.shotline"),
        ]:
            project.write_bytes(content)
            check_failure(
                capfd, ["render", str(project), "--out", str(workspace / "edit.mp4")], expected, area, label
            )
            if project.read_bytes() != content:
                area.lost(len(content), f"{label}: rendering changed the project file")


def _tiny():
    from tests.test_app_render import tiny_project

    return tiny_project()


def test_exporting_on_a_full_disk_keeps_the_last_export_and_the_project(
    workspace, capfd, monkeypatch, ledger
):
    project = workspace / "film.shotline"
    serialize.save(_tiny(), project)

    def snapshot() -> dict[str, bytes]:
        files = [
            p
            for p in workspace.rglob("*")
            if p.is_file() and "cache" not in p.parts and ".media" not in str(p)
        ]
        return {str(p.relative_to(workspace)): p.read_bytes() for p in files}

    with ledger.area("command line", "full disk during export") as area:
        for out in ("edit.mp4", "edit.mov", "frames/"):
            argv = [
                "render",
                str(project),
                "--out",
                str(workspace / out) + ("/" if out.endswith("/") else ""),
            ]
            code, _, err = run(capfd, argv)  # last week's export (its shots are rendered and saved first)
            assert code == 0, err
            before = snapshot()
            with monkeypatch.context() as patch:
                fill_disk(patch, 0)
                check_failure(capfd, argv, "not enough free disk space", area, f"re-export to {out}")
            after = snapshot()
            for name in sorted(set(before) | set(after)):
                if before.get(name) != after.get(name):
                    area.lost(len(before.get(name, b"")), f"{out}: {name} changed or appeared")
