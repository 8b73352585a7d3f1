#!/usr/bin/env bash
# Set up, then run the linter and the whole test suite (real LibreOffice included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
