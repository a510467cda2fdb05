"""`make kind-up`'s sample: the chart's operator and one TrainingBot with everything it uses.

In namespace `ttb-sample` (restricted Pod Security): the chart (release `ttb`, the operator
as a pod), PostgreSQL, Redis with a replica and three Sentinels, the Bot API emulator, and the
TrainingBot `oncall` in webhook mode with two replicas, migrations backed up onto a
PersistentVolume. The backing services are e2e/backing.py's, so the sample is what the e2e
suite tests. Run by scripts/kind/up.sh with the project's virtualenv.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from trainingbot_operator.specs.common import WEBHOOK_PORT  # noqa: E402

from e2e import backing  # noqa: E402
from e2e.platform import API, CHART  # noqa: E402
from tests.support.cluster import KubeCluster, controlplane  # noqa: E402

NAMESPACE = "ttb-sample"
RELEASE = "ttb"
BOT = "oncall"
ADMIN_ID = 1001


def secret(name: str, data: dict[str, str]) -> dict:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": encoded}


def trainingbot(image: str, found: backing.Backing, webhook_secret: str) -> list[dict]:
    """The sample bot, its Secret and its backup volume."""
    ref = {"name": f"{BOT}-secrets"}
    webhook_url = f"http://{BOT}-webhook.{NAMESPACE}.svc:{WEBHOOK_PORT}/telegram/webhook"
    return [
        secret(
            f"{BOT}-secrets",
            {
                "token": found.token,
                "webhook-secret": webhook_secret,
                "database-url": found.database_url,
            },
        ),
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"{BOT}-backups"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
            },
        },
        {
            "apiVersion": API,
            "kind": "TrainingBot",
            "metadata": {"name": BOT},
            "spec": {
                "image": image,
                "replicas": 2,
                "mode": "webhook",
                "telegram": {
                    "tokenSecretRef": {**ref, "key": "token"},
                    "apiBaseUrl": found.bot_api_url,
                    "webhook": {
                        "url": webhook_url,
                        "secretTokenSecretRef": {**ref, "key": "webhook-secret"},
                    },
                },
                "database": {"urlSecretRef": {**ref, "key": "database-url"}},
                "redis": {
                    "sentinel": {
                        "hosts": list(found.sentinel_hosts),
                        "masterName": backing.SENTINEL_MASTER,
                    }
                },
                "adminIds": [ADMIN_ID],
                "migrations": {
                    "enabled": True,
                    "backup": {"enabled": True, "persistentVolumeClaimName": f"{BOT}-backups"},
                },
                # A minute's watch instead of the runbook's 15, so the sample is Ready soon.
                "rollout": {"monitorSeconds": 60},
            },
        },
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, required=True)
    parser.add_argument("--image", required=True, help="the project's image, loaded into the node")
    parser.add_argument("--postgres-image", default=backing.POSTGRES_IMAGE)
    parser.add_argument("--redis-image", default=backing.REDIS_IMAGE)
    args = parser.parse_args()
    backing.POSTGRES_IMAGE, backing.REDIS_IMAGE = args.postgres_image, args.redis_image

    kube = KubeCluster(args.kubeconfig, controlplane.default_bin_dir())
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": NAMESPACE,
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            },
        }
    )
    repository, _, tag = args.image.rpartition(":")
    with tempfile.NamedTemporaryFile("w", suffix=".json") as values:
        json.dump({"image": {"repository": repository, "tag": tag}}, values)
        values.flush()
        print(f"[kind] helm upgrade --install {RELEASE} (namespace {NAMESPACE})", file=sys.stderr)
        kube.helm(
            "upgrade", "--install", RELEASE, str(CHART), "-n", NAMESPACE, "-f", values.name,
            "--wait", "--timeout", "300s", timeout=330,
        )  # fmt: skip
    print("[kind] PostgreSQL, Redis with Sentinel, the Bot API emulator", file=sys.stderr)
    found = backing.deploy(kube, NAMESPACE, args.image, timeout=300)
    # Applied again, the sample keeps its webhook secret (a new one would roll the pods).
    kept = backing.secret_data(kube, NAMESPACE, f"{BOT}-secrets") or {}
    webhook_secret = kept.get("webhook-secret") or secrets.token_urlsafe(32)
    kube.apply(trainingbot(args.image, found, webhook_secret), NAMESPACE)
    print(f"[kind] TrainingBot {BOT}: waiting for its pods", file=sys.stderr)
    kube.wait_for(
        lambda: (
            kube.kubectl("get", "deployment", BOT, "-n", NAMESPACE, check=False).returncode == 0
        ),
        300,
        f"the operator to create deployment/{BOT}",
        interval=2,
    )
    kube.kubectl(
        "rollout", "status", f"deployment/{BOT}", "-n", NAMESPACE, "--timeout=300s", timeout=330
    )
    print(kube.kubectl("get", "tbot,pods", "-n", NAMESPACE).stdout, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
