#!/usr/bin/env bash
# Set up (first time) and serve the app on http://127.0.0.1:5000 with the shipped model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m webapp "$@"
