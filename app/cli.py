"""The headless command line: generate, extend and bridge shots, and export (render) a project, with the
same engine the app uses.

Exit status: 0 done, 2 bad input or a failure explained in one line on stderr, 130 cancelled (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from app import VERSION
from app.cli_models import add_models_parser, run_models
from engine.backends.base import Backend
from engine.cache import find_take
from engine.device import DeviceChoice, configure_threads, pick_device
from engine.errors import GenerationCancelled, InvalidRequestError, ShotlineError
from engine.framing import fit_cover
from engine.jobs import JobEvent, JobProgress, JobQueue, is_out_of_memory
from engine.media import Video, read_image, read_video, to_fraction, write_video
from engine.requests import SAMPLERS, GenerationRequest, KnownFrames, resolve

if TYPE_CHECKING:
    from app.document.schema import Shot
    from app.export import ExportProgress

OUTPUT_SUFFIXES = (".mp4", ".mov", ".mkv")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, no usage dump
        self.exit(2, f"shotline: {message} (see --help)\n")


def default_cache_dir() -> Path:
    if os.environ.get("SHOTLINE_CACHE"):
        return Path(os.environ["SHOTLINE_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "shotline" / "takes"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="shotline", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"Shotline {VERSION}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    def common(p: argparse.ArgumentParser, sized: bool) -> None:
        p.add_argument("--prompt", required=True, help="what the shot shows")
        p.add_argument("--out", required=True, help="output: .mp4, .mov (ProRes) or a folder/ (PNG)")
        p.add_argument("--negative-prompt", default="", help="what to keep out of the shot")
        p.add_argument("--frames", type=int, help="frames to generate (model default if omitted)")
        if sized:
            p.add_argument("--width", type=int)
            p.add_argument("--height", type=int)
            p.add_argument("--fps", type=float)
        p.add_argument("--seed", type=int, help="same seed + same settings = same shot")
        p.add_argument("--steps", type=int)
        p.add_argument("--guidance", type=float)
        p.add_argument("--shift", type=float)
        p.add_argument("--sampler", choices=SAMPLERS)
        p.add_argument(
            "--frame-lag",
            type=int,
            help="steps each latent frame settles after the one before; 0: all at once",
        )
        p.add_argument("--model", default="sketch", help="a registered model name or a model folder")
        p.add_argument("--device", help="cpu or cuda (default: cuda when present)")
        p.add_argument("--cache", type=Path, default=None, help="media cache folder for takes")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--verbose", action="store_true", help="print technical detail on errors")

    gen = sub.add_parser("generate", help="a new shot from a prompt (and optionally a start image)")
    common(gen, sized=True)
    gen.add_argument("--image", type=Path, help="start image: the shot begins on it")
    ext = sub.add_parser("extend", help="new frames that continue a clip forward or lead into it")
    common(ext, sized=False)
    ext.add_argument("--clip", required=True, type=Path)
    ext.add_argument("--direction", required=True, choices=("forward", "backward"))
    bri = sub.add_parser("bridge", help="new frames that join the end of one clip to the start of another")
    common(bri, sized=False)
    bri.add_argument("--left", required=True, type=Path)
    bri.add_argument("--right", required=True, type=Path)

    ren = sub.add_parser(
        "render",
        help="export a project's edit: shots without a take are rendered (and saved) first",
        description="Export the edit as the timeline shows it: .mp4 (H.264), .mov (ProRes 422 HQ), a folder/ "
        "(PNG frames) or .otio (OpenTimelineIO), with provenance metadata and a .provenance.json sidecar.",
    )
    ren.add_argument("project", type=Path, help="the .shotline project")
    ren.add_argument("--out", required=True, help="output: .mp4, .mov, .otio or a folder/ for PNG frames")
    ren.add_argument("--format", choices=("mp4", "prores", "png", "otio"), help="default: from --out")
    ren.add_argument("--crf", type=int, help="H.264 quality, 0 (best) to 51 (smallest); default 18")
    ren.add_argument(
        "--sign-c2pa",
        action="store_true",
        help="embed a C2PA manifest signed with a local key (.mp4 / .mov; needs the shotline[c2pa] extra)",
    )
    ren.add_argument(
        "--device", help="cpu or cuda, for shots that need rendering (default: cuda when present)"
    )
    ren.add_argument("--quiet", action="store_true", help="no progress bars")
    ren.add_argument("--verbose", action="store_true", help="print technical detail on errors")
    add_models_parser(sub, _Parser)
    return parser


# --- inputs ---------------------------------------------------------------------------------------------
def check_output(text: str, inputs: list[Path]) -> None:
    out = Path(text)
    is_folder = text.endswith(("/", os.sep)) or out.is_dir()
    if not is_folder and out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InvalidRequestError(
            f"Cannot write '{out.name}': use a .mp4 (H.264), .mov (ProRes 422 HQ) file "
            "or a folder/ for PNG frames."
        )
    parent = out if is_folder else out.parent
    if not is_folder and not parent.exists():
        raise InvalidRequestError(f"The folder {parent} does not exist: create it or choose another output.")
    for source in inputs:
        if source.exists() and out.exists() and out.resolve() == source.resolve():
            raise InvalidRequestError(
                f"The output would overwrite the input {source.name}: choose another name."
            )


class Clip:
    """A clip given on the command line: its frames, and its stored latents when it is a Shotline take."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.latents = None
        self.latent_space = ""
        take = find_take(path)
        self.video: Video = read_video(path) if take is None else take.load_video()
        if take is not None:
            stored = take.load_latents()
            if stored is not None:
                self.latents, self.latent_space = stored

    def known(self, backend: Backend, position: int, count: int, from_end: bool) -> KnownFrames:
        layout = backend.capabilities.temporal
        frames = self.video.frames[-count:] if from_end else self.video.frames[:count]
        latents = None
        if self.latents is not None and layout.pixel_count(self.latents.shape[1]) == self.video.frame_count:
            span = layout.latent_count(count)
            latents = self.latents[:, -span:] if from_end else self.latents[:, :span]
        return KnownFrames(
            position=position,
            frames=frames,
            latents=latents,
            latent_space=self.latent_space,
            source=self.path.name,
        )


