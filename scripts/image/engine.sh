#!/usr/bin/env bash
# The Docker engine for the image build and the image tests: Debian's dockerd, started on demand.
#   scripts/image/engine.sh start    start dockerd unless an engine already answers; the last line
#                                    is STARTED=1 when this call started it, STARTED=0 otherwise
#   scripts/image/engine.sh stop     stop dockerd, but only when this script started it
#   scripts/image/engine.sh status   running or not, and who started it
#
# Whether the script started the engine is remembered in a pidfile, so that `stop` never ends
# an engine somebody else runs (a developer's Docker Desktop-style daemon, a system service).
set -euo pipefail

DOCKER=${DOCKER:-/usr/bin/docker}     # Debian's client: it drives BuildKit (DOCKER_BUILDKIT=1)
DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
RUN_DIR=${TTB_RUN_DIR:-/run/telegram-training-bot}
PIDFILE=$RUN_DIR/dockerd.pid
LOG=$RUN_DIR/dockerd.log
# dockerd with its containerd answers in 2-5 s here; a cold first start (creating
# /var/lib/docker) may take longer on a loaded machine.
START_TIMEOUT=${ENGINE_START_TIMEOUT:-90}
# dockerd stops running containers (10 s each by default) before it exits.
STOP_TIMEOUT=${ENGINE_STOP_TIMEOUT:-60}

log() { printf '[engine] %s\n' "$*" >&2; }

engine_answers() { "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# The PID this script recorded, if that process is still a dockerd; empty otherwise.
our_pid() {
  [ -f "$PIDFILE" ] || return 0
  local pid
  pid=$(cat "$PIDFILE")
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    echo "$pid"
  else
    rm -f "$PIDFILE"   # stale: the engine ended (reboot, crash) since it was recorded
  fi
}

start() {
  [ -x "$DOCKERD" ] || { log "$DOCKERD is missing: install Debian's docker.io (scripts/bootstrap.sh services)"; exit 1; }
  [ -x "$DOCKER" ] || { log "$DOCKER is missing: install Debian's docker.io"; exit 1; }
  if engine_answers; then
    echo STARTED=0
    return
  fi
  if [ -n "$(our_pid)" ]; then
    log "dockerd (pid $(our_pid)) was started earlier but does not answer yet; waiting"
  else
    log "starting dockerd (log: $LOG)"
    # The default runtime is runc behind a filter of the capabilities this VM cannot grant
    # (scripts/kind/runc-caps says why): without it no privileged container, so no kind node,
    # starts here. Copied out of the checkout, which may go away while the engine runs.
    install -m 0755 "$(dirname "${BASH_SOURCE[0]}")/../kind/runc-caps" "$RUN_DIR/runc-caps"
    # kind bind-mounts the host's /lib/modules into its nodes; this VM has none.
    mkdir -p /lib/modules
    # setsid: the engine must outlive the shell, test session or make process that asked for it.
    setsid "$DOCKERD" --add-runtime "ttb-runc=$RUN_DIR/runc-caps" --default-runtime ttb-runc \
      >"$LOG" 2>&1 </dev/null 9>&- &
    echo $! > "$PIDFILE"
  fi
  local waited=0
  until engine_answers; do
    if [ -z "$(our_pid)" ]; then
      log "dockerd exited while starting; the end of its log:"
      tail -n 30 "$LOG" >&2
      exit 1
    fi
    if [ "$waited" -ge "$((START_TIMEOUT * 2))" ]; then
      log "dockerd did not answer within ${START_TIMEOUT}s; stopping it. The end of its log:"
      tail -n 30 "$LOG" >&2
      stop >/dev/null
      exit 1
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  log "dockerd is up (pid $(our_pid))"
  echo STARTED=1
}

stop() {
  local pid
  pid=$(our_pid)
  if [ -z "$pid" ]; then
    if engine_answers; then
      log "the running engine was not started by this script; leaving it alone"
    fi
    return 0
  fi
  log "stopping dockerd (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; do
    if [ "$waited" -ge "$((STOP_TIMEOUT * 2))" ]; then
      log "dockerd did not exit within ${STOP_TIMEOUT}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  rm -f "$PIDFILE"
}

status() {
  local pid
  pid=$(our_pid)
  if engine_answers; then
    if [ -n "$pid" ]; then
      echo "running (dockerd pid $pid, started by this script)"
    else
      echo "running (not started by this script)"
    fi
  else
    echo "not running"
    return 3
  fi
}

mkdir -p "$RUN_DIR"
# One caller at a time: two test sessions starting the engine at once must not start two.
exec 9>"$RUN_DIR/engine.lock"
flock 9

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
