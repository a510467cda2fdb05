#!/usr/bin/env bash
# Assembles a kind node image on this machine, from Debian packages and Go modules only: no
# registry is reachable here, and `kind build node-image` fetches images from one.
#
#   scripts/kind/build.sh       build what is missing; the last line is NODE_IMAGE=<ref>
#   scripts/kind/build.sh cli   only the kind CLI (for a node image from elsewhere)
#
# What it makes, each cached by version (binaries under ~/.cache/telegram-training-bot, images in
# the Docker engine by a digest of their inputs), so a warm run only checks:
#   1. binaries: kubelet, kubeadm, kube-proxy (scripts/cluster/build.sh, beside the control
#      plane's); kind, containerd 2.x with ctr and its runc shim, crictl, coredns and
#      local-path-provisioner with `go install`; pause from Kubernetes' pause.c with gcc -static.
#   2. the images the node runs, named under $IMAGE_REPOSITORY (nothing is pulled from there):
#      the static binaries FROM scratch; kube-proxy and the volume helper on a small Debian
#      rootfs with iptables and conntrack.
#   3. the node: a Debian bookworm rootfs with systemd, Debian's runc and CNI plugins, the binaries
#      above, kind's own systemd units and entrypoint (images/base/files of the kind module), a
#      containerd config that uses runc-caps and restrict_oom_score_adj (this VM's limits), a
#      bridge CNI, the default StorageClass; then the images of step 2 imported into containerd's
#      k8s.io namespace inside a build container, which is committed as the node image.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../cluster/versions.env
source "$repo/scripts/cluster/versions.env"
# shellcheck source=versions.env
source "$here/versions.env"

DOCKER=${DOCKER:-/usr/bin/docker}
SUITE=bookworm
MIRROR=${DEBOOTSTRAP_MIRROR:-}
cache_root=${TTB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/telegram-training-bot}
bin_dir="$cache_root/kind-node/bin"
mkdir -p "$bin_dir"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

log() { printf '[kind-build] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

command -v go >/dev/null || die "Go is required (install Go 1.26 or Debian's golang)"

# --- 1. binaries -----------------------------------------------------------------------------
install_tool() {  # name module@version [go install flags...]
  local name=$1 target=$2; shift 2
  local stamp="$bin_dir/.$name.version"
  if [ -x "$bin_dir/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$target" ]; then return; fi
  log "$name: go install $target"
  local started=$SECONDS
  GOBIN="$bin_dir" go install -trimpath "$@" "$target"
  echo "$target" > "$stamp"
  log "$name: built in $((SECONDS - started)) s"
}
install_tool kind "sigs.k8s.io/kind@$KIND_VERSION" -ldflags "-s -w"
if [ "${1:-}" = cli ]; then echo "KIND=$bin_dir/kind"; exit 0; fi
"$DOCKER" info >/dev/null 2>&1 || die "the Docker engine does not answer: scripts/image/engine.sh start"
kube_bin=$("$repo/scripts/cluster/build.sh" kubelet kubeadm kube-proxy | tail -n 1)
# containerd without the snapshotters that need cgo or kernel features a kind node lacks,
# as kind's own base image builds it.
for cmd in containerd ctr containerd-shim-runc-v2; do
  install_tool "$cmd" "github.com/containerd/containerd/v2/cmd/$cmd@$CONTAINERD_VERSION" \
    -tags "no_btrfs no_devmapper no_zfs no_aufs" \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION"
done
install_tool crictl "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" \
  -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION"
install_tool coredns "github.com/coredns/coredns@$COREDNS_VERSION" -ldflags "-s -w"
install_tool local-path-provisioner "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION" -ldflags "-s -w"

modcache=$(go env GOMODCACHE)
pause_src="$modcache/k8s.io/kubernetes@$KUBE_VERSION/build/pause/linux/pause.c"
if [ ! -x "$bin_dir/pause" ] || [ "$(cat "$bin_dir/.pause.version" 2>/dev/null)" != "$PAUSE_VERSION" ]; then
  [ -f "$pause_src" ] || die "$pause_src is missing (scripts/cluster/build.sh downloads the Kubernetes module)"
  log "pause: gcc -static $pause_src"
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-ttb" -o "$bin_dir/pause" "$pause_src"
  strip "$bin_dir/pause"
  echo "$PAUSE_VERSION" > "$bin_dir/.pause.version"
fi
kind_files="$modcache/sigs.k8s.io/kind@$KIND_VERSION/images/base/files"
[ -d "$kind_files" ] || (cd "$bin_dir" && go mod download "sigs.k8s.io/kind@$KIND_VERSION")
[ -d "$kind_files" ] || die "kind's base files are missing from $kind_files"

# --- helpers -----------------------------------------------------------------------------------
image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }
# A digest of files and strings: the cache key of an image built from them.
digest() { { for arg in "$@"; do if [ -e "$arg" ]; then sha256sum "$arg"; else echo "$arg"; fi; done; } | sha256sum | cut -c1-12; }

