"""The reconciler's execution of decisions, against an in-memory API (no cluster)."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from trainingbot_operator import k8s, naming
from trainingbot_operator.reconciler import Reconciler
from trainingbot_operator.rollout import Action

from tests.operator import factories as f


class FakeKube:
    """Stores objects by (kind, namespace, name); records every write."""

    def __init__(self, served: bool = False) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.writes: list[tuple[str, str, str]] = []
        self.monitoring_served = served

    def put(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.objects[(obj["kind"], meta.get("namespace", ""), meta["name"])] = obj

    def get(self, kind: k8s.Kind, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((kind.kind, namespace, name))
        return copy.deepcopy(found) if found else None

    def list(self, kind: k8s.Kind, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        wanted = dict(pair.split("=", 1) for pair in label_selector.split(","))
        return [
            copy.deepcopy(o)
            for (k, ns, _), o in self.objects.items()
            if k == kind.kind
            and ns == namespace
            and wanted.items() <= (o["metadata"].get("labels") or {}).items()
        ]

    def served(self, kind: k8s.Kind) -> bool:
        return self.monitoring_served

    def pod_logs_tail(self, *args: Any) -> str | None:
        return None

    def apply(self, manifest: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(manifest)
        if obj["kind"] == "Deployment":
            obj["metadata"]["managedFields"] = [
                {
                    "manager": k8s.FIELD_MANAGER,
                    "operation": "Apply",
                    "fieldsV1": {
                        "f:spec": {
                            "f:template": {
                                "f:spec": {"f:containers": {'k:{"name":"bot"}': {"f:image": {}}}}
                            }
                        }
                    },
                }
            ]
            obj["metadata"]["generation"] = 1
        self.put(obj)
        self.writes.append(("apply", obj["kind"], obj["metadata"]["name"]))
        return obj

    def create(self, manifest: dict[str, Any]) -> dict[str, Any]:
        self.put(copy.deepcopy(manifest))
        self.writes.append(("create", manifest["kind"], manifest["metadata"]["name"]))
        return manifest

    def delete(self, kind: k8s.Kind, namespace: str, name: str) -> bool:
        self.writes.append(("delete", kind.kind, name))
        return self.objects.pop((kind.kind, namespace, name), None) is not None

    def patch_status(
        self, kind: k8s.Kind, namespace: str, name: str, status: dict[str, Any]
    ) -> dict[str, Any]:
        body = self.objects[(kind.kind, namespace, name)]
        current = body.setdefault("status", {})
        for key, value in status.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value
        self.writes.append(("status", kind.kind, name))
        return body


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def kube() -> FakeKube:
    fake = FakeKube()
    fake.put(
        {
            "kind": "TrainingBot",
            "apiVersion": "trainingbot.dev/v1alpha1",
            "metadata": {
                "name": f.NAME,
                "namespace": f.NAMESPACE,
                "uid": f.OWNER.uid,
                "generation": 1,
            },
            "spec": f.spec_dict(),
        }
    )
    fake.put(
        {
            "kind": "Secret",
            "metadata": {"name": "bot", "namespace": f.NAMESPACE},
            "data": {"token": b64("t"), "webhook-secret": b64("w")},
        }
    )
    fake.put(
        {
            "kind": "Secret",
            "metadata": {"name": "bot-db", "namespace": f.NAMESPACE},
            "data": {"url": b64("postgresql://x")},
        }
    )
    fake.put(
        {
            "kind": "Secret",
            "metadata": {"name": "bot-redis", "namespace": f.NAMESPACE},
            "data": {"url": b64("redis://r")},
        }
    )
    fake.put(
        {
            "kind": "ConfigMap",
            "metadata": {"name": "onboarding-courses", "namespace": f.NAMESPACE},
            "data": {"c.yaml": "title: x"},
        }
    )
    return fake


@pytest.fixture
def events() -> list:
    return []


@pytest.fixture
def reconciler(kube, events) -> Reconciler:
    return Reconciler(
        kube=kube,
        post_event=lambda body, event: events.append(event),  # type: ignore[arg-type]
        clock=lambda: f.NOW,
    )


def bot(kube: FakeKube) -> dict[str, Any]:
    return kube.get(k8s.TRAINING_BOT, f.NAMESPACE, f.NAME)


def test_a_first_round_creates_the_static_children_and_the_migration(kube, reconciler, events):
    decision = reconciler.round(bot(kube), full=True)
    assert decision.action is Action.START_MIGRATION
    kinds = [(verb, kind) for verb, kind, _ in kube.writes]
    assert kinds[:4] == [
        ("apply", "ServiceAccount"),
        ("apply", "Service"),
        ("apply", "Service"),
        ("apply", "PodDisruptionBudget"),
    ]
    assert ("create", "Job") in kinds
    assert ("apply", "Deployment") not in kinds
    assert not [w for w in kube.writes if w[1] in ("ServiceMonitor", "PrometheusRule")]
    status = bot(kube)["status"]
    assert status["phase"] == "Migrating"
    assert status["lastSyncTime"] == "2026-11-27T12:00:00Z"
    assert [e.reason for e in events] == ["MigrationStarted"]


def test_a_round_with_nothing_new_writes_nothing(kube, reconciler):
    reconciler.round(bot(kube), full=True)
    kube.writes.clear()
    reconciler.round(bot(kube), full=False)
    assert [w for w in kube.writes if w[0] != "status"] == []
    reconciler.round(bot(kube), full=False)
    assert kube.writes.count(("status", "TrainingBot", f.NAME)) <= 1


def test_served_monitoring_kinds_get_their_objects(kube, reconciler):
    kube.monitoring_served = True
    reconciler.round(bot(kube), full=True)
    assert ("apply", "ServiceMonitor", f.NAME) in kube.writes
    assert ("apply", "PrometheusRule", f.NAME) in kube.writes
    conditions = {c["type"]: c for c in bot(kube)["status"]["conditions"]}
    assert conditions["MonitoringAvailable"]["status"] == "True"


def test_polling_mode_removes_the_webhook_service_and_the_pdb(kube, reconciler):
    body = bot(kube)
    body["spec"] = f.spec_dict(
        mode="polling", telegram={"tokenSecretRef": {"name": "bot", "key": "token"}}
    )
    kube.put(body)
    reconciler.round(bot(kube), full=True)
    assert ("delete", "Service", naming.webhook_service(f.NAME)) in kube.writes
    assert ("delete", "PodDisruptionBudget", f.NAME) in kube.writes


def test_a_missing_secret_holds_everything_and_says_which(kube, reconciler, events):
    del kube.objects[("Secret", f.NAMESPACE, "bot-db")]
    decision = reconciler.round(bot(kube), full=True)
    assert decision.action is Action.WAIT_FOR_REFERENCES
    assert not [w for w in kube.writes if w[1] in ("Job", "Deployment")]
    assert "Secret bot-db" in bot(kube)["status"]["message"]


def test_cleared_status_fields_are_removed(kube, reconciler):
    body = bot(kube)
    body["status"] = {"rejectedImage": "example.org/old:1", "phase": "RolledBack"}
    body["spec"] = f.spec_dict(migrations={"enabled": False})
    kube.put(body)
    reconciler.round(bot(kube), full=False)
    status = bot(kube)["status"]
    assert "rejectedImage" not in status  # a new image is tried: the old rejection is gone
    assert status["phase"] == "Progressing"


def test_a_full_migration_and_rollout_through_the_fake(kube, reconciler, events):
    body = bot(kube)
    body["spec"] = f.spec_dict(rollout={"smokeTest": False, "monitorSeconds": 0})
    kube.put(body)
    reconciler.round(bot(kube), full=True)
    (job,) = [o for (k, _, _), o in kube.objects.items() if k == "Job"]
    job["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    assert reconciler.reconcile(f.NAMESPACE, f.NAME, full=False) == 2.0  # applied, watching
    deployment = kube.get(k8s.DEPLOYMENT, f.NAMESPACE, f.NAME)
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == f.NEW
    deployment["status"] = {
        "observedGeneration": 1,
        "replicas": 2,
        "updatedReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
    }
    kube.put(deployment)
    reconciler.reconcile(f.NAMESPACE, f.NAME, full=False)
    status = bot(kube)["status"]
    assert status["phase"] == "Ready"
    assert status["stableImage"] == f.NEW
    assert status["stableSpec"]["image"] == f.NEW
    assert [e.reason for e in events] == [
        "MigrationStarted",
        "MigrationSucceeded",
        "RolloutStarted",
        "RolloutSucceeded",
    ]


def test_a_spec_the_operator_cannot_read_is_reported_once(kube, reconciler, events):
    body = bot(kube)
    body["spec"] = f.spec_dict(mode="carrier-pigeon")
    kube.put(body)
    assert reconciler.reconcile(f.NAMESPACE, f.NAME, full=True) is None
    status = bot(kube)["status"]
    assert status["phase"] == "Failed"
    assert "spec.mode" in status["message"]
    assert [e.reason for e in events] == ["UnreadableSpec"]
    reconciler.reconcile(f.NAMESPACE, f.NAME, full=False)
    assert len(events) == 1
    assert not [w for w in kube.writes if w[1] not in ("TrainingBot",)]
