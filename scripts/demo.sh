#!/usr/bin/env bash
# Sets everything up (Debian packages, .venv) and runs the emulator demo on the
# embedded broker. Extra arguments go to `aaas demo`, e.g. scripts/demo.sh --policy sac
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/aaas demo "$@"
