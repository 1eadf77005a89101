"""Shotline's application layer: the headless CLI today, the Qt desktop app on top of the same engine."""
