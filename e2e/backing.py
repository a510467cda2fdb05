"""The services a bot needs, as pods next to it: PostgreSQL, Redis and the local Bot API
emulator (the project's image running `training-bot emulator`).

On kind they really run, so the bots' migrations, readiness and smoke checks are real. On the
local control plane they are simulated like every pod, and only the wiring is checked. Their
pods meet the `restricted` Pod Security Standard of the test namespace.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from e2e.platform import Platform

POSTGRES_IMAGE = "postgres:16-alpine"
REDIS_IMAGE = "redis:7-alpine"


def _restricted(uid: int) -> tuple[dict, dict]:
    pod = {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    container = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    return pod, container


def _service(name: str, port: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": port, "targetPort": port}]},
    }


def _deployment(name: str, uid: int, container: dict, volumes: dict[str, str]) -> dict:
    pod_security, container_security = _restricted(uid)
    container = {
        "name": name,
        "securityContext": container_security,
        "volumeMounts": [{"name": v, "mountPath": path} for v, path in volumes.items()],
        **container,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "app.kubernetes.io/part-of": "e2e"}},
                "spec": {
                    "securityContext": pod_security,
                    "containers": [container],
                    "volumes": [{"name": v, "emptyDir": {}} for v in volumes],
                },
            },
        },
    }


def install(platform: Platform) -> None:
    password = secrets.token_hex(12)
    token = f"{secrets.randbelow(9 * 10**8) + 10**8}:E2E{secrets.token_hex(12)}"
    manifests = [
        _deployment(
            "e2e-postgres",
            70,
            {
                "image": POSTGRES_IMAGE,
                "ports": [{"containerPort": 5432}],
                "env": [
                    {"name": "POSTGRES_USER", "value": "bot"},
                    {"name": "POSTGRES_PASSWORD", "value": password},
                    {"name": "POSTGRES_DB", "value": "bot"},
                    {"name": "PGDATA", "value": "/var/lib/postgresql/data/db"},
                ],
                "readinessProbe": {
                    "exec": {"command": ["pg_isready", "-U", "bot"]},
                    "periodSeconds": 2,
                },
            },
            {"data": "/var/lib/postgresql/data", "run": "/var/run/postgresql"},
        ),
        _service("e2e-postgres", 5432),
        _deployment(
            "e2e-redis",
            999,
            {
                "image": REDIS_IMAGE,
                "args": ["--save", "", "--appendonly", "no"],
                "ports": [{"containerPort": 6379}],
            },
            {"data": "/data"},
        ),
        _service("e2e-redis", 6379),
        _deployment(
            "e2e-bot-api",
            10001,
            {
                "image": platform.image,
                "command": ["training-bot"],
                "args": ["emulator", "--host", "0.0.0.0", "--port", "8081"],
                "env": [{"name": "BOT_TOKEN", "value": token}],
                "ports": [{"containerPort": 8081}],
            },
            {"tmp": "/tmp"},
        ),
        _service("e2e-bot-api", 8081),
    ]
    platform.kube.apply(manifests, platform.namespace)
    for name in ("e2e-postgres", "e2e-redis", "e2e-bot-api"):
        platform.kubectl("rollout", "status", f"deployment/{name}", "--timeout=180s")
    platform.backing.update(
        token=token,
        database_url=f"postgresql://bot:{password}@e2e-postgres:5432/bot",
        redis_url="redis://e2e-redis:6379/0",
        bot_api_url="http://e2e-bot-api:8081",
    )
