#!/usr/bin/env bash
# `make kind-up`: a kind cluster on this machine where every pod really runs, with the operator
# installed by the chart and a sample bot wired to PostgreSQL, Redis with Sentinel and the Bot API
# emulator. The last line is KUBECONFIG=<path>. Idempotent: an existing cluster is reused.
#
#   KIND_CLUSTER=ttb          the cluster's name
#   KIND_NODE_IMAGE=REF       a node image to use instead of the one scripts/kind/build.sh
#                             assembles here (e.g. kind's own, where the engine can pull it)
#   KIND_SAMPLE=0             create the cluster and load the images, but deploy no sample
#
# What it created is recorded in the state directory, so that `make kind-down` removes exactly
# that: the cluster (if this script created it) and the Docker engine (if it started it).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
source "$repo/scripts/cluster/versions.env"
# shellcheck source=lib.sh
source "$here/lib.sh"

log "starting (cluster $cluster, state in $state_dir)"
mkdir -p "$state_dir"
started=$SECONDS

if [ "$("$repo/scripts/image/engine.sh" start | tail -n 1)" = STARTED=1 ]; then
  touch "$state_dir/engine-started"
fi

if [ -n "${KIND_NODE_IMAGE:-}" ]; then
  node_image=$KIND_NODE_IMAGE
  "$here/build.sh" cli >/dev/null
else
  node_image=$("$here/build.sh" | sed -n 's/^NODE_IMAGE=//p' | tail -n 1)
  [ -n "$node_image" ] || die "scripts/kind/build.sh printed no NODE_IMAGE"
fi
log "node image $node_image ($((SECONDS - started)) s)"

if ! "$KIND" get clusters 2>/dev/null | grep -qx "$cluster"; then
  write_cluster_config "$node_image" > "$state_dir/cluster.yaml"
  log "kind create cluster --name $cluster"
  created=$SECONDS
  "$KIND" create cluster --name "$cluster" --image "$node_image" --config "$state_dir/cluster.yaml" \
    --kubeconfig "$kubeconfig" --wait 300s
  touch "$state_dir/cluster-created"
  log "cluster created in $((SECONDS - created)) s"
  keep_dns_inside
else
  log "reusing kind cluster $cluster"
  "$KIND" get kubeconfig --name "$cluster" > "$kubeconfig"
fi

load_images
if [ "${KIND_SAMPLE:-1}" != 0 ]; then
  "$repo/.venv/bin/python" "$here/sample.py" --kubeconfig "$kubeconfig" --image "$PROJECT_IMAGE" \
    --postgres-image "$POSTGRES_IMAGE" --redis-image "$REDIS_IMAGE"
fi
log "ready in $((SECONDS - started)) s; see docs/KIND.md"
echo "IMAGE=$PROJECT_IMAGE"
echo "KUBECONFIG=$kubeconfig"
