# Shared by scripts/kind/{up,down}.sh and scripts/e2e-kind.sh (sourced, after versions.env).
# shellcheck shell=bash

DOCKER=${DOCKER:-/usr/bin/docker}
cluster=${KIND_CLUSTER:-ttb}
cache_root=${TTB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/telegram-training-bot}
state_dir=${TTB_KIND_DIR:-$cache_root/kind-clusters/$cluster}
kubeconfig=$state_dir/kubeconfig
KIND=$cache_root/kind-node/bin/kind
KUBECTL=$cache_root/kube-$KUBE_VERSION/bin/kubectl
HELM=$cache_root/kube-$KUBE_VERSION/bin/helm

log() { printf '[kind] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# The cluster: one control-plane node that also runs the workloads. Patches for this machine:
# containerd may not set oom_score_adj below the node's own, the kubelet runs on a cgroup v1
# host (Kubernetes 1.35+ refuses unless told), and, with the node image built here, kubeadm's
# images are the ones under $IMAGE_REPOSITORY that the node already holds (etcd at the version
# built for the local control plane).
write_cluster_config() {  # node-image
  cat <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: $cluster
nodes:
  - role: control-plane
    image: $1
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri"]
      restrict_oom_score_adj = true
kubeadmConfigPatches:
  - |
    kind: KubeletConfiguration
    failCgroupV1: false
EOF
  if [ -z "${KIND_NODE_IMAGE:-}" ]; then
    cat <<EOF
  - |
    kind: ClusterConfiguration
    imageRepository: $IMAGE_REPOSITORY
    etcd:
      local:
        imageTag: ${ETCD_VERSION#v}-0
EOF
  fi
}

# CoreDNS forwards names it does not serve to the node's resolver, and from there to the world.
# The tests talk only to this cluster, so the cluster resolves only its own names: anything else
# fails fast instead of reaching an address outside the machine.
keep_dns_inside() {
  local corefile
  corefile=$("$KUBECTL" --kubeconfig "$kubeconfig" -n kube-system get configmap coredns -o jsonpath='{.data.Corefile}')
  if grep -q 'forward \. ' <<<"$corefile"; then
    corefile=$(sed '/forward \. .*{/,/}/d; /forward \. /d' <<<"$corefile")
    "$KUBECTL" --kubeconfig "$kubeconfig" -n kube-system create configmap coredns \
      --from-literal=Corefile="$corefile" --dry-run=client -o yaml |
      "$KUBECTL" --kubeconfig "$kubeconfig" replace -f - >/dev/null
    "$KUBECTL" --kubeconfig "$kubeconfig" -n kube-system rollout restart deployment/coredns >/dev/null
    log "CoreDNS answers only the cluster's own names"
  fi
}

# The project's image and the backing services' images, built here and loaded into the node.
# Sets PROJECT_IMAGE, POSTGRES_IMAGE and REDIS_IMAGE.
load_images() {
  local repo base
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  PROJECT_IMAGE=$("$repo/scripts/image/build.sh" | sed -n 's/^IMAGE=//p' | tail -n 1)
  [ -n "$PROJECT_IMAGE" ] || die "scripts/image/build.sh printed no IMAGE="
  base=$("$repo/scripts/image/base.sh" | sed -n 's/^BASE_IMAGE=//p' | tail -n 1)
  POSTGRES_IMAGE=ttb-postgres:15
  REDIS_IMAGE=ttb-redis:7
  for pair in "$POSTGRES_IMAGE=postgres" "$REDIS_IMAGE=redis"; do
    DOCKER_BUILDKIT=1 "$DOCKER" build -q --build-arg "BASE_IMAGE=$base" -t "${pair%%=*}" \
      "$repo/scripts/kind/images/${pair#*=}" >/dev/null
  done
  log "loading $PROJECT_IMAGE, $POSTGRES_IMAGE and $REDIS_IMAGE into $cluster"
  "$KIND" load docker-image --name "$cluster" "$PROJECT_IMAGE" "$POSTGRES_IMAGE" "$REDIS_IMAGE" >/dev/null
  export PROJECT_IMAGE POSTGRES_IMAGE REDIS_IMAGE
}
