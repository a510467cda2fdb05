"""Create and delete: every child, owned, PSS-restricted pods, status and printer columns."""

from __future__ import annotations

import pytest

from trainingbot_operator import naming

from tests.operator.cluster.support import V1, Cluster, fast_spec

pytestmark = pytest.mark.cluster


def test_create_builds_every_child_and_delete_removes_them(cluster: Cluster, operator, kube):
    ns = cluster.namespace
    cluster.apply_bot("oncall", fast_spec())
    status = cluster.wait_ready("oncall", V1)

    # Status: phase, images, readiness, generation, conditions a person can act on.
    assert status["ready"] == "2/2"
    assert status["observedGeneration"] == cluster.bot("oncall")["metadata"]["generation"]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Ready"]["status"] == "True"
    assert conditions["Migrated"]["reason"] == "MigrationSucceeded"
    assert conditions["Progressing"]["reason"] == "RolloutComplete"
    monitoring = conditions["MonitoringAvailable"]
    assert (monitoring["status"], monitoring["reason"]) == ("False", "CRDNotServed")
    assert "Prometheus Operator" in monitoring["message"]

    # The printer columns.
    table = kube.kubectl("get", "tbot", "oncall", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "PHASE", "IMAGE", "READY", "AGE"]
    assert table[1].split()[:4] == ["oncall", "Ready", V1, "2/2"]

    # Every child, owned by the TrainingBot.
    uid = cluster.bot("oncall")["metadata"]["uid"]
    children = {
        ("serviceaccount", "oncall"),
        ("deployment", "oncall"),
        ("service", "oncall-metrics"),
        ("service", "oncall-webhook"),
        ("poddisruptionbudget", "oncall"),
    }
    for kind, name in children:
        child = kube.kubectl_json("get", kind, name, "-n", ns)
        (owner,) = child["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("TrainingBot", "oncall", uid)
        assert owner["controller"] is True
        assert child["metadata"]["labels"][naming.LABEL_MANAGED_BY] == "trainingbot-operator"
    service_account = kube.kubectl_json("get", "serviceaccount", "oncall", "-n", ns)
    assert service_account["automountServiceAccountToken"] is False

    # Jobs ran first: the migration, then the smoke test; both owned, both succeeded.
    for component in ("migration", "smoke-test"):
        (job,) = cluster.jobs("oncall", component)
        assert job["status"].get("succeeded") == 1, job["status"]
        assert job["metadata"]["ownerReferences"][0]["uid"] == uid

    # The namespace enforces `restricted`: the pods exist, so admission accepted them.
    pods = cluster.bot_pods("oncall")
    assert len(pods) == 2
    for pod in pods:
        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["spec"]["automountServiceAccountToken"] is False
    assert (
        kube.kubectl_json("get", "namespace", ns)["metadata"]["labels"][
            "pod-security.kubernetes.io/enforce"
        ]
        == "restricted"
    )

    reasons = cluster.event_reasons("oncall")
    for expected in (
        "MigrationStarted",
        "MigrationSucceeded",
        "RolloutStarted",
        "SmokeTestStarted",
        "SmokeTestPassed",
        "MonitoringStarted",
        "RolloutSucceeded",
    ):
        assert expected in reasons
    assert reasons.index("MigrationSucceeded") < reasons.index("RolloutStarted")
    assert reasons.index("SmokeTestPassed") < reasons.index("RolloutSucceeded")

    # Deleting the TrainingBot deletes every child (garbage collection via ownerReferences).
    kube.kubectl("delete", "tbot", "oncall", "-n", ns, "--timeout=60s")

    def gone() -> bool:
        for kind, name in children:
            if kube.kubectl("get", kind, name, "-n", ns, check=False).returncode == 0:
                return False
        return not cluster.jobs("oncall") and not cluster.bot_pods("oncall")

    cluster.wait(gone, "every child of oncall to be deleted")
