#!/usr/bin/env bash
# Create .venv and install the Python requirements; with --dev, the test tools and
# Debian's Chromium too. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
requirements=requirements.txt
[ "${1:-}" = "--dev" ] && requirements=requirements-dev.txt
.venv/bin/pip install --quiet --disable-pip-version-check -r "$requirements"
if [ "${1:-}" = "--dev" ] && [ ! -x /usr/bin/chromium ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
