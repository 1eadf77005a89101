"""The project model (no Qt, no torch): tracks, shots, gaps and takes. Filled in by the desktop app work."""