def context_count(backend: Backend, clip: Clip) -> int:
    caps = backend.capabilities
    f = caps.temporal.factor
    count = min(caps.context_frames, (clip.video.frame_count // f) * f)
    if count == 0:
        raise InvalidRequestError(
            f"{clip.path.name} has only {clip.video.frame_count} frames: extend and bridge need at least {f}."
        )
    return count


def build_request(args: argparse.Namespace, backend: Backend) -> tuple[GenerationRequest, list[Path]]:
    """The request the arguments describe, and the input files it reads."""
    fields = dict(
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        frames=args.frames,
        seed=args.seed,
        steps=args.steps,
        guidance=args.guidance,
        shift=args.shift,
        sampler=args.sampler,
        frame_lag=args.frame_lag,
        model=args.model,
    )
    if args.frames is not None and args.frames <= 0:
        raise InvalidRequestError(f"--frames must be a positive number of frames (got {args.frames}).")
    if args.command == "generate":
        known: tuple[KnownFrames, ...] = ()
        inputs = []
        width, height = args.width, args.height
        if args.image is not None:
            caps = backend.capabilities
            image = read_image(args.image)[None]  # [1, H, W, 3]
            if width is None and height is None:  # keep the image's size when the model can make it
                h, w = image.shape[1:3]
                fits = all(v % caps.size_factor == 0 and caps.min_size <= v <= caps.max_size for v in (w, h))
                width, height = (w, h) if fits else (caps.default_width, caps.default_height)
            width, height = width or caps.default_width, height or caps.default_height
            image = fit_cover(image, width, height)
            known = (KnownFrames(position=0, frames=image, source=args.image.name),)
            inputs.append(args.image)
        request = GenerationRequest(**fields, width=width, height=height, fps=args.fps, known=known)
        return request, inputs
    if args.command == "extend":
        clip = Clip(args.clip)
        clips = [clip]
    else:
        clip = Clip(args.left)
        clips = [clip, Clip(args.right)]
        if clips[0].video.frames.shape[1:] != clips[1].video.frames.shape[1:]:
            a, b = clips[0].video, clips[1].video
            raise InvalidRequestError(
                f"The clips have different sizes ({a.width}×{a.height} and {b.width}×{b.height}): "
                "a bridge joins clips of the same size."
            )
    caps = backend.capabilities
    base = GenerationRequest(
        **fields, width=clip.video.width, height=clip.video.height, fps=float(clip.video.fps)
    )
    frames = base.frames if base.frames is not None else caps.default_frames
    if args.command == "extend" and args.direction == "forward":
        count = context_count(backend, clip)
        known = (clip.known(backend, -count, count, from_end=True),)
    elif args.command == "extend":
        count = context_count(backend, clip)
        known = (clip.known(backend, frames, count, from_end=False),)
    else:
        left, right = clips
        known = (
            left.known(backend, -context_count(backend, left), context_count(backend, left), from_end=True),
            right.known(backend, frames, context_count(backend, right), from_end=False),
        )
    return base.replace(known=known), [c.path for c in clips]


# --- running --------------------------------------------------------------------------------------------
class ProgressBar:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None

    def __call__(self, event: JobEvent) -> None:
        if not self.enabled or not isinstance(event, JobProgress):
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=event.total, unit="step", file=sys.stderr, dynamic_ncols=True, leave=False)
        self.bar.n = event.step
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class FrameBar:
    """The export's frames on the terminal: a tqdm bar with the time left."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None

    def __call__(self, progress: ExportProgress) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                total=progress.total, unit="frame", file=sys.stderr, dynamic_ncols=True, leave=False
            )
        self.bar.n = progress.done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def report_error(error: ShotlineError, verbose: bool) -> int:
    """One line on stderr (and the technical detail with --verbose); exit status 2."""
    print(f"shotline: {error.message}", file=sys.stderr)
    if verbose and error.detail:
        print(error.detail, file=sys.stderr)
    return 2


def run_render(args: argparse.Namespace) -> int:
    """`render PROJECT --out PATH`: render shots without a take (saving them in the project), then export."""
    from app.document import edits, serialize
    from app.export import ExportCancelled, export_project, export_settings
    from app.export.c2pa_signing import INSTALL_HINT, is_available
    from app.export.missing_takes import render_missing_takes, shots_to_render
    from app.media_paths import media_folder

    started = time.perf_counter()
    show = not args.quiet and sys.stderr.isatty()
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    steps, frames = ProgressBar(enabled=show), FrameBar(enabled=show)
    queue: JobQueue | None = None
    try:
        settings = export_settings(args.out, args.format, crf=args.crf, sign_c2pa=args.sign_c2pa)
        if settings.sign_c2pa and not is_available():
            raise InvalidRequestError(INSTALL_HINT)
        project_path = args.project.absolute()
        project = serialize.load(project_path)
        if project.duration == 0:
            raise InvalidRequestError(f"{project_path.name} has an empty timeline: nothing to export.")
        missing = shots_to_render(project)
        if missing:
            configure_threads(leave_for_ui=False)
            queue = JobQueue(media_folder(project_path), device=pick_device(args.device))
            queue.add_listener(steps)

            def announce(number: int, count: int, shot: Shot) -> None:
                steps.close()
                what = edits.describe(shot)
                line = f"shotline: rendering shot {number} of {count}, {what} (Ctrl-C cancels) …"
                print(line, file=sys.stderr, flush=True)

            project = render_missing_takes(
                project, project_path, queue, on_shot=announce, should_stop=stop.is_set
            )
            steps.close()
            serialize.save(project, project_path)
            print(f"shotline: saved {len(missing)} new take(s) in {project_path.name}", file=sys.stderr)
        print(
            f"shotline: exporting {project.duration} frames at {project.width}×{project.height} "
            f"(Ctrl-C cancels) …",
            file=sys.stderr,
            flush=True,
        )
        result = export_project(project, project_path, settings, progress=frames, should_stop=stop.is_set)
        frames.close()
        print(
            f"shotline: wrote {result.frames} frames ({settings.format}) in "
            f"{time.perf_counter() - started:.1f} s; provenance in {result.sidecar.name}",
            file=sys.stderr,
        )
        print(result.path)
        return 0
    except (GenerationCancelled, ExportCancelled):
        print("shotline: cancelled; no file written.", file=sys.stderr)
        return 130
    except ShotlineError as error:
        return report_error(error, args.verbose)
    finally:
        signal.signal(signal.SIGINT, previous)
        steps.close()
        frames.close()
        if queue is not None:
            queue.close()


def choose_device(name: str | None) -> DeviceChoice:
    """The device `--device` names, or a clear error when it is unknown or not in this machine."""
    try:
        choice = pick_device(name)
    except RuntimeError as error:
        raise InvalidRequestError(f"Unknown device '{name}': use cpu or cuda.", repr(error)) from error
    if choice.device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidRequestError(
            "No NVIDIA GPU is available to this PyTorch (none found, or it was installed without CUDA): "
            "use --device cpu."
        )
    return choice


def run(args: argparse.Namespace) -> int:
    if args.command == "render":
        return run_render(args)
    if args.command == "models":
        return run_models(args)
    started = time.perf_counter()
    device = choose_device(args.device)
    configure_threads(leave_for_ui=False)
    queue = JobQueue(args.cache or default_cache_dir(), device=device)
    progress = ProgressBar(enabled=not args.quiet and sys.stderr.isatty())
    queue.add_listener(progress)
    try:
        backend = queue.backend(args.model)
        request, inputs = build_request(args, backend)
        check_output(args.out, inputs)
        request = resolve(request, backend.capabilities)
        unknown = backend.unknown_words(request.prompt)
        if unknown:
            print(f"shotline: the {backend.name} model does not know: {', '.join(unknown)}", file=sys.stderr)
        handle = queue.submit(request)
        previous = signal.signal(signal.SIGINT, lambda *_: handle.cancel())
        print(
            f"shotline: rendering {request.frames} frames at {request.width}×{request.height} with the "
            f"{backend.name} model on {device.label} (Ctrl-C cancels) …",
            file=sys.stderr,
            flush=True,
        )
        try:
            # Wake up often: a signal that lands on a worker thread only runs our handler once the
            # main thread executes Python again.
            while not handle.wait_finished(0.1):
                pass
            take = handle.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
            progress.close()
        video = take.load_video()
        recipe = {"generator": f"Shotline {VERSION}", "ai_generated": True, "recipe": take.recipe["request"]}
        out = write_video(
            args.out,
            video.frames,
            to_fraction(request.fps),
            metadata={"comment": json.dumps(recipe), "title": request.prompt[:200]},
        )
        elapsed = time.perf_counter() - started
        print(
            f"shotline: wrote {video.frame_count} frames ({video.width}×{video.height}, seed {request.seed}) "
            f"in {elapsed:.1f} s",
            file=sys.stderr,
        )
        print(out)
        return 0
    except GenerationCancelled:
        print("shotline: cancelled; no file written.", file=sys.stderr)
        return 130
    except ShotlineError as error:
        return report_error(error, args.verbose)
    finally:
        progress.close()
        queue.close()


def gui_arguments(argv: list[str]) -> dict[str, str | None] | None:
    """What opens the desktop app: no arguments, a `.shotline` path, or `--screenshot PNG`; None otherwise."""
    if not argv:
        return {}
    if len(argv) == 2 and argv[0] == "--screenshot":
        return {"screenshot": argv[1]}
    if len(argv) == 1 and argv[0].endswith(".shotline"):
        return {"project_path": argv[0]}
    return None


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    argv = sys.argv[1:] if argv is None else list(argv)
    gui = gui_arguments(argv)
    if gui is not None:
        from app.gui import run_gui

        return run_gui(**gui)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return run(args)
    except ShotlineError as error:
        return report_error(error, args.verbose)
    except KeyboardInterrupt:
        print("shotline: cancelled; no file written.", file=sys.stderr)
        return 130
    except Exception as error:  # unforeseen: still one line (and the traceback with --verbose), never a crash
        if is_out_of_memory(error):
            message = (
                "Shotline ran out of memory: try fewer frames or a smaller size, or close other programs."
            )
        else:
            message = f"Shotline stopped because of an internal error ({type(error).__name__})."
        print(f"shotline: {message} Run again with --verbose for the details.", file=sys.stderr)
        if args.verbose:
            traceback.print_exc()
        return 2
