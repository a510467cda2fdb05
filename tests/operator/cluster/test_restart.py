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


def test_with_peering_a_second_replica_stands_by_and_takes_over(
    cluster: Cluster, kube, operator_kubeconfig, tmp_path
):
    kube.apply(
        {
            "apiVersion": "kopf.dev/v1",
            "kind": "KopfPeering",
            "metadata": {"name": "trainingbot-operator"},
        },
        cluster.namespace,
    )
    peering = ("--peering", "trainingbot-operator", "--priority")

    def peers() -> int:
        found = kube.kubectl_json(
            "get", "kopfpeering", "trainingbot-operator", "-n", cluster.namespace
        )
        return len(found.get("status") or {})

    def paused(replica: OperatorProcess) -> bool:
        # With --peering a replica starts paused; kopf logs each change of mind after that.
        log = replica.output()
        return log.rfind("Pausing operations") >= log.rfind("Resuming operations")

    active = OperatorProcess(
        cluster.namespace, operator_kubeconfig, tmp_path / "active.log", peering=(*peering, "100")
    )
    standby = None
    try:
        cluster.wait(lambda: peers() == 1 and not paused(active), "the first replica active")
        standby = OperatorProcess(
            cluster.namespace,
            operator_kubeconfig,
            tmp_path / "standby.log",
            peering=(*peering, "10"),
        )
        cluster.wait(lambda: peers() == 2, "both replicas in the KopfPeering")
        cluster.wait(
            lambda: "Initial authentication has finished" in standby.output(),
            "the second replica started",
        )
        assert paused(standby)
        cluster.apply_bot("oncall", fast_spec())
        cluster.wait_ready("oncall", V1)
        mine = f"TrainingBot {cluster.namespace}/oncall:"
        assert mine in active.output()
        assert mine not in standby.output()  # it never acted
        assert paused(standby) and not paused(active)

        active.stop()  # a graceful exit tells the peers at once
        cluster.wait(
            lambda: "Resuming operations after the pause" in standby.output(),
            "the standby replica to take over",
        )
        cluster.patch_bot("oncall", {"image": V2})
        cluster.wait_ready("oncall", V2)
        assert f"{mine} StartMigration: migration Job" in standby.output()
        kube.kubectl("delete", "trainingbots", "--all", "-n", cluster.namespace, "--timeout=60s")
    finally:
        active.kill()
        if standby is not None:
            standby.stop()
    assert_clean(active.output())
    assert standby is not None
    assert_clean(standby.output())
