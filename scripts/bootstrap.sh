#!/usr/bin/env bash
# Sets up a fresh machine for `make demo` / `make test`. Idempotent: every step checks first.
#   scripts/bootstrap.sh python     the virtual environment with the project and its dev tools
#   scripts/bootstrap.sh services   Debian packages the test tiers run for real
#   scripts/bootstrap.sh all        both
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

log() { printf '[bootstrap] %s\n' "$*" >&2; }

python_env() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  # Reinstall only when the project's metadata changed since the last install.
  local stamp="$VENV/.installed" digest
  digest=$(cat pyproject.toml setup.py | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    log "installing the project (editable) with its dev extras"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e '.[dev]'
    echo "$digest" > "$stamp"
  fi
}

# Debian packages: the command that proves each is there, and the package that provides it.
DEBIAN_PACKAGES=(
  "/usr/lib/postgresql/15/bin/initdb postgresql"
  "/usr/bin/redis-server redis-server"
  "/usr/bin/redis-sentinel redis-sentinel"
  "/usr/bin/promtool prometheus"
  "/usr/bin/amtool prometheus-alertmanager"
  "/usr/sbin/dockerd docker.io"
  "/usr/sbin/debootstrap debootstrap"
  "/usr/bin/openssl openssl"
  "/usr/bin/ip iproute2"
  "/usr/bin/jq jq"                   # the runtime filter of scripts/kind/runc-caps
  "/usr/bin/gcc gcc"                 # the kind node's pause binary (static)
  "/usr/lib/x86_64-linux-gnu/libc.a libc6-dev"
  "/usr/bin/chromium chromium"          # the demo page's browser tests (Playwright)
  "/usr/bin/npm npm"                  # axe-core for the accessibility check
)

services() {
  local missing=()
  for entry in "${DEBIAN_PACKAGES[@]}"; do
    set -- $entry
    [ -x "$1" ] || missing+=("$2")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
    # Packages must not start their daemons here: the tests start (and stop) what they use.
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    $sudo rm -f /usr/sbin/policy-rc.d
  fi
  command -v go >/dev/null || { log "Go is required to build the local control plane (apt-get install golang or install Go 1.26)"; exit 1; }
}

case "${1:-all}" in
  python) python_env ;;
  services) services ;;
  all) services; python_env ;;
  *) echo "usage: $0 [python|services|all]" >&2; exit 2 ;;
esac
