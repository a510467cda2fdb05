#!/usr/bin/env bash
# Builds the local base image, for machines where no registry can be pulled from: Debian
# bookworm made with debootstrap and imported into the engine. Its Python is Debian's 3.11,
# the same minor as the Dockerfile's default base (python:3.11-slim-bookworm).
#
#   scripts/image/base.sh        build it unless an image with the same inputs exists;
#                                the last line is BASE_IMAGE=<ref>
#
# The cache key is the package list, this script and the ISO week: an existing base is reused
# within a week, and rebuilt (about a minute) the first time in a new week so that Debian's
# security updates reach the image. BASE_REFRESH=never keeps a base regardless of its week.
# Only the base image's tag is replaced: old bases are removed only if this script made them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DOCKER=${DOCKER:-/usr/bin/docker}
BASE_REF=${LOCAL_BASE_IMAGE:-telegram-training-bot-base:bookworm}
SUITE=bookworm
# python3-venv: the image's venv; ca-certificates: the bot speaks TLS to the Bot API.
PACKAGES=python3,python3-venv,ca-certificates
# The mirror debootstrap uses unless told otherwise (Debian's default); override for a local one.
MIRROR=${DEBOOTSTRAP_MIRROR:-}
LABEL=dev.trainingbot.base-key
REFRESH=${BASE_REFRESH:-weekly}

log() { printf '[base] %s\n' "$*" >&2; }

week=$(date -u +%G-W%V)
[ "$REFRESH" = never ] && week=any
key=$( { echo "$SUITE $PACKAGES $MIRROR $week"; cat "$0"; } | sha256sum | cut -c1-16)

current=$("$DOCKER" image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$BASE_REF" 2>/dev/null || true)
if [ "$REFRESH" = never ] && [ -n "$current" ]; then
  log "reusing $BASE_REF (BASE_REFRESH=never)"
  echo "BASE_IMAGE=$BASE_REF"
  exit 0
fi
if [ "$current" = "$key" ]; then
  log "reusing $BASE_REF (key $key)"
  echo "BASE_IMAGE=$BASE_REF"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || { log "debootstrap needs root"; exit 1; }
command -v debootstrap >/dev/null || { log "debootstrap is missing: install Debian's debootstrap (scripts/bootstrap.sh services)"; exit 1; }

root=$(mktemp -d /var/tmp/ttb-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
log "debootstrap $SUITE ($PACKAGES) into $root; about a minute"
started=$SECONDS
# shellcheck disable=SC2086  # MIRROR is empty (debootstrap's default) or one URL
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$root" $MIRROR >"$root.log" 2>&1 || {
  log "debootstrap failed; the end of its log:"; tail -n 30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"

# debootstrap configures the release alone; add its updates and security suites (as the
# public python:3.11-slim-bookworm image has them) and apply them, so that the base carries
# this week's fixes. The security archive sits beside the mirror unless given.
mirror_url=$(awk '$1 == "deb" {print $2; exit}' "$root/etc/apt/sources.list")
security_url=${DEBOOTSTRAP_SECURITY_MIRROR:-${mirror_url%/}-security}
cat > "$root/etc/apt/sources.list" <<SOURCES
deb $mirror_url $SUITE main
deb $mirror_url $SUITE-updates main
deb $security_url $SUITE-security main
SOURCES
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"   # no daemons in a chroot
chmod +x "$root/usr/sbin/policy-rc.d"
chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq' \
  >"$root.log" 2>&1 || { log "apt-get upgrade in the base failed:"; tail -n 30 "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log" "$root/usr/sbin/policy-rc.d"

# What a container never needs: package caches, indexes (apt-get update refetches them),
# documentation, man pages, translations; log files of the bootstrap itself.
# The copyright files stay: the licences travel with the binaries.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
  "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/var/cache/debconf/*-old
find "$root"/usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find "$root"/usr/share/doc -mindepth 1 -type d -empty -delete
log "importing as $BASE_REF"
old=$("$DOCKER" image inspect --format '{{.Id}}' "$BASE_REF" 2>/dev/null || true)
tar -C "$root" -c . | "$DOCKER" import \
  --change "LABEL $LABEL=$key" \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' \
  - "$BASE_REF" >/dev/null
if [ -n "$old" ] && [ "$old" != "$("$DOCKER" image inspect --format '{{.Id}}' "$BASE_REF")" ]; then
  # The previous base of this script; images built on it keep their layers until pruned.
  "$DOCKER" image rm "$old" >/dev/null 2>&1 || true
fi
log "built $BASE_REF in $((SECONDS - started))s ($("$DOCKER" image inspect --format '{{.Size}}' "$BASE_REF" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "BASE_IMAGE=$BASE_REF"
