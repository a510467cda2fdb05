"""The services a bot needs, as pods next to it: PostgreSQL, Redis with three Sentinels, and the
local Bot API emulator (the project's image running `training-bot emulator`).

On kind they really run, so the bots' migrations, readiness, smoke checks and a Sentinel
failover are real. On the local control plane they are simulated like every pod, and only the
wiring is checked. Their pods meet the `restricted` Pod Security Standard of the namespace.

The images are built on this machine from Debian's packages (scripts/kind/images/; no registry
is reachable here) and can be replaced with `E2E_POSTGRES_IMAGE` and `E2E_REDIS_IMAGE`.
`scripts/kind/sample.py` deploys the same services for `make kind-up`.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass

from tests.support.cluster import KubeCluster

POSTGRES_IMAGE = os.environ.get("E2E_POSTGRES_IMAGE", "ttb-postgres:15")
REDIS_IMAGE = os.environ.get("E2E_REDIS_IMAGE", "ttb-redis:7")
SENTINEL_MASTER = "mymaster"
SENTINELS = 3
#: Sentinel declares the master down after this long without an answer; failover follows.
SENTINEL_DOWN_AFTER_MS = 2000


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


def _service(name: str, port: int, *, headless: bool = False) -> dict:
    spec: dict = {"selector": {"app": name}, "ports": [{"port": port, "targetPort": port}]}
    if headless:
        # Each pod keeps a DNS name (redis-0.redis) from its start, ready or not: Sentinel and
        # the replica address the master by name, which outlives the pod's IP.
        spec |= {"clusterIP": "None", "publishNotReadyAddresses": True}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def _workload(
    kind: str, name: str, uid: int, container: dict, volumes: dict[str, str], replicas: int = 1
) -> dict:
    pod_security, container_security = _restricted(uid)
    container = {
        "name": name,
        "securityContext": container_security,
        "volumeMounts": [{"name": v, "mountPath": path} for v, path in volumes.items()],
        **container,
    }
    spec: dict = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name, "app.kubernetes.io/part-of": "e2e"}},
            "spec": {
                "securityContext": pod_security,
                "containers": [container],
                "volumes": [{"name": v, "emptyDir": {}} for v in volumes],
            },
        },
    }
    if kind == "StatefulSet":
        spec |= {"serviceName": name, "podManagementPolicy": "Parallel"}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def postgres(password: str, image: str = POSTGRES_IMAGE) -> list[dict]:
    return [
        _workload(
            "Deployment",
            "e2e-postgres",
            70,
            {
                "image": image,
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
    ]


def redis_with_sentinels(image: str = REDIS_IMAGE) -> list[dict]:
    """A master (redis-0) and a replica (redis-1) by name, and three Sentinels watching them."""
    redis_script = (
        # No password inside the test's namespace: protected mode would refuse every pod.
        "args=\"--save '' --appendonly no --protected-mode no "
        '--replica-announce-ip $(hostname).e2e-redis"; '
        '[ "$(hostname)" = e2e-redis-0 ] || args="$args --replicaof e2e-redis-0.e2e-redis 6379"; '
        "eval exec redis-server $args"
    )
    # Sentinel rewrites its configuration file, so each starts from a copy it may write.
    sentinel_script = (
        "cat > /data/sentinel.conf <<EOF\n"
        "port 26379\n"
        "protected-mode no\n"
        "sentinel resolve-hostnames yes\n"
        "sentinel announce-hostnames yes\n"
        "sentinel announce-ip $(hostname).e2e-sentinel\n"
        f"sentinel monitor {SENTINEL_MASTER} e2e-redis-0.e2e-redis 6379 2\n"
        f"sentinel down-after-milliseconds {SENTINEL_MASTER} {SENTINEL_DOWN_AFTER_MS}\n"
        f"sentinel failover-timeout {SENTINEL_MASTER} 10000\n"
        "EOF\n"
        "exec redis-sentinel /data/sentinel.conf"
    )
    return [
        _workload(
            "StatefulSet",
            "e2e-redis",
            999,
            {
                "image": image,
                "command": ["sh", "-c", redis_script],
                "ports": [{"containerPort": 6379}],
                "readinessProbe": {
                    "exec": {"command": ["redis-cli", "ping"]},
                    "periodSeconds": 2,
                },
            },
            {"data": "/data"},
            replicas=2,
        ),
        _service("e2e-redis", 6379, headless=True),
        _workload(
            "StatefulSet",
            "e2e-sentinel",
            999,
            {
                "image": image,
                "command": ["sh", "-c", sentinel_script],
                "ports": [{"containerPort": 26379}],
            },
            {"data": "/data"},
            replicas=SENTINELS,
        ),
        _service("e2e-sentinel", 26379, headless=True),
    ]


def emulator(image: str, token: str) -> list[dict]:
    return [
        _workload(
            "Deployment",
            "e2e-bot-api",
            10001,
            {
                "image": image,
                "command": ["training-bot"],
                "args": ["emulator", "--host", "0.0.0.0", "--port", "8081"],
                "env": [{"name": "BOT_TOKEN", "value": token}],
                "ports": [{"containerPort": 8081}],
                "readinessProbe": {"tcpSocket": {"port": 8081}, "periodSeconds": 2},
            },
            {"tmp": "/tmp"},
        ),
        _service("e2e-bot-api", 8081),
    ]


@dataclass(frozen=True)
class Backing:
    """Where a bot finds the services, as a TrainingBot's Secrets and fields name them."""

    token: str
    database_url: str
    redis_url: str
    sentinel_hosts: tuple[str, ...]
    bot_api_url: str

    def as_dict(self) -> dict:
        return {
            "token": self.token,
            "database_url": self.database_url,
            "redis_url": self.redis_url,
            "sentinel_hosts": list(self.sentinel_hosts),
            "sentinel_master": SENTINEL_MASTER,
            "bot_api_url": self.bot_api_url,
        }


