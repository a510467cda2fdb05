#!/usr/bin/env bash
# Downloads every wheel the image build installs (the project's dependencies and its build
# backend) into the build context, resolved by the base image's own Python and pip so that
# markers such as `python_full_version < "3.11.3"` come out as they will in the build.
#
# Why: here pip inside `docker build` cannot verify TLS (the egress re-signs it with a CA the
# image does not trust), so build.sh passes PIP_NO_INDEX/PIP_FIND_LINKS pointing at these
# wheels. The download runs in a throwaway container of the base that trusts the host's CA
# bundle; nothing of it reaches the image. Elsewhere the Dockerfile installs from the index and
# this script is not needed.
#
#   scripts/image/wheels.sh BASE_IMAGE [DIR]   DIR defaults to .image-context/wheels;
#                                              the last line is WHEELS=<dir>
#
# Downloads only when the inputs changed (the dependencies in pyproject.toml, the base image,
# this script): a warm build asks no index at all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

BASE=${1:?usage: $0 BASE_IMAGE [DIR]}
DEST=${2:-.image-context/wheels}
DOCKER=${DOCKER:-/usr/bin/docker}
PYTHON=${PYTHON:-python3}
# The host's trust store: it holds whatever CA this machine's egress signs with.
HOST_CA=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

log() { printf '[wheels] %s\n' "$*" >&2; }

# What pip installs in the build: [project].dependencies and [build-system].requires.
requirements=$("$PYTHON" - <<'PY'
import tomllib
with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)
for line in project["project"]["dependencies"] + project["build-system"]["requires"]:
    print(line)
PY
)
base_id=$("$DOCKER" image inspect --format '{{.Id}}' "$BASE")
key=$( { echo "$requirements"; echo "$base_id"; cat "$0"; } | sha256sum | cut -c1-16)

if [ -f "$DEST/.key" ] && [ "$(cat "$DEST/.key")" = "$key" ]; then
  log "reusing $DEST (key $key)"
  echo "WHEELS=$DEST"
  exit 0
fi

mkdir -p "$(dirname "$DEST")"
tmp=$(mktemp -d "$(dirname "$DEST")/.wheels.XXXXXX")
container=ttb-wheels-$$
cleanup() { "$DOCKER" rm -f "$container" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
printf '%s\n' "$requirements" > "$tmp/requirements.txt"
log "downloading wheels with $BASE's Python into $DEST"
# Binary wheels only: the build installs without compilers and without the index.
"$DOCKER" run --rm --name "$container" --network host \
  --user "$(id -u):$(id -g)" -e HOME=/tmp \
  -v "$PWD/$tmp:/out" -v "$HOST_CA:/etc/host-ca.crt:ro" -e PIP_CERT=/etc/host-ca.crt \
  -e PIP_DISABLE_PIP_VERSION_CHECK=1 -e PIP_NO_CACHE_DIR=1 \
  "$BASE" sh -ec 'python3 -m venv /tmp/venv
    /tmp/venv/bin/pip download --quiet --only-binary=:all: --dest /out -r /out/requirements.txt'
rm "$tmp/requirements.txt"
echo "$key" > "$tmp/.key"
rm -rf "$DEST"
chmod 755 "$tmp"
mv "$tmp" "$DEST"
log "$(find "$DEST" -name '*.whl' | wc -l) wheels, $(du -sh "$DEST" | cut -f1)"
echo "WHEELS=$DEST"
