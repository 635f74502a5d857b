#!/usr/bin/env bash
# Sets everything up (Debian packages, .venv) and runs the emulator demo on the
# private Mosquitto broker (amqtt where none is installed) with the SAC policy. Extra
# arguments go to `aaas demo`, e.g. scripts/demo.sh --policy least_loaded
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/aaas demo "$@"
