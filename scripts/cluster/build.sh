#!/usr/bin/env bash
# Builds the local control plane's binaries with Go from their official modules, pinned in
# versions.env, into a cache outside the repository keyed by version. Idempotent: a binary
# already in the cache is not rebuilt. Prints the bin directory as its last line.
#
#   build.sh                      the control plane: apiserver, controller-manager, scheduler,
#                                 kubectl, etcd, kwok, helm
#   build.sh kubelet kubeadm ...  also these commands of k8s.io/kubernetes (a kind node's)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${TTB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/telegram-training-bot}
bin_dir="$cache_root/kube-$KUBE_VERSION/bin"
work_dir="$cache_root/kube-$KUBE_VERSION/build"
mkdir -p "$bin_dir" "$work_dir"

command -v go >/dev/null || { echo "build.sh: Go is required to build the control plane (install golang)" >&2; exit 1; }
export CGO_ENABLED=0 GOFLAGS=-mod=mod

log() { printf '[cluster-build] %s\n' "$*" >&2; }

# A module that lists its sibling modules with relative `replace` directives cannot be
# `go install`ed. A throwaway wrapper module replaces each of them with the published
# version instead (for Kubernetes: staging module k8s.io/X at v0.<minor>.<patch>).
make_wrapper() {  # dir module version sibling_version
  local dir=$1 module=$2 version=$3 sibling_version=$4
  mkdir -p "$dir"
  if [ -f "$dir/.ready" ]; then return; fi
  (cd "$dir" && rm -f go.mod go.sum &&
    printf 'module wrapper\n\ngo 1.26\n\nrequire %s %s\n' "$module" "$version" > go.mod &&
    go mod download "$module@$version")
  local modfile
  modfile=$(cd "$dir" && go mod download -json "$module@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  sed -n 's/^[[:space:]]*\([^[:space:]]*\) => \.\.\{0,1\}\/.*/\1/p' "$modfile" | sort -u | while read -r sibling; do
    [ "$sibling" = "$module" ] && continue
    printf 'replace %s => %s %s\n' "$sibling" "$sibling" "$sibling_version" >> "$dir/go.mod"
  done
  touch "$dir/.ready"
}

build_in() {  # dir output package version [ldflags]
  local dir=$1 out=$2 pkg=$3 version=$4 ldflags=${5:-}
  if [ -x "$bin_dir/$out" ]; then log "$out: cached"; return; fi
  log "$out: building $pkg"
  local started=$SECONDS
  (cd "$dir" && go get "$pkg@$version" && go build -trimpath -ldflags "-s -w $ldflags" -o "$bin_dir/$out.tmp" "$pkg")
  mv "$bin_dir/$out.tmp" "$bin_dir/$out"
  log "$out: built in $((SECONDS - started)) s"
}

kube_minor=${KUBE_VERSION#v1.}; kube_minor=${kube_minor%%.*}
kube_ldflags="-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$kube_minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$kube_minor"

make_wrapper "$work_dir/kubernetes" k8s.io/kubernetes "$KUBE_VERSION" "v0.${KUBE_VERSION#v1.}"
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl "$@"; do
  build_in "$work_dir/kubernetes" "$cmd" "k8s.io/kubernetes/cmd/$cmd" "$KUBE_VERSION" "$kube_ldflags"
done

# etcd is kept in a wrapper of its own so that its dependency versions do not fight Kubernetes'.
make_wrapper "$work_dir/etcd" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_VERSION"
build_in "$work_dir/etcd" etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" \
  "-X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}"

install_tool() {  # name module@version [ldflags]
  if [ -x "$bin_dir/$1" ]; then log "$1: cached"; return; fi
  log "$1: installing $2"
  local started=$SECONDS
  GOBIN="$bin_dir" go install -trimpath -ldflags "-s -w ${3:-}" "$2"
  log "$1: built in $((SECONDS - started)) s"
}

install_tool kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
# As helm's own Makefile does: its version, and the Kubernetes version its `template` and
# `lint` assume (from the client-go it is built with), or it assumes 1.20 and refuses charts
# that require a newer Kubernetes.
helm_k8s_minor=$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' \
  "$(go env GOMODCACHE)/cache/download/helm.sh/helm/v3/@v/$HELM_VERSION.mod" 2>/dev/null || true)
if [ -z "$helm_k8s_minor" ]; then
  (cd "$work_dir" && go mod download "helm.sh/helm/v3@$HELM_VERSION")
  helm_k8s_minor=$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' \
    "$(go env GOMODCACHE)/cache/download/helm.sh/helm/v3/@v/$HELM_VERSION.mod")
fi
helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in pkg/chartutil pkg/lint/rules; do
  helm_ldflags+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$helm_k8s_minor"
done
install_tool helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$helm_ldflags"

echo "$bin_dir"
