#!/usr/bin/env bash
# Synthetic trainees against a bot whose Bot API is the local emulator (see bench/loadtest.py).
#
#   ./scripts/run_load_test.sh local 50 1m                  # starts PostgreSQL, Redis, the bot
#   ./scripts/run_load_test.sh local 50 1m --mode polling --rate-limits off
#   LOADTEST_BOT_TOKEN=… LOADTEST_WEBHOOK_URL=… LOADTEST_WEBHOOK_SECRET=… \
#   LOADTEST_EMULATOR_LISTEN=0.0.0.0:8090 ./scripts/run_load_test.sh staging 100 5m
#
# Prints throughput, errors and P50/P95/P99 latency (send to reply); exits 1 when more than 1%
# of the trainees' actions got no reply, 2 on a usage error.
set -euo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: $0 TARGET USERS DURATION [--mode webhook|polling] [--think-time S] [--rate-limits on|off]" >&2
    echo "  TARGET: local, or a name whose LOADTEST_* settings are in the environment" >&2
    echo "  DURATION: e.g. 30s, 5m" >&2
    exit 2
fi

cd "$(dirname "$0")/.."
python="${VENV:-.venv}/bin/python"
if [[ ! -x "$python" ]]; then
    echo "no virtual environment at ${VENV:-.venv}: run 'make venv' first" >&2
    exit 2
fi
exec "$python" -m bench.loadtest "$@"
