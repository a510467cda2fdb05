#!/usr/bin/env bash
# `make image`: builds the container image and prints IMAGE=<ref> as its last line.
#
#   scripts/image/build.sh
#
# 1. starts the Docker engine unless one answers (scripts/image/engine.sh; it stays up for
#    the next build and for `docker run`: `scripts/image/engine.sh stop` ends it);
# 2. picks the base: BASE_IMAGE if set (e.g. python:3.11-slim-bookworm where a registry is
#    reachable), else the local Debian bookworm base (scripts/image/base.sh, built once a week);
# 3. downloads the wheels on the host into .image-context/wheels (scripts/image/wheels.sh) and
#    installs from them in the build (IMAGE_PIP=index lets pip in the build use the index);
# 4. builds with BuildKit and tags telegram-training-bot:<version> and telegram-training-bot:dev.
#
# Environment: BASE_IMAGE, IMAGE_PIP (wheels|index), IMAGE_NAME (telegram-training-bot),
# IMAGE_TAG (the project's version), PG_MAJOR (15). Idempotent; a warm build with no change to
# the inputs takes a few seconds (every layer cached).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DOCKER=${DOCKER:-/usr/bin/docker}   # Debian's client: BuildKit without buildx
IMAGE_NAME=${IMAGE_NAME:-telegram-training-bot}
IMAGE_PIP=${IMAGE_PIP:-wheels}
PYTHON=${PYTHON:-python3}
here=scripts/image

log() { printf '[image] %s\n' "$*" >&2; }
last_value() { tail -n 1 | cut -d= -f2-; }

started=$SECONDS
"$here/engine.sh" start >/dev/null

mkdir -p .image-context
# One build at a time in this checkout (make image and the image tests may overlap).
exec 9>.image-context/.build.lock
flock 9

if [ -n "${BASE_IMAGE:-}" ]; then
  base=$BASE_IMAGE
  log "base: $base (BASE_IMAGE)"
else
  base=$("$here/base.sh" | last_value)
fi

build_args=(--build-arg "BASE_IMAGE=$base")
case "$IMAGE_PIP" in
  wheels)
    wheels=$("$here/wheels.sh" "$base" .image-context/wheels | last_value)
    # The Dockerfile's wheelhouse stage holds .image-context/ at its root.
    build_args+=(--build-arg PIP_NO_INDEX=1 --build-arg "PIP_FIND_LINKS=/wheelhouse/${wheels#.image-context/}")
    ;;
  index) ;;
  *) log "IMAGE_PIP must be wheels or index, not $IMAGE_PIP"; exit 2 ;;
esac
[ -n "${PG_MAJOR:-}" ] && build_args+=(--build-arg "PG_MAJOR=$PG_MAJOR")

version=$("$PYTHON" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
tag=${IMAGE_TAG:-$version}
revision=unknown created= source=
if git rev-parse --git-dir >/dev/null 2>&1; then
  revision=$(git rev-parse HEAD)
  # Uncommitted changes to what goes into the image make it a different revision.
  if ! git diff --quiet HEAD -- Dockerfile pyproject.toml setup.py src migrations 2>/dev/null; then
    revision=$revision-dirty
  fi
  # The commit's date, not the clock: the same commit gives the same labels.
  created=$(git log -1 --format=%cI)
  source=$(git remote get-url origin 2>/dev/null || true)
fi
build_args+=(--build-arg "VERSION=$version" --build-arg "REVISION=$revision"
             --build-arg "CREATED=$created" --build-arg "SOURCE=$source")

ref=$IMAGE_NAME:$tag
previous=$("$DOCKER" image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)
log "building $ref on $base"
DOCKER_BUILDKIT=1 "$DOCKER" build --progress=plain "${build_args[@]}" \
  --tag "$ref" --tag "$IMAGE_NAME:dev" . >.image-context/build.log 2>&1 || {
  log "the build failed; the end of its log (.image-context/build.log):"
  tail -n 40 .image-context/build.log >&2
  exit 1
}
id=$("$DOCKER" image inspect --format '{{.Id}}' "$ref")
# The image this script built before, now without a tag: it was ours, remove it.
if [ -n "$previous" ] && [ "$previous" != "$id" ] \
   && [ -z "$("$DOCKER" image inspect --format '{{join .RepoTags ""}}' "$previous" 2>/dev/null)" ]; then
  "$DOCKER" image rm "$previous" >/dev/null 2>&1 || true
fi
size=$("$DOCKER" image inspect --format '{{.Size}}' "$ref")
log "built $ref ($IMAGE_NAME:dev) ${id:7:12}, $((size / 1000000)) MB, in $((SECONDS - started))s"
echo "IMAGE=$ref"
