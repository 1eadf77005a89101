"""Shotline's entry point: `python main.py [PROJECT.shotline]` opens the app; `generate`, `extend`, `bridge`
run headless; `--screenshot PNG` grabs the example project in the app's window."""

import sys

if __name__ == "__main__":
    from app.cli import main

    sys.exit(main(sys.argv[1:]))
