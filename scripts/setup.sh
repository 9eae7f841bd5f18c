#!/usr/bin/env bash
# Create .venv and install the project into it, offline-safe: CPU torch first, pinned so no range pulls CUDA.
# Re-running is cheap: it reinstalls only when pyproject.toml or constraints.txt changed, or when an extra is
# asked for that is not installed yet (chat.sh after test.sh does not reinstall).
# EXTRAS=test installs the test tools too.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
extras=${EXTRAS:-}
stamp=.venv/.installed
hash="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
[ -x .venv/bin/python ] || "$python" -m venv .venv
had_hash="" had_extras="extras="
[ -f "$stamp" ] && { read -r had_hash had_extras < "$stamp" || true; }
had=",${had_extras#extras=},"
missing=""
for extra in ${extras//,/ }; do
  [[ "$had" == *",$extra,"* ]] || missing="$missing $extra"
done
if [ "$had_hash" != "$hash" ] || [ -n "$missing" ]; then
  echo "setup: installing into .venv (a few minutes the first time; later runs skip this)" >&2
  # Keep what an earlier run installed when the files did not change: EXTRAS=test after EXTRAS=ray has both.
  [ "$had_hash" = "$hash" ] && extras="$(echo "${had_extras#extras=},$extras" | tr ',' '\n' | grep -v '^$' | sort -u | paste -sd,)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt "torch==2.13.0"
  .venv/bin/python -m pip install -q -c constraints.txt -e ".${extras:+[$extras]}"
  echo "$hash extras=$extras" > "$stamp"
fi
