#!/usr/bin/env bash
# Leave-writers-out cross-validation with each of the 6 folds in its own process, for a
# machine with many cores or a GPU (KERAS_BACKEND=jax works too):
#   bash scripts/crossval.sh RESULTS.jsonl [--recipe NAME ...]
# The pen images are rendered once, into a shared cache, before the folds start.
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:?usage: scripts/crossval.sh RESULTS.jsonl [--recipe NAME ...]}; shift
python=${PYTHON:-.venv/bin/python}
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
"$python" -m model.crossval --render-only --cache "$cache" "$@"
for fold in 0 1 2 3 4 5; do
  "$python" -m model.crossval --fold "$fold" --cache "$cache" --jobs 1 --results "$results.$fold" "$@" &
done
wait
cat "$results".[0-5] >> "$results" && rm "$results".[0-5]
"$python" -m model.crossval --report "$results"
