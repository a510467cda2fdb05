#!/usr/bin/env bash
# `make kind-down`: removes what `make kind-up` created, and nothing else: the kind cluster if
# kind-up created it, and the Docker engine if kind-up started it. Images stay cached.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/versions.env"
source "$here/../cluster/versions.env"
# shellcheck source=lib.sh
source "$here/lib.sh"

if [ -f "$state_dir/cluster-created" ]; then
  log "deleting kind cluster $cluster"
  "$KIND" delete cluster --name "$cluster" --kubeconfig "$kubeconfig" >/dev/null 2>&1 || true
  rm -f "$state_dir/cluster-created" "$kubeconfig"
else
  log "cluster $cluster was not created by kind-up; leaving it"
fi
if [ -f "$state_dir/engine-started" ]; then
  "$here/../image/engine.sh" stop
  rm -f "$state_dir/engine-started"
fi