def secret_data(kube: KubeCluster, namespace: str, name: str) -> dict[str, str] | None:
    """A Secret's values, decoded; None if there is no such Secret."""
    found = kube.kubectl("get", "secret", name, "-n", namespace, "-o", "json", check=False)
    if found.returncode != 0:
        return None
    data = json.loads(found.stdout).get("data", {})
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def credentials(kube: KubeCluster, namespace: str) -> tuple[str, str]:
    """The database password and the bot token of `namespace`'s backing services: kept in a
    Secret, so that deploying again (a second `make kind-up`) changes nothing."""
    kept = secret_data(kube, namespace, "e2e-backing")
    if kept is not None:
        return kept["postgres-password"], kept["bot-token"]
    password = secrets.token_hex(12)
    token = f"{secrets.randbelow(9 * 10**8) + 10**8}:E2E{secrets.token_hex(12)}"
    values = {"postgres-password": password, "bot-token": token}
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "e2e-backing"},
            "stringData": values,
        },
        namespace,
    )
    return password, token


def deploy(kube: KubeCluster, namespace: str, project_image: str, *, timeout: int = 180) -> Backing:
    """Apply every backing service into `namespace` and wait until each has rolled out."""
    password, token = credentials(kube, namespace)
    kube.apply(
        [*postgres(password), *redis_with_sentinels(), *emulator(project_image, token)], namespace
    )
    for workload in (
        "deployment/e2e-postgres",
        "statefulset/e2e-redis",
        "statefulset/e2e-sentinel",
        "deployment/e2e-bot-api",
    ):
        kube.kubectl("rollout", "status", workload, "-n", namespace, f"--timeout={timeout}s")
    return Backing(
        token=token,
        database_url=f"postgresql://bot:{password}@e2e-postgres:5432/bot",
        redis_url="redis://e2e-redis-0.e2e-redis:6379/0",
        sentinel_hosts=tuple(f"e2e-sentinel-{i}.e2e-sentinel:26379" for i in range(SENTINELS)),
        bot_api_url="http://e2e-bot-api:8081",
    )


def install(platform) -> None:
    """The e2e platform's backing services, recorded in `platform.backing`."""
    platform.backing.update(deploy(platform.kube, platform.namespace, platform.image).as_dict())
