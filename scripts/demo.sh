#!/usr/bin/env bash
# Set up, then turn the demo households in intake/ into plans in output/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/supportplan demo .
echo "Open the plans in output/ (for example output/HH-0042/)."
