#!/usr/bin/env bash
# Create .venv and install the project into it, offline-safe: CPU torch first, pinned so no range pulls CUDA.
# Re-running is cheap: it reinstalls only when pyproject.toml or constraints.txt changed.
# EXTRAS=test installs the test tools too.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
extras=${EXTRAS:-}
stamp=.venv/.installed
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16) extras=$extras"
[ -x .venv/bin/python ] || "$python" -m venv .venv
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing into .venv (a few minutes the first time; later runs skip this)" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt "torch==2.13.0"
  .venv/bin/python -m pip install -q -c constraints.txt -e ".${extras:+[$extras]}"
  echo "$want" > "$stamp"
fi
