"""Rollouts on a real API server: migration first, failures, automatic and manual rollbacks."""

from __future__ import annotations

import pytest

from trainingbot_operator import naming

from tests.operator.cluster.support import V1, V2, V3, Cluster, fast_spec

pytestmark = pytest.mark.cluster

# A migration that runs long enough for the test to see the Deployment wait for it.
SLOW_JOB = {"kwok.trainingbot.dev/run-seconds": "5"}


def ready_at_v1(cluster: Cluster, name: str = "oncall", **overrides) -> None:
    cluster.apply_bot(name, fast_spec(**overrides))
    cluster.wait_ready(name, V1)


def test_a_new_image_is_migrated_before_the_deployment_changes(cluster: Cluster, operator):
    ready_at_v1(cluster)
    first_revision = cluster.deployment("oncall")["metadata"]["annotations"][
        "deployment.kubernetes.io/revision"
    ]
    cluster.patch_bot("oncall", {"image": V2, "podAnnotations": SLOW_JOB})

    job = cluster.wait(
        lambda: next(
            (
                j
                for j in cluster.jobs("oncall", "migration")
                if j["metadata"]["annotations"][naming.ANNOTATION_IMAGE] == V2
            ),
            None,
        ),
        "the migration Job of v2",
    )
    # While it runs, the old version serves untouched.
    cluster.wait_phase("oncall", "Migrating")
    assert not job["status"].get("succeeded")
    assert cluster.deployment_image("oncall") == V1
    assert (
        cluster.deployment("oncall")["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        == first_revision
    )

    status = cluster.wait_ready("oncall", V2)
    assert status["migration"]["image"] == V2
    assert status["migration"]["phase"] == "Succeeded"
    assert cluster.deployment_image("oncall") == V2
    (finished,) = [
        j
        for j in cluster.jobs("oncall", "migration")
        if j["metadata"]["name"] == job["metadata"]["name"]
    ]
    assert finished["status"]["succeeded"] == 1
    reasons = cluster.event_reasons("oncall")
    v2 = reasons[reasons.index("RolloutSucceeded") + 1 :]  # the second rollout's events
    assert (
        v2.index("MigrationStarted")
        < v2.index("MigrationSucceeded")
        < v2.index("RolloutStarted")
        < v2.index("SmokeTestPassed")
        < v2.index("RolloutSucceeded")
    )
    assert cluster.counter("rollouts", "oncall", "succeeded") == 2


def test_a_failed_migration_keeps_the_old_version_serving(cluster: Cluster, operator):
    ready_at_v1(cluster)
    template_before = cluster.deployment("oncall")["spec"]["template"]
    cluster.patch_bot(
        "oncall", {"image": V2, "podAnnotations": {"kwok.trainingbot.dev/fail-migration": "true"}}
    )

    status = cluster.wait_phase("oncall", "Failed")
    migrated = cluster.condition("oncall", "Migrated")
    assert (migrated["status"], migrated["reason"]) == ("False", "MigrationFailed")
    assert "BackoffLimitExceeded" in migrated["message"]
    assert f"still runs {V1}" in migrated["message"]
    assert "kubectl logs job/" in migrated["message"]
    assert "Last log lines" in migrated["message"]  # the tail of the failed pod's log
    assert status["migration"]["phase"] == "Failed"
    assert status["stableImage"] == V1
    # The Deployment is exactly as it was; the old pods keep serving.
    assert cluster.deployment("oncall")["spec"]["template"] == template_before
    assert len([p for p in cluster.bot_pods("oncall") if p["status"]["phase"] == "Running"]) == 2
    warning = [e for e in cluster.events("oncall") if e["reason"] == "MigrationFailed"]
    assert warning and warning[0]["type"] == "Warning"
    assert cluster.counter("migrations", "oncall", "failed") == 1

    # No retry storm: more rounds, still the one failed Job, still Failed.
    cluster.settle("oncall")
    assert (
        len(
            [
                j
                for j in cluster.jobs("oncall", "migration")
                if j["metadata"]["annotations"][naming.ANNOTATION_IMAGE] == V2
            ]
        )
        == 1
    )
    assert cluster.status("oncall")["phase"] == "Failed"
    assert cluster.counter("migrations", "oncall", "failed") == 1

    # A spec change is a new attempt: here a fixed release.
    cluster.patch_bot("oncall", {"image": V3, "podAnnotations": None})
    cluster.wait_ready("oncall", V3)
    assert cluster.condition("oncall", "Migrated")["status"] == "True"


ROLLBACK_CASES = {
    "crash-loop": ({"kwok.trainingbot.dev/crashloop": "true"}, {}, "CrashLoopBackOff"),
    "progress-deadline": (
        {"kwok.trainingbot.dev/not-ready": "true"},
        {"rollout": {"progressDeadlineSeconds": 5, "monitorSeconds": 2}},
        "ProgressDeadlineExceeded",
    ),
    "smoke-test": ({"kwok.trainingbot.dev/fail-smoke": "true"}, {}, "SmokeTestFailed"),
}


@pytest.mark.parametrize("case", list(ROLLBACK_CASES))
def test_a_bad_rollout_is_rolled_back_to_the_stable_image(cluster: Cluster, operator, case):
    annotations, overrides, reason = ROLLBACK_CASES[case]
    ready_at_v1(cluster, **overrides)
    cluster.patch_bot("oncall", {"image": V2, "podAnnotations": annotations})
    assert_rolled_back(cluster, reason, case)


def test_degradation_in_the_monitor_window_rolls_back(cluster: Cluster, operator, kube):
    ready_at_v1(cluster)
    cluster.patch_bot("oncall", {"image": V2, "rollout": {"monitorSeconds": 120}})
    cluster.wait_phase("oncall", "Monitoring", image=V2)
    # One of the new pods starts crashing after it was Ready (kwok's crash-loop hook).
    pod = next(p for p in cluster.bot_pods("oncall") if p["spec"]["containers"][0]["image"] == V2)
    kube.kubectl(
        "annotate",
        "pod",
        pod["metadata"]["name"],
        "-n",
        cluster.namespace,
        "kwok.trainingbot.dev/crashloop=true",
    )
    assert_rolled_back(cluster, "DegradedDuringMonitoring", "monitor-window")


def assert_rolled_back(cluster: Cluster, reason: str, metric_reason: str) -> None:
    status = cluster.wait_phase("oncall", "RolledBack", timeout=90)
    assert status["rejectedImage"] == V2
    assert status["stableImage"] == V1
    assert status["image"] == V1
    assert status["rollout"]["reason"] == reason
    rolled_back = cluster.condition("oncall", "RolledBack")
    assert (rolled_back["status"], rolled_back["reason"]) == ("True", "AutomaticRollback")
    assert "not retried until spec.image changes" in rolled_back["message"]
    # Back on the stable image *and* its configuration (no test hook left in the template).
    assert cluster.deployment_image("oncall") == V1
    assert not any(k.startswith("kwok.") for k in cluster.template_annotations("oncall"))
    cluster.wait(
        lambda: (
            all(p["spec"]["containers"][0]["image"] == V1 for p in cluster.bot_pods("oncall"))
            and len(cluster.bot_pods("oncall")) == 2
        ),
        "only v1 pods",
    )
    reasons = cluster.event_reasons("oncall")
    assert "RollingBack" in reasons and "RolledBack" in reasons
    assert cluster.counter("rollbacks", "oncall", metric_reason) == 1
    assert cluster.counter("rollouts", "oncall", "failed") == 1

    # Not retried: more rounds change nothing, even a change of another field.
    migrations = len(cluster.jobs("oncall", "migration"))
    cluster.settle("oncall")
    cluster.patch_bot("oncall", {"adminIds": [12345, 555]})
    cluster.settle("oncall")
    assert cluster.status("oncall")["phase"] == "RolledBack"
    assert cluster.deployment_image("oncall") == V1
    assert len(cluster.jobs("oncall", "migration")) == migrations
    assert cluster.counter("rollbacks", "oncall", metric_reason) == 1


def test_a_new_image_after_a_rollback_is_tried(cluster: Cluster, operator):
    ready_at_v1(cluster)
    cluster.patch_bot(
        "oncall", {"image": V2, "podAnnotations": {"kwok.trainingbot.dev/crashloop": "true"}}
    )
    cluster.wait_phase("oncall", "RolledBack", rejectedImage=V2)
    cluster.patch_bot("oncall", {"image": V3, "podAnnotations": None})
    status = cluster.wait_ready("oncall", V3)
    assert "rejectedImage" not in status
    assert cluster.condition("oncall", "RolledBack")["status"] == "False"


def test_a_manual_rollout_undo_is_left_standing_until_the_spec_changes(
    cluster: Cluster, operator, kube
):
    ready_at_v1(cluster)
    cluster.patch_bot("oncall", {"image": V2})
    cluster.wait_ready("oncall", V2)

    kube.kubectl("rollout", "undo", "deployment/oncall", "-n", cluster.namespace)
    status = cluster.wait_phase("oncall", "RolledBack")
    assert status["manualRollback"]["image"] == V1
    assert status["manualRollback"]["appliedImage"] == V2
    assert status["image"] == V1
    rolled_back = cluster.condition("oncall", "RolledBack")
    assert (rolled_back["status"], rolled_back["reason"]) == ("True", "ManualRollback")
    assert "until the TrainingBot's spec changes" in rolled_back["message"]
    warning = [e for e in cluster.events("oncall") if e["reason"] == "ManualRollbackDetected"]
    assert len(warning) == 1 and warning[0]["type"] == "Warning"
    assert cluster.counter("rollbacks", "oncall", "manual") == 1

    # The operator does not revert it, however often it looks.
    cluster.settle("oncall")
    assert cluster.deployment_image("oncall") == V1
    kube.kubectl("rollout", "status", "deployment/oncall", "-n", cluster.namespace, "--timeout=60s")
    assert cluster.deployment_image("oncall") == V1
    assert (
        len([e for e in cluster.events("oncall") if e["reason"] == "ManualRollbackDetected"]) == 1
    )

    # A spec change hands control back: the spec's image is applied again.
    cluster.patch_bot("oncall", {"adminIds": [12345, 777]})
    status = cluster.wait_ready("oncall", V2)
    assert "manualRollback" not in status
    assert cluster.deployment_image("oncall") == V2
