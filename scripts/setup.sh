#!/usr/bin/env bash
# Sets up everything the project needs on a fresh Debian machine, idempotently:
#   * Debian packages (mosquitto, its clients, prometheus) when missing;
#   * a virtual environment at .venv/ with the project and all its extras.
# Re-running it is cheap: pip is skipped while pyproject.toml and
# constraints.txt are unchanged since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(mosquitto mosquitto-clients prometheus docker-compose iproute2)
EXTRAS="${AAAS_EXTRAS:-all,dev}"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if command -v apt-get >/dev/null; then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    log "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    # Services must not start on their own: the tests start their own brokers.
    DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  else
    log "warning: no apt-get; install ${missing[*]} by hand for the broker and monitoring tests"
  fi
fi

PYTHON="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  log "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi

stamp=".venv/.aaas-installed"
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1) $EXTRAS"
if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
  log "installing the project with extras [$EXTRAS] into .venv (first time: a few minutes)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[$EXTRAS]"
  echo "$want" > "$stamp"
else
  log ".venv is up to date"
fi
