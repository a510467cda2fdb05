"""What an e2e test does to the cluster, in the words of a platform engineer: create the
Secrets and a TrainingBot, read `kubectl get tbot`, wait for a phase, look at the children."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainingbot_operator.specs.common import WEBHOOK_PORT

from tests.support.cluster import KubeCluster

API = "trainingbot.dev/v1alpha1"
CHART = Path(__file__).resolve().parents[1] / "charts" / "telegram-training-bot"

#: Timings short enough for a test run, long enough for two busy cores: the runbook's
#: defaults (5 min progress deadline, 15 min monitor window) are what a real bot keeps.
FAST_ROLLOUT = {
    "autoRollback": True,
    "progressDeadlineSeconds": 20,
    "monitorSeconds": 3,
    "smokeTest": True,
}
#: Real pods (kind) import, connect and register their webhook before they are ready; on two
#: busy cores that can take a minute, so the deadline is wider and the watch a little longer.
REAL_POD_ROLLOUT = {**FAST_ROLLOUT, "progressDeadlineSeconds": 180, "monitorSeconds": 10}


@dataclass
class Platform:
    kube: KubeCluster
    namespace: str
    release: str
    image: str
    image_next: str
    simulated: bool
    backing: dict[str, str] = field(default_factory=dict)
    operator_log: Any = None
    operator_log_path: Any = None

    # -- reading -------------------------------------------------------------------------
    def kubectl(self, *args: str, **kwargs):
        return self.kube.kubectl(*args, "-n", self.namespace, **kwargs)

    def get(self, kind: str, name: str) -> dict:
        return self.kube.kubectl_json("get", kind, name, "-n", self.namespace)

    def exists(self, kind: str, name: str) -> bool:
        out = self.kubectl("get", kind, name, "--ignore-not-found", "-o", "name")
        return bool(out.stdout.strip())

    def tbot(self, name: str) -> dict:
        return self.get("trainingbot", name)

    def status(self, name: str) -> dict:
        return self.tbot(name).get("status", {})

    def condition(self, name: str, kind: str) -> dict:
        conditions = self.status(name).get("conditions", [])
        return next((c for c in conditions if c["type"] == kind), {})

    def deployment_image(self, name: str) -> str:
        spec = self.get("deployment", name)["spec"]["template"]["spec"]
        return next(c for c in spec["containers"] if c["name"] == "bot")["image"]

    def operator_deployment(self) -> dict:
        items = self.kube.kubectl_json(
            "get",
            "deployments",
            "-n",
            self.namespace,
            "-l",
            f"app.kubernetes.io/instance={self.release},app.kubernetes.io/component=operator",
        )["items"]
        assert len(items) == 1, f"expected the chart's operator Deployment, found {len(items)}"
        return items[0]

    def events_for(self, name: str) -> list[dict]:
        return self.kube.kubectl_json(
            "get",
            "events",
            "-n",
            self.namespace,
            "--field-selector",
            f"involvedObject.name={name},involvedObject.kind=TrainingBot",
        )["items"]

    def operator_output(self) -> str:
        if self.operator_log is None:
            return self.kubectl(
                "logs",
                f"deployment/{self.operator_deployment()['metadata']['name']}",
                "--tail=200",
                check=False,
            ).stdout
        self.operator_log.flush()
        return self.operator_log_path.read_text(errors="replace")

    # -- waiting -------------------------------------------------------------------------
    def wait_phase(self, name: str, *phases: str, timeout: float = 120) -> dict:
        """Wait until the bot's phase is one of `phases` for the current generation."""

        def reached():
            tbot = self.tbot(name)
            status = tbot.get("status", {})
            current = status.get("observedGeneration") == tbot["metadata"]["generation"]
            return status if current and status.get("phase") in phases else None

        try:
            return self.kube.wait_for(
                reached, timeout, f"{name} to reach {'/'.join(phases)}", interval=0.5
            )
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}\nstatus: {self.status(name)}\noperator log tail:\n"
                f"{self.operator_output()[-4000:]}"
            ) from None

    def wait_for(self, predicate, timeout: float, what: str):
        return self.kube.wait_for(predicate, timeout, what, interval=0.5)

    # -- writing -------------------------------------------------------------------------
    def secret(self, name: str, data: dict[str, str]) -> None:
        self.kube.apply(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name},
                "type": "Opaque",
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            },
            self.namespace,
        )

    def bot_manifest(self, name: str, *, image: str | None = None, **spec: Any) -> dict:
        """A webhook-mode TrainingBot wired to the backing services, with fast timings."""
        self.secret(
            f"{name}-secrets",
            {
                "token": self.backing["token"],
                "webhook-secret": secrets.token_hex(16),
                "database-url": self.backing["database_url"],
                "redis-url": self.backing["redis_url"],
            },
        )
        ref = {"name": f"{name}-secrets"}
        body = {
            "image": image or self.image,
            "replicas": 2,
            "mode": "webhook",
            "telegram": {
                "tokenSecretRef": {**ref, "key": "token"},
                "apiBaseUrl": self.backing["bot_api_url"],
                "webhook": {
                    # The emulator delivers updates to the bot's own Service: no update ever
                    # leaves the cluster (on kwok nothing is delivered at all).
                    "url": f"http://{name}-webhook.{self.namespace}.svc:{WEBHOOK_PORT}/telegram/webhook",
                    "secretTokenSecretRef": {**ref, "key": "webhook-secret"},
                },
            },
            "database": {"urlSecretRef": {**ref, "key": "database-url"}},
            "redis": {"urlSecretRef": {**ref, "key": "redis-url"}},
            "adminIds": [1001],
            "migrations": {"enabled": True, "timeoutSeconds": 60},
            "rollout": dict(FAST_ROLLOUT if self.simulated else REAL_POD_ROLLOUT),
        }
        body.update(spec)
        return {"apiVersion": API, "kind": "TrainingBot", "metadata": {"name": name}, "spec": body}

    def apply_bot(self, manifest: dict) -> None:
        self.kube.apply(manifest, self.namespace)

    def patch_bot(self, name: str, patch: dict) -> None:
        self.kubectl("patch", "trainingbot", name, "--type=merge", "-p", json.dumps(patch))

    def printer_columns(self, name: str) -> dict[str, str]:
        """`kubectl get tbot NAME -o wide`, as a person reads it: header -> value."""
        lines = self.kubectl("get", "tbot", name, "-o", "wide").stdout.splitlines()
        header, row = lines[0], lines[1]
        starts = [
            i for i, ch in enumerate(header) if ch != " " and (i == 0 or header[i - 1] == " ")
        ]
        bounds = list(zip(starts, [*starts[1:], None], strict=True))
        return {header[a:b].strip(): row[a:b].strip() for a, b in bounds}
