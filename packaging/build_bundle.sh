#!/usr/bin/env bash
# Build Shotline's self-contained Linux desktop bundle:
#   bash packaging/build_bundle.sh          → dist/Shotline/ (run dist/Shotline/shotline)
#   bash packaging/build_bundle.sh --tar    … and dist/Shotline-VERSION-linux-ARCH.tar.gz
# It sets up .venv the way packaging/dev.sh does, adds PyInstaller (the `bundle` extra) when missing and builds
# packaging/shotline.spec. The bundle carries the torch that .venv holds (CPU in CI; CUDA where dev.sh found a GPU).
# dist/Shotline/install-desktop-entry.sh then adds the menu entry, icon and .shotline file type for the user.
set -euo pipefail
if [ $# -gt 1 ] || { [ $# -eq 1 ] && [ "$1" != "--tar" ]; }; then
  echo "usage: bash packaging/build_bundle.sh [--tar]" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"

bash packaging/dev.sh app --version >/dev/null  # creates or updates .venv, and the app must start
if ! "$venv/bin/python" -c "import PyInstaller" 2>/dev/null; then
  echo "Installing PyInstaller into $venv …" >&2
  "$venv/bin/python" -m pip install --quiet -e ".[bundle]"
fi

PYTHONWARNINGS=ignore::DeprecationWarning "$venv/bin/python" -m PyInstaller --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/shotline.spec

bundle="dist/Shotline"
cp packaging/shotline.desktop packaging/shotline-mime.xml packaging/install-desktop-entry.sh "$bundle/"
cp resources/icons/shotline.png resources/icons/shotline.svg "$bundle/"
version="$("$bundle/shotline" --version)"  # "Shotline 0.1.0": the bundle starts
echo "Built $version in $bundle ($(du -sh "$bundle" | cut -f1))" >&2

if [ "${1:-}" = "--tar" ]; then
  archive="dist/Shotline-${version#Shotline }-linux-$(uname -m).tar.gz"
  tar -C dist -czf "$archive" Shotline
  echo "Wrote $archive ($(du -sh "$archive" | cut -f1))" >&2
fi
