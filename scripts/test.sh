#!/usr/bin/env bash
# Set up (first time) and run every test: model, server, Socket.IO and real-browser tests.
# Data: ../shared/data (MNIST as mnist.npz, the pen digit files), or MNIST_PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
exec .venv/bin/python -m pytest "$@"