rootfs_image() {  # ref packages: a debootstrap rootfs imported as an image, unless it exists
  local ref=$1 packages=$2
  if image_exists "$ref"; then return; fi
  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
  local root
  root=$(mktemp -d /var/tmp/ttb-kind-rootfs.XXXXXX)
  log "debootstrap $SUITE ($packages) for $ref; about a minute"
  # shellcheck disable=SC2086  # MIRROR is empty (debootstrap's default) or one URL
  if ! debootstrap --variant=minbase --include="$packages" "$SUITE" "$root" $MIRROR >"$root.log" 2>&1; then
    tail -n 30 "$root.log" >&2; rm -rf "$root" "$root.log"; die "debootstrap failed"
  fi
  rm -f "$root.log"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc \
    "$root"/usr/share/man "$root"/usr/share/locale "$root"/usr/share/info
  tar -C "$root" -c . | "$DOCKER" import - "$ref" >/dev/null
  rm -rf "$root"
}

build_image() {  # ref context-dir: docker build, unless the ref exists
  if image_exists "$1"; then return; fi
  log "building $1"
  DOCKER_BUILDKIT=1 "$DOCKER" build -q -t "$1" "$2" >/dev/null
}

work=$(mktemp -d /var/tmp/ttb-kind-build.XXXXXX)
builder=
cleanup() {
  [ -z "$builder" ] || "$DOCKER" rm -f "$builder" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- 2. the images the node runs -------------------------------------------------------------
tools_ref="ttb-kind-tools:$SUITE-$(digest "$MIRROR" iptables,conntrack)"
rootfs_image "$tools_ref" iptables,conntrack

etcd_tag="${ETCD_VERSION#v}-0"   # kubeadm's tag form for etcd images
declare -A component_binary=(
  [kube-apiserver]="$kube_bin/kube-apiserver:$KUBE_VERSION"
  [kube-controller-manager]="$kube_bin/kube-controller-manager:$KUBE_VERSION"
  [kube-scheduler]="$kube_bin/kube-scheduler:$KUBE_VERSION"
  [etcd]="$kube_bin/etcd:$etcd_tag"
  [coredns]="$bin_dir/coredns:$COREDNS_VERSION"
  [pause]="$bin_dir/pause:$PAUSE_VERSION"
  [local-path-provisioner]="$bin_dir/local-path-provisioner:$LOCAL_PATH_VERSION"
)
node_images=()
for name in "${!component_binary[@]}"; do
  binary=${component_binary[$name]%:*} tag=${component_binary[$name]##*:}
  ref="$IMAGE_REPOSITORY/$name:$tag"
  node_images+=("$ref")
  # The tag is the upstream version; a rebuilt binary (new Go, new flags) must replace the image.
  key=$(digest "$binary")
  if image_exists "$ref" && [ "$("$DOCKER" image inspect --format '{{ index .Config.Labels "dev.trainingbot.key" }}' "$ref")" = "$key" ]; then
    continue
  fi
  ctx="$work/$name"; mkdir -p "$ctx"; cp "$binary" "$ctx/"
  user=""; [ "$name" = pause ] && user="USER 65535:65535"
  printf 'FROM scratch\nCOPY %s /usr/local/bin/%s\nENV PATH=/usr/local/bin\nLABEL dev.trainingbot.key=%s\n%s\nENTRYPOINT ["/usr/local/bin/%s"]\n' \
    "$(basename "$binary")" "$(basename "$binary")" "$key" "$user" "$(basename "$binary")" > "$ctx/Dockerfile"
  "$DOCKER" rmi "$ref" >/dev/null 2>&1 || true
  build_image "$ref" "$ctx"
done
# kube-proxy programs iptables and conntrack; the volume helper runs `sh` scripts.
proxy_ref="$IMAGE_REPOSITORY/kube-proxy:$KUBE_VERSION"
proxy_key=$(digest "$kube_bin/kube-proxy" "$tools_ref")
if ! image_exists "$proxy_ref" || [ "$("$DOCKER" image inspect --format '{{ index .Config.Labels "dev.trainingbot.key" }}' "$proxy_ref")" != "$proxy_key" ]; then
  mkdir -p "$work/kube-proxy"; cp "$kube_bin/kube-proxy" "$work/kube-proxy/"
  printf 'FROM %s\nCOPY kube-proxy /usr/local/bin/kube-proxy\nLABEL dev.trainingbot.key=%s\n' "$tools_ref" "$proxy_key" > "$work/kube-proxy/Dockerfile"
  "$DOCKER" rmi "$proxy_ref" >/dev/null 2>&1 || true
  build_image "$proxy_ref" "$work/kube-proxy"
fi
helper_ref="$IMAGE_REPOSITORY/local-path-helper:${tools_ref##*:}"
"$DOCKER" tag "$tools_ref" "$helper_ref"
node_images+=("$proxy_ref" "$helper_ref")

# --- 3. the node -----------------------------------------------------------------------------
node_packages=systemd,dbus,runc,containernetworking-plugins,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,ca-certificates,curl,procps,bash,jq,e2fsprogs
rootfs_ref="ttb-kind-rootfs:$SUITE-$(digest "$MIRROR" "$node_packages")"
rootfs_image "$rootfs_ref" "$node_packages"

inputs=("$0" "$here/runc-caps" "$rootfs_ref")
for name in kubelet kubeadm kubectl; do inputs+=("$kube_bin/$name"); done
for name in containerd ctr containerd-shim-runc-v2 crictl; do inputs+=("$bin_dir/$name"); done
for ref in "${node_images[@]}"; do inputs+=("$ref=$("$DOCKER" image inspect --format '{{.Id}}' "$ref")"); done
node_ref="$NODE_IMAGE_REPOSITORY:$KUBE_VERSION-$(digest "${inputs[@]}" "$(find "$here/node" -type f -exec sha256sum {} + | sort)")"
if image_exists "$node_ref"; then
  log "reusing $node_ref"
  echo "NODE_IMAGE=$node_ref"
  exit 0
fi

ctx="$work/node"; mkdir -p "$ctx/bin"
cp -r "$kind_files" "$ctx/kind-files"
cp -r "$here/node" "$ctx/project-files"
cp "$here/runc-caps" "$ctx/bin/"
for name in kubelet kubeadm kubectl; do cp "$kube_bin/$name" "$ctx/bin/"; done
for name in containerd ctr containerd-shim-runc-v2 crictl; do cp "$bin_dir/$name" "$ctx/bin/"; done
sed -e "s|@SANDBOX_IMAGE@|$IMAGE_REPOSITORY/pause:$PAUSE_VERSION|" "$here/node/containerd-config.toml" > "$ctx/containerd-config.toml"
echo "$KUBE_VERSION" > "$ctx/version"
cat > "$ctx/Dockerfile" <<EOF
FROM $rootfs_ref
# kind's node layout: its entrypoint and helper scripts, systemd units for containerd and the
# kubelet, sysctls and the kubelet's defaults; then this project's containerd config and CNI.
COPY --chmod=0755 kind-files/usr/local/bin/ /usr/local/bin/
COPY kind-files/kind/ /kind/
COPY --chmod=0755 kind-files/kind/bin/ /kind/bin/
COPY kind-files/etc/ /etc/
COPY --chmod=0755 bin/kubelet bin/kubeadm bin/kubectl /usr/bin/
COPY --chmod=0755 bin/containerd bin/ctr bin/containerd-shim-runc-v2 bin/crictl /usr/local/bin/
COPY --chmod=0755 bin/runc-caps /usr/local/sbin/runc-caps
COPY containerd-config.toml /etc/containerd/config.toml
COPY project-files/certs.d/ /etc/containerd/certs.d/
COPY project-files/10-ttb-bridge.conflist /etc/cni/net.d/10-ttb-bridge.conflist
COPY project-files/20-ttb-bridge.conf /etc/sysctl.d/20-ttb-bridge.conf
COPY project-files/default-cni.yaml /kind/manifests/default-cni.yaml
COPY project-files/default-storage.yaml /kind/manifests/default-storage.yaml
COPY version /kind/version
RUN chmod 755 /kind /kind/bin \\
 && mkdir -p /opt/cni/bin /etc/kubernetes/manifests \\
 && ln -sf /usr/lib/cni/* /opt/cni/bin/ \\
 && sed -i "s|@HELPER_IMAGE@|$helper_ref|; s|@PROVISIONER_IMAGE@|$IMAGE_REPOSITORY/local-path-provisioner:$LOCAL_PATH_VERSION|" /kind/manifests/default-storage.yaml \\
 && find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete \\
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \\
      /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \\
      /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \\
 && echo "ReadKMsg=no" >> /etc/systemd/journald.conf \\
 && ln -sf /usr/lib/systemd/systemd /sbin/init \\
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \\
 && systemctl mask systemd-binfmt.service \\
 && ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \\
      | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
EOF
stage_ref="ttb-kind-node-stage:${node_ref##*:}"
build_image "$stage_ref" "$ctx"

# Import the images into the node's containerd, as kind's own build does: containerd runs in a
# build container of the staged image, reads `docker save` archives from stdin, and the container
# is committed. --no-unpack keeps only the compressed layers; the node unpacks on first use.
builder="ttb-kind-build-$$"
"$DOCKER" run -d --name "$builder" --entrypoint sleep --security-opt seccomp=unconfined "$stage_ref" infinity >/dev/null
"$DOCKER" exec "$builder" bash -c 'nohup containerd >/var/log/containerd-build.log 2>&1 &'
for _ in $(seq 1 60); do
  "$DOCKER" exec "$builder" ctr version >/dev/null 2>&1 && break
  sleep 0.5
done
log "importing ${#node_images[@]} images into the node's containerd"
for ref in "${node_images[@]}"; do
  "$DOCKER" save "$ref" | "$DOCKER" exec -i "$builder" ctr --namespace=k8s.io images import \
    --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - >/dev/null
done
"$DOCKER" exec "$builder" ctr --namespace=k8s.io images list -q >&2
"$DOCKER" exec "$builder" pkill containerd || true
for _ in $(seq 1 40); do
  "$DOCKER" exec "$builder" pgrep -x containerd >/dev/null 2>&1 || break
  sleep 0.25
done
"$DOCKER" exec "$builder" rm -f /var/log/containerd-build.log
"$DOCKER" commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' "$builder" "$node_ref" >/dev/null
"$DOCKER" rmi "$stage_ref" >/dev/null 2>&1 || true
log "built $node_ref"
echo "NODE_IMAGE=$node_ref"
