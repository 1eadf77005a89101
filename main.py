"""Shotline's entry point: `python main.py` opens the app; `generate`, `extend`, `bridge` run headless."""

import sys

if __name__ == "__main__":
    from app.cli import main

    sys.exit(main(sys.argv[1:]))
