"""Shotline's entry point: `python main.py [PROJECT.shotline]` opens the app; `generate`, `extend`, `bridge`
run headless; `--screenshot PNG` grabs the example project in the app's window."""

import sys

if __name__ == "__main__":
    if sys.argv[1:] == ["--version"]:  # answer before importing torch and Qt (seconds in a bundle)
        from app import VERSION

        print(f"Shotline {VERSION}")
        sys.exit(0)
    from app.cli import main

    sys.exit(main(sys.argv[1:]))
