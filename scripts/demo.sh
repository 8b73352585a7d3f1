#!/usr/bin/env bash
# Set up, then turn the demo households in intake/ into plans in output/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/supportplan demo .
.venv/bin/supportplan report --no-email
echo "Open the plans in output/ (for example output/HH-0042/) and the overdue report in output/reports/."
