#!/usr/bin/env bash
# Try the several-process layout on one machine: PostgreSQL, Redis, N app processes and nginx
# (deploy/cnnview.conf), from Debian's packages, all in instance/cluster/ and on free ports
# but nginx's (8080). Nothing is installed as a service or changed system-wide.
#
#   bash scripts/cluster.sh start [N]     # N app processes (default 3); prints the address
#   bash scripts/cluster.sh stop
set -euo pipefail
cd "$(dirname "$0")/.."
action="${1:-start}"
folder="${CLUSTER_FOLDER:-instance/cluster}"
case "$action" in
  start)
    for program in redis-server nginx; do
      command -v "$program" >/dev/null || { echo "$program is missing: sudo apt-get install redis-server postgresql nginx" >&2; exit 1; }
    done
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || { echo "PostgreSQL is missing: sudo apt-get install postgresql" >&2; exit 1; }
    [ -x .venv/bin/python ] || bash scripts/setup.sh
    # Started in the background; `stop` ends them (their ids are in $folder/pids.json).
    exec .venv/bin/python -m bench.cluster start --processes "${2:-3}" --folder "$folder" --port "${PORT:-8080}"
    ;;
  stop)
    exec .venv/bin/python -m bench.cluster stop --folder "$folder"
    ;;
  *)
    echo "usage: bash scripts/cluster.sh start [N] | stop" >&2
    exit 2
    ;;
esac
