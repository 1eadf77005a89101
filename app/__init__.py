"""Shotline's application layer: the headless CLI today, the Qt desktop app on top of the same engine."""

VERSION = "0.1.0"  # the one place that holds the version (the CLI, About, provenance, packaging)
