"""The operator killed mid-rollout (SIGKILL, its real command line) and started again."""

from __future__ import annotations

import json

import pytest
from trainingbot_operator import naming

from tests.operator.cluster.support import (
    V1,
    V2,
    Cluster,
    OperatorProcess,
    assert_clean,
    fast_spec,
    kopf_operator,
    metric_value,
)

pytestmark = pytest.mark.cluster

KILL_AT = {
    # The migration Job outlives the operator: the next one must follow it, not start another.
    "Migrating": {"image": V2, "podAnnotations": {"kwok.trainingbot.dev/run-seconds": "4"}},
    # The monitor window outlives it: the next one must finish it, from the recorded deadline.
    "Monitoring": {"image": V2, "rollout": {"monitorSeconds": 6}},
}


@pytest.mark.parametrize("phase", list(KILL_AT))
def test_an_operator_killed_mid_rollout_is_resumed_by_the_next_one(
    cluster: Cluster, kube, operator_kubeconfig, tmp_path, phase
):
    first = OperatorProcess(cluster.namespace, operator_kubeconfig, tmp_path / "first.log")
    try:
        cluster.apply_bot("oncall", fast_spec())
        cluster.wait_ready("oncall", V1)

        # The command line's endpoints: liveness, and the operator's own metrics.
        health = json.loads(first.get(first.health_port, "/healthz"))
        assert "watchEventAgeSeconds" in health
        exposition = cluster.wait(
            lambda: (
                (text := first.get(first.metrics_port, "/metrics"))
                and metric_value(
                    text,
                    "trainingbot_operator_rollouts_total",
                    trainingbot_name="oncall",
                    result="succeeded",
                )
                == 1
                and text
            ),
            "the first rollout in the operator's metrics",
        )
        age = metric_value(exposition, "trainingbot_operator_watch_event_age_seconds")
        assert age is not None and age < 60
        assert (
            metric_value(
                exposition,
                "trainingbot_operator_migrations_total",
                trainingbot_namespace=cluster.namespace,
                trainingbot_name="oncall",
                result="succeeded",
            )
            == 1
        )

        cluster.patch_bot("oncall", KILL_AT[phase])
        cluster.wait_phase("oncall", phase, timeout=60)
    finally:
        first.kill()
    assert_clean(first.output())
    killed_at = cluster.status("oncall")
    assert killed_at["phase"] == phase

    with kopf_operator(cluster.namespace, operator_kubeconfig):
        status = cluster.wait_ready("oncall", V2, timeout=90)
        assert status["migration"]["image"] == V2
        if phase == "Monitoring":
            assert status["rollout"]["monitorUntil"] == killed_at["rollout"]["monitorUntil"]
        # Exactly one migration and one smoke test for the new image: nothing was redone.
        for component in ("migration", "smoke-test"):
            jobs = [
                j
                for j in cluster.jobs("oncall", component)
                if j["metadata"]["annotations"][naming.ANNOTATION_IMAGE] == V2
            ]
            assert len(jobs) == 1, [j["metadata"]["name"] for j in jobs]
        reasons = cluster.event_reasons("oncall")
        assert reasons.count("MigrationStarted") == 2  # v1's and v2's
        assert reasons.count("RolloutSucceeded") == 2
        kube.kubectl("delete", "trainingbots", "--all", "-n", cluster.namespace, "--timeout=60s")
