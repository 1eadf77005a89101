"""`shotline models …`: register local Wan 2.1 folders by name, inspect them, and set how they run.

shotline models list
shotline models check FOLDER            what the folder holds, checked file by file; nothing is loaded
shotline models add NAME FOLDER         check, then register (generate --model NAME uses it)
shotline models set NAME --offload model --vae-tiling on --draft on
shotline models remove NAME             forgets the name; the files stay where they are
"""

from __future__ import annotations

import argparse

from engine.backends.catalog import register_model, registered_models, set_model_options, unregister_model

_ON_OFF = {"on": True, "off": False}


def add_models_parser(sub, parser_class: type[argparse.ArgumentParser]) -> None:  # type: ignore[no-untyped-def]
    models = sub.add_parser("models", help="register and inspect local Wan 2.1 models")
    models.add_argument("--verbose", action="store_true", help="print technical detail on errors")
    actions = models.add_subparsers(dest="models_command", required=True, parser_class=parser_class)
    actions.add_parser("list", help="the registered models")
    check = actions.add_parser("check", help="check a model folder without loading it")
    check.add_argument("folder")
    add = actions.add_parser("add", help="check a model folder and register it under a name")
    add.add_argument("name")
    add.add_argument("folder")
    remove = actions.add_parser("remove", help="forget a registered name (the files stay)")
    remove.add_argument("name")
    settings = actions.add_parser("set", help="how a registered model runs")
    settings.add_argument("name")
    settings.add_argument("--offload", choices=("none", "model", "group"), help="for little GPU memory")
    settings.add_argument("--vae-tiling", choices=("auto", "on", "off"))
    settings.add_argument("--attention", choices=("auto", "flash", "cudnn", "efficient", "native"))
    settings.add_argument("--compile", choices=_ON_OFF, help="regional torch.compile of the blocks")
    settings.add_argument("--draft", choices=_ON_OFF, help="a step cache: faster, a little rougher")
    settings.add_argument("--cfg-batching", choices=_ON_OFF)


def _describe_folder(folder: str) -> str:
    from engine.backends.wan.files import inspect_wan_model

    files = inspect_wan_model(folder)
    memory = files.memory_estimate_gb()
    return (
        f"{files.label} ({files.layout} layout) at {files.root}\n"
        f"  transformer {files.transformer_parameters / 1e9:.2f}B parameters, "
        f"text encoder {files.text_encoder_parameters / 1e9:.2f}B, VAE {files.vae_parameters / 1e6:.0f}M\n"
        f"  estimated GPU memory at 832×480, 81 frames: {memory['total']:.1f} GB "
        f"(weights {memory['weights']:.1f} GB in bf16)"
    )


def run_models(args: argparse.Namespace) -> int:
    command = args.models_command
    if command == "list":
        models = registered_models()
        if not models:
            print("No models registered: `shotline models add NAME FOLDER` adds a Wan 2.1 folder.")
        for model in sorted(models.values(), key=lambda m: m.name):
            options = ", ".join(f"{k}={v}" for k, v in model.options.items()) or "default settings"
            print(f"{model.name}\t{model.label}\t~{model.memory_gb:.1f} GB\t{options}\t{model.path}")
    elif command == "check":
        print(_describe_folder(args.folder))
    elif command == "add":
        entry = register_model(args.name, args.folder)
        print(f"Registered {entry.name}: {entry.label}, about {entry.memory_gb:.1f} GB of GPU memory.")
    elif command == "remove":
        unregister_model(args.name)
        print(f"Removed {args.name} (its files were not touched).")
    else:
        changes = {
            "offload": args.offload,
            "vae_tiling": args.vae_tiling,
            "attention": args.attention,
            "compile_blocks": None if args.compile is None else _ON_OFF[args.compile],
            "draft": None if args.draft is None else _ON_OFF[args.draft],
            "cfg_batching": None if args.cfg_batching is None else _ON_OFF[args.cfg_batching],
        }
        entry = set_model_options(args.name, **{k: v for k, v in changes.items() if v is not None})
        described = ", ".join(f"{k}={v}" for k, v in entry.options.items()) or "default settings"
        print(f"{entry.name}: {described}")
    return 0
