#!/usr/bin/env bash
# `make e2e-kind`: the e2e suite on a kind cluster built on this machine, where every container
# really runs (docs/KIND.md), including the scenarios only real pods can show (marker `kind`).
#
# The cluster comes from scripts/kind/up.sh (created, or reused if `make kind-up` made one;
# without its sample bot unless KIND_SAMPLE=1). The project's image is tagged three times for the
# suite: e2e-1 and e2e-2 (a working release and the next one) and e2e-crashloop (an entrypoint
# that fails), each loaded into the node. A cluster this script created is deleted afterwards
# unless KEEP_CLUSTER=1; the Docker engine is stopped if it was started for it.
#
#   KIND_CLUSTER=ttb-e2e   cluster name      KIND_NODE_IMAGE=REF   a node image from elsewhere
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export KIND_CLUSTER=${KIND_CLUSTER:-ttb-e2e}
source scripts/kind/versions.env
source scripts/cluster/versions.env
# shellcheck source=kind/lib.sh
source scripts/kind/lib.sh

existed=0
[ -f "$state_dir/cluster-created" ] && existed=1
cleanup() {
  if [ "$existed" = 0 ] && [ "${KEEP_CLUSTER:-0}" != 1 ]; then scripts/kind/down.sh; fi
}
trap cleanup EXIT

out=$(KIND_SAMPLE=${KIND_SAMPLE:-0} scripts/kind/up.sh)
image=$(sed -n 's/^IMAGE=//p' <<<"$out")
[ -n "$image" ] || die "scripts/kind/up.sh printed no IMAGE="
repository=${image%:*}
first=$repository:e2e-1 next=$repository:e2e-2 crashloop=$repository:e2e-crashloop
"$DOCKER" tag "$image" "$first"
"$DOCKER" tag "$image" "$next"
# A release that starts and exits at once, as a broken build would: its pods crash-loop for real.
printf 'FROM %s\nENTRYPOINT ["/bin/sh", "-c", "echo this release is broken >&2; exit 3"]\n' "$image" |
  DOCKER_BUILDKIT=1 "$DOCKER" build -q -t "$crashloop" - >/dev/null
log "loading $first, $next and $crashloop into $cluster"
"$KIND" load docker-image --name "$cluster" "$first" "$next" "$crashloop" >/dev/null

log "running the e2e suite against $cluster"
KUBECONFIG=$kubeconfig E2E_IMAGE=$first E2E_IMAGE_NEXT=$next E2E_IMAGE_CRASHLOOP=$crashloop \
  "${VENV:-.venv}/bin/pytest" e2e -v -p no:cacheprovider
