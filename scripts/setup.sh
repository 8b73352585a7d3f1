#!/usr/bin/env bash
# Set up everything supportplan needs on a Debian machine with Python 3.11:
# LibreOffice (headless), fonts for Latin, Arabic, Cyrillic, Ethiopic and CJK scripts and
# emoji, poppler, and a virtual environment with the Python packages. Safe to run again: it
# only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  libreoffice-writer-nogui   # DOCX -> PDF
  libreoffice-calc-nogui     # tests open the blank workbook in Calc, as caseworkers do
  python3-uno                # LibreOffice's Python bridge: the watcher's warm converter
  fonts-noto-core            # Noto Sans, Noto Sans Arabic (Arabic, Dari, Pashto plans), Noto Sans Ethiopic (Tigrinya)
  fonts-dejavu-core          # Latin, Cyrillic, the tick-box glyph
  fonts-noto-cjk             # Chinese, Japanese and Korean names (without it they print as empty boxes)
  fonts-symbola              # emoji and symbols as outlines (a colour emoji font prints blank in LibreOffice's PDFs)
  poppler-utils              # pdftoppm / pdftotext for looking at plans
  postgresql                 # tests start a throwaway server on a socket (the several-offices registry)
  python3-venv
)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "supportplan needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version))"; exit 1; }
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# pip's chatter goes to a log; it is shown only when something fails.
if ! { .venv/bin/python -m pip install -q --upgrade pip \
       && .venv/bin/python -m pip install -q -e '.[test]'; } > .venv/pip.log 2>&1; then
  cat .venv/pip.log
  echo "Installing the Python packages failed (log above, also in .venv/pip.log)."
  exit 1
fi
echo "Setup complete: .venv/bin/supportplan is ready."
