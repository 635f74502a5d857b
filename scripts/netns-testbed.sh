#!/usr/bin/env bash
# A testbed with a network namespace per host on a private bridge (needs root):
#   scripts/netns-testbed.sh up [--time-scale 3600 --edge-hosts 2 --user-shards 2 ...]
#   scripts/netns-testbed.sh status
#   scripts/netns-testbed.sh down
# `up` starts Mosquitto, the orchestrator, the edge hosts and the user shards in the
# background and prints each host's address; `down` stops them and deletes every
# namespace (also what a crashed run left). See docs/deploy.md, "Hosts of their own".
# PYTHON overrides the interpreter (default: .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m testbed.netns "$@"
