"""The local control plane behaves as the operator's and the chart's tests rely on: a real
API server with RBAC and PodSecurity, controllers that roll Deployments out and back, and
kwok's fake kubelets following the project's stage hooks."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.cluster

RESTRICTED = {
    "securityContext": {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    },
}
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
}


def deployment(name: str, image: str, annotations: dict | None = None) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "progressDeadlineSeconds": 8,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {
                    "labels": {"app": name, "app.kubernetes.io/component": "bot"},
                    "annotations": annotations or {},
                },
                "spec": {
                    **RESTRICTED,
                    "containers": [
                        {"name": "bot", "image": image, "securityContext": CONTAINER_SECURITY}
                    ],
                },
            },
        },
    }


def job(name: str, component: str, annotations: dict | None = None) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {
                    "labels": {"app.kubernetes.io/component": component},
                    "annotations": annotations or {},
                },
                "spec": {
                    **RESTRICTED,
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "main",
                            "image": "telegram-training-bot:1.0.0",
                            "securityContext": CONTAINER_SECURITY,
                        }
                    ],
                },
            },
        },
    }


def condition(obj: dict, kind: str) -> dict:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind), {})


def test_server_version_is_the_pinned_release(kube):
    version = json.loads(kube.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == version["clientVersion"]["gitVersion"]
    assert version["serverVersion"]["minor"].rstrip("+") == "36"


def test_pod_security_admission_rejects_a_privileged_pod(kube, namespace):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "root"},
        "spec": {
            "containers": [
                {"name": "c", "image": "busybox", "securityContext": {"privileged": True}}
            ]
        },
    }
    out = kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(pod), check=False)
    assert out.returncode != 0
    assert "violates PodSecurity" in out.stderr and "restricted" in out.stderr


def test_rbac_denies_a_service_account_without_roles(kube, namespace):
    kube.kubectl("create", "serviceaccount", "nobody", "-n", namespace)
    config = kube.service_account_kubeconfig(namespace, "nobody")
    out = kube.kubectl("--kubeconfig", str(config), "get", "pods", "-n", namespace, check=False)
    assert out.returncode != 0 and "Forbidden" in out.stderr


def test_rollout_progress_deadline_and_undo(kube, namespace):
    kube.apply(deployment("bot", "telegram-training-bot:1.0.0"), namespace)
    kube.kubectl("rollout", "status", "deployment/bot", "-n", namespace, "--timeout=60s")

    bad = deployment(
        "bot", "telegram-training-bot:2.0.0", {"kwok.trainingbot.dev/crashloop": "true"}
    )
    kube.apply(bad, namespace)
    stuck = kube.wait_for(
        lambda: (
            condition(
                kube.kubectl_json("get", "deployment/bot", "-n", namespace), "Progressing"
            ).get("reason")
            == "ProgressDeadlineExceeded"
        ),
        60,
        "the bad rollout to exceed its progress deadline",
    )
    assert stuck
    pods = kube.kubectl_json("get", "pods", "-n", namespace, "-l", "app=bot")["items"]
    crashing = [p for p in pods if p["spec"]["containers"][0]["image"].endswith(":2.0.0")]
    waiting = crashing[0]["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "CrashLoopBackOff"

    kube.kubectl("rollout", "undo", "deployment/bot", "-n", namespace)
    kube.kubectl("rollout", "status", "deployment/bot", "-n", namespace, "--timeout=60s")
    live = kube.kubectl_json("get", "deployment/bot", "-n", namespace)
    assert live["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.0.0")


def test_not_ready_hook_keeps_pods_running_but_unready(kube, namespace):
    kube.apply(
        deployment(
            "slow", "telegram-training-bot:1.0.0", {"kwok.trainingbot.dev/not-ready": "true"}
        ),
        namespace,
    )
    pods = kube.wait_for(
        lambda: [
            p
            for p in kube.kubectl_json("get", "pods", "-n", namespace, "-l", "app=slow")["items"]
            if p["status"].get("phase") == "Running"
        ],
        30,
        "pods to run",
    )
    assert condition(pods[0], "Ready")["status"] == "False"


@pytest.mark.parametrize(
    ("component", "annotation"),
    [
        ("migration", "kwok.trainingbot.dev/fail-migration"),
        ("smoke-test", "kwok.trainingbot.dev/fail-smoke"),
    ],
)
def test_job_hooks_fail_only_their_component(kube, namespace, component, annotation):
    kube.apply(
        [
            job("fails", component, {annotation: "true"}),
            job("succeeds", "other", {annotation: "true"}),
        ],
        namespace,
    )

    def finished(name: str) -> str | None:
        status = kube.kubectl_json("get", f"job/{name}", "-n", namespace).get("status", {})
        return (
            "failed" if status.get("failed") else "succeeded" if status.get("succeeded") else None
        )

    assert kube.wait_for(lambda: finished("fails"), 60, "the failing job") == "failed"
    assert kube.wait_for(lambda: finished("succeeds"), 60, "the other job") == "succeeded"
    logs = kube.kubectl("logs", "job/fails", "-n", namespace, "--tail=1").stdout
    assert "kwok" in logs, "container logs are served through the kubelet endpoint"


def test_run_seconds_hook_delays_job_completion(kube, namespace):
    kube.apply(job("slow", "migration", {"kwok.trainingbot.dev/run-seconds": "6"}), namespace)
    running = kube.wait_for(
        lambda: kube.kubectl_json("get", "job/slow", "-n", namespace)["status"].get("active"),
        30,
        "the job to start",
    )
    assert running == 1
    # Still running a moment after start: completion waits for the hook's 6 seconds.
    pods = kube.wait_for(
        lambda: [
            p
            for p in kube.kubectl_json("get", "pods", "-n", namespace, "-l", "job-name=slow")[
                "items"
            ]
            if p["status"].get("phase") == "Running"
        ],
        30,
        "the job's pod to run",
    )
    assert pods
    kube.kubectl("wait", "--for=condition=complete", "job/slow", "-n", namespace, "--timeout=60s")


def test_namespace_deletion_cascades_to_owned_objects(kube):
    ns = kube.create_namespace("cascade")
    kube.apply(deployment("bot", "telegram-training-bot:1.0.0"), ns)
    kube.kubectl("rollout", "status", "deployment/bot", "-n", ns, "--timeout=60s")
    kube.kubectl("delete", "deployment/bot", "-n", ns, "--cascade=foreground")
    kube.wait_for(
        lambda: not kube.kubectl_json("get", "replicasets,pods", "-n", ns)["items"],
        60,
        "the garbage collector to delete ReplicaSets and Pods",
    )
    kube.delete_namespace(ns)
