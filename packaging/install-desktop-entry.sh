#!/usr/bin/env bash
# Add Shotline to this user's application menu: run it from the unpacked bundle folder (dist/Shotline/).
# Links ~/.local/bin/shotline to this folder's shotline and installs the .desktop entry, icon and file type.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$HOME/.local/bin" "$data/applications" "$data/icons/hicolor/256x256/apps" \
  "$data/icons/hicolor/scalable/apps" "$data/mime/packages"
ln -sf "$here/shotline" "$HOME/.local/bin/shotline"
sed "s|^Exec=shotline|Exec=\"$here/shotline\"|; s|^TryExec=shotline|TryExec=$here/shotline|" \
  "$here/shotline.desktop" > "$data/applications/shotline.desktop"
cp "$here/shotline.png" "$data/icons/hicolor/256x256/apps/shotline.png"
cp "$here/shotline.svg" "$data/icons/hicolor/scalable/apps/shotline.svg"
cp "$here/shotline-mime.xml" "$data/mime/packages/shotline.xml"
command -v update-mime-database >/dev/null && update-mime-database "$data/mime" || true
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
echo "Shotline is in the application menu; run it from a terminal as ~/.local/bin/shotline." >&2
