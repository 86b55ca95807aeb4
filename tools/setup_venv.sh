#!/usr/bin/env bash
# Create .venv with ROS 2 Kilted from PyPI wheels and every pinned dependency of the stack.
# Idempotent: re-running with an unchanged requirements.lock does nothing but check.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.deps-$(sha1sum requirements.lock tools/setup_venv.sh | sha1sum | cut -c1-12)"

if [ -f "$STAMP" ]; then
  exit 0
fi

"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 10):
    sys.exit(f"Python >= 3.10 is required, found {sys.version.split()[0]}")
PY

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$VENV"
fi
echo "[setup] installing pinned dependencies (ROS 2 Kilted wheels, MuJoCo, Pinocchio, ...)"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.lock
# The loaders' own dependency pins would downgrade the robot data: install them without deps.
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
  example-robot-data-loaders==5.0.0
"$VENV/bin/python" tools/fix_rosidl_cmake_paths.py
rm -f "$VENV"/.deps-*
touch "$STAMP"
echo "[setup] done"
