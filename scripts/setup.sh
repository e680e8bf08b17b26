#!/usr/bin/env bash
# Set up evalstudio for development on Debian/Ubuntu: system libraries Qt needs, a virtualenv in
# .venv, a pinned CPU torch first (any other spec downloads a multi-GB CUDA build), then
# evalstudio with its test extras. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

QT_LIBS="libglib2.0-0 libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 fonts-dejavu-core"
X_LIBS="libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 xvfb xauth"
if command -v apt-get >/dev/null 2>&1; then
  missing=$(for p in $QT_LIBS $X_LIBS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      # shellcheck disable=SC2086
      apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
      echo "note: missing system packages (install them with sudo apt-get install): $missing" >&2
    fi
  fi
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# A GPU user installs their own CUDA torch into .venv first; this keeps whatever torch is there.
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[test]"
