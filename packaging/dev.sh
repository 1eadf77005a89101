#!/usr/bin/env bash
# Shotline's developer entry point. Sets up .venv in the project root when missing or out of date, then:
#   bash packaging/dev.sh app [ARGS…]   start Shotline (python main.py ARGS…)
#   bash packaging/dev.sh test [ARGS…]  lint, check import rules, run the test suite (pytest ARGS…)
# Safe to run again and again: the install step runs only when pyproject.toml changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
python="${PYTHON:-python3}"
mode="${1:-app}"
shift || true

if [ ! -x "$venv/bin/python" ]; then
  echo "Creating $venv …" >&2
  "$python" -m venv "$venv"
fi

# torch: a CUDA build where an NVIDIA GPU is present (for the app), the CPU wheel otherwise and for tests/CI.
if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  if [ "$mode" != "test" ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "Installing torch with CUDA …" >&2
    "$venv/bin/python" -m pip install --quiet "torch>=2.4"
  else
    echo "Installing torch (CPU) …" >&2
    "$venv/bin/python" -m pip install --quiet "torch==2.13.0"
  fi
fi
stamp="$venv/.shotline-installed"
want="$(sha256sum pyproject.toml | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "Installing Shotline's dependencies into $venv …" >&2
  "$venv/bin/python" -m pip install --quiet -e ".[test]"
  echo "$want" > "$stamp"
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
case "$mode" in
  app)
    exec "$venv/bin/python" main.py "$@"
    ;;
  test)
    "$venv/bin/ruff" check .
    "$venv/bin/lint-imports"
    exec "$venv/bin/python" -m pytest "$@"
    ;;
  *)
    echo "usage: bash packaging/dev.sh app|test [ARGS…]" >&2
    exit 2
    ;;
esac
