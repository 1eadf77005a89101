"""The Qt widgets of the Shotline desktop app: timeline, viewer, inspector, panels and main window."""
