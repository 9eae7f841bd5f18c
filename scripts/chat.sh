#!/usr/bin/env bash
# One command: install (first time), index seeds/ (first run; reused after), and serve the chat on 127.0.0.1:7860.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/rag serve "$@"
