# The telegram-training-bot image: the bot (`training-bot`), its migrations and the operator
# (`training-bot-operator`) in one image, plus pg_dump for the migration Job's backup step.
#
#   docker build -t telegram-training-bot:dev .          (anywhere with a registry and an index)
#   make image                                             (this project's script: docs/IMAGE.md)
#
# The default base is the usual public Python image. `make image` passes a locally built
# Debian bookworm base instead (BASE_IMAGE) and, where pip in the build cannot reach the index,
# wheels downloaded on the host (PIP_NO_INDEX/PIP_FIND_LINKS). Both bases are Debian bookworm
# with CPython 3.11, so every stage below works on either.

ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
# wheelhouse: wheels downloaded on the host (scripts/image/wheels.sh), when there are any.
# `.image-contex[t]` matches nothing when the directory is absent, and the COPY still succeeds
# because pyproject.toml matches; this stage changes only when the wheels do.
FROM scratch AS wheelhouse
COPY pyproject.toml .image-contex[t] /

# ---------------------------------------------------------------------------------------------
# builder: a virtual environment with the project (a non-editable wheel) and its dependencies.
FROM ${BASE_IMAGE} AS builder
# Unset by default: pip uses the index. make image sets PIP_NO_INDEX=1 and
# PIP_FIND_LINKS=/wheelhouse/wheels.
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# binutils: `strip` for the extension modules below (the builder only; never in the image).
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils >/dev/null \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
WORKDIR /build
# Dependencies first, from pyproject.toml alone: this layer survives changes to the source.
COPY pyproject.toml ./
RUN python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > requirements.txt
# What the runtime never uses goes in the same layer:
# - test suites shipped inside packages;
# - kubernetes.aio (kubernetes>=35): an asyncio copy of the client, about 70 MB of source;
#   the operator uses kopf's own API client and the synchronous kubernetes client only;
# - debug symbols in extension modules (asyncpg's protocol module: 7.8 MB, 0.9 MB stripped).
# Bytecode is made now, as the venv is read-only at run time; except for the kubernetes
# client: 25 MB of bytecode for generated code only the operator imports, once per start
# (about 2 s more without it), and the difference between an image above 250 MB and one below.
RUN --mount=type=bind,from=wheelhouse,target=/wheelhouse \
    /opt/venv/bin/pip install --quiet --no-compile -r requirements.txt \
 && site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
 && rm -rf "$site"/kubernetes/aio "$site"/kubernetes/test "$site"/kubernetes/e2e_test \
 && find "$site" -depth -type d \( -name tests -o -name test \) -path '*/site-packages/*/*' \
        -exec rm -rf {} + \
 && find /opt/venv -type f -name '*.so*' -exec strip --strip-unneeded {} + \
 && /opt/venv/bin/python -m compileall -q -j 0 -x '/site-packages/(kubernetes|pip|setuptools)/' \
        "$site" >/dev/null
COPY setup.py README.md ./
COPY src ./src
COPY migrations ./migrations
# The project; then pip and setuptools go (nothing is installed at run time).
RUN --mount=type=bind,from=wheelhouse,target=/wheelhouse \
    /opt/venv/bin/pip wheel --quiet --no-deps --wheel-dir /dist . \
 && /opt/venv/bin/pip install --quiet --no-compile --no-deps /dist/*.whl \
 && /opt/venv/bin/pip uninstall --quiet --yes pip setuptools \
 && site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') \
 && /opt/venv/bin/python -m compileall -q -j 0 "$site"/trainingbot "$site"/trainingbot_operator \
        "$site"/trainingbot_migrations >/dev/null \
 # The sample course at a fixed path for CONTENT_DIR, whatever the venv's layout.
 && mkdir -p /opt/training-bot \
 && ln -s "$site/trainingbot/content/courses" /opt/training-bot/courses

# ---------------------------------------------------------------------------------------------
# pgclient: Debian bookworm's PostgreSQL client without its Perl wrappers (scripts/image/pg-client.sh).
# pg_dump refuses to dump a server newer than itself: bookworm's client 15 backs up PostgreSQL
# 15 and older. For a newer server build with PG_MAJOR=16 (or 17) on a base whose apt sources
# carry that client (docs/IMAGE.md).
FROM ${BASE_IMAGE} AS pgclient
ARG PG_MAJOR=15
COPY scripts/image/pg-client.sh /usr/local/bin/pg-client.sh
RUN pg-client.sh "${PG_MAJOR}" /out

# ---------------------------------------------------------------------------------------------
# The image.
FROM ${BASE_IMAGE}
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=
ARG CREATED=
LABEL org.opencontainers.image.title="telegram-training-bot" \
      org.opencontainers.image.description="A Telegram bot that trains people through courses, lessons and quizzes, and its Kubernetes operator." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.created="${CREATED}"

# A fixed UID/GID (10001, above any distribution's system range) so that Kubernetes'
# runAsUser/fsGroup and a PVC's ownership can name it; no home directory, no login shell.
RUN groupadd --system --gid 10001 trainingbot \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin trainingbot

COPY --from=pgclient /out/ /
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/training-bot /opt/training-bot

# The root filesystem may be read-only: Python writes no bytecode, and anything temporary goes
# to /tmp (mount a tmpfs or emptyDir there). HOME=/tmp for libraries that want a home.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    LANG=C.UTF-8 \
    LOG_FORMAT=json \
    CONTENT_DIR=/opt/training-bot/courses

USER 10001:10001
WORKDIR /tmp
# 8080: /health, /ready, /metrics; 8081: the Telegram webhook (BOT_MODE=webhook).
EXPOSE 8080 8081
# No curl in the image: Python asks /health. urlopen raises on a refused connection and on any
# non-2xx answer, and the exit status is what Docker reads.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('HTTP_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["training-bot"]
CMD ["run"]
