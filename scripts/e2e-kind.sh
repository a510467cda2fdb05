#!/usr/bin/env bash
# `make e2e-kind`: the e2e suite on a kind cluster, where every container really runs.
#
# Needs a Docker engine that can pull images (kind's node image, postgres and redis for the
# bots' backing services). kind itself is built with Go if it is not on PATH. The project's
# image is built by scripts/image/build.sh, tagged twice (the e2e suite rolls from one tag to
# the other), loaded into the cluster with `kind load docker-image`, and the suite runs
# against the cluster's kubeconfig: the chart's operator pod does the work there.
#
#   KIND_CLUSTER=ttb-e2e   cluster name (created if missing)
#   KEEP_CLUSTER=1         keep the cluster afterwards (default: delete it if this script made it)
#   KIND_NODE_IMAGE=...    node image for `kind create cluster --image` (default: kind's own)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KIND_VERSION=v0.33.0
cluster=${KIND_CLUSTER:-ttb-e2e}
log() { printf '[e2e-kind] %s\n' "$*" >&2; }

command -v docker >/dev/null || { log "Docker is required (a running engine that can pull images)"; exit 1; }
docker info >/dev/null 2>&1 || { log "the Docker engine is not running or not reachable"; exit 1; }
if ! command -v kind >/dev/null; then
  gobin=${TTB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/telegram-training-bot}/kind-$KIND_VERSION
  if [ ! -x "$gobin/kind" ]; then
    log "building kind $KIND_VERSION with Go"
    GOBIN=$gobin go install "sigs.k8s.io/kind@$KIND_VERSION"
  fi
  export PATH=$gobin:$PATH
fi

created=0
if ! kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  log "creating kind cluster $cluster"
  kind create cluster --name "$cluster" --wait 180s ${KIND_NODE_IMAGE:+--image "$KIND_NODE_IMAGE"}
  created=1
fi
cleanup() {
  if [ "$created" = 1 ] && [ "${KEEP_CLUSTER:-0}" != 1 ]; then
    log "deleting kind cluster $cluster"
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

image=$(scripts/image/build.sh | sed -n 's/^IMAGE=//p' | tail -1)
[ -n "$image" ] || { log "the image build printed no IMAGE= line"; exit 1; }
repository=${image%:*}
first=$repository:e2e-1 next=$repository:e2e-2
docker tag "$image" "$first"
docker tag "$image" "$next"
log "loading $first and $next into $cluster"
kind load docker-image "$first" "$next" --name "$cluster"

kubeconfig=$(mktemp)
kind get kubeconfig --name "$cluster" > "$kubeconfig"
log "running the e2e suite against $cluster"
KUBECONFIG=$kubeconfig E2E_IMAGE=$first E2E_IMAGE_NEXT=$next \
  "${VENV:-.venv}/bin/pytest" e2e -v
