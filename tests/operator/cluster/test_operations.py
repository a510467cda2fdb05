"""Day-two operations on a real API server: rotation, polling, Sentinel, pause, monitoring."""

from __future__ import annotations

import base64
import json

import pytest

from trainingbot_operator import naming

from tests.operator.cluster.support import V1, V2, Cluster, fast_spec

pytestmark = pytest.mark.cluster

MONITORING_CRDS = [
    ("servicemonitors", "ServiceMonitor"),
    ("prometheusrules", "PrometheusRule"),
]
TEST_CRD_LABEL = "trainingbot.dev/test-crd"


def env_of(pod_or_template: dict) -> dict:
    spec = pod_or_template.get("spec", pod_or_template)
    (container,) = [c for c in spec["containers"] if c["name"] == "bot"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_rotating_a_secret_or_the_content_rolls_the_pods(cluster: Cluster, operator, kube):
    cluster.apply_bot("oncall", fast_spec())
    cluster.wait_ready("oncall", V1)
    checksum = cluster.template_annotations("oncall")[naming.ANNOTATION_CONFIG_CHECKSUM]
    before = {p["metadata"]["name"] for p in cluster.bot_pods("oncall")}

    # Rotate the database password (the runbook's credential rotation, step 3).
    new_url = base64.b64encode(b"postgresql://bot:rotated@db/bot").decode()
    kube.kubectl(
        "patch",
        "secret",
        "bot",
        "-n",
        cluster.namespace,
        "--type=merge",
        "-p",
        json.dumps({"data": {"database-url": new_url}}),
    )
    rotated = cluster.wait(
        lambda: (
            (c := cluster.template_annotations("oncall").get(naming.ANNOTATION_CONFIG_CHECKSUM))
            != checksum
            and c
        ),
        "the checksum annotation to change",
    )
    kube.kubectl("rollout", "status", "deployment/oncall", "-n", cluster.namespace, "--timeout=60s")
    cluster.wait(
        lambda: (
            len(cluster.bot_pods("oncall")) == 2
            and not before & {p["metadata"]["name"] for p in cluster.bot_pods("oncall")}
        ),
        "every pod replaced",
    )
    assert cluster.deployment_image("oncall") == V1  # same release, new credentials
    assert "ConfigurationChanged" in cluster.event_reasons("oncall")
    cluster.wait_phase("oncall", "Ready")

    # An unrelated key of the same Secret changes nothing.
    kube.kubectl(
        "patch",
        "secret",
        "bot",
        "-n",
        cluster.namespace,
        "--type=merge",
        "-p",
        json.dumps({"stringData": {"unrelated": "x"}}),
    )
    cluster.settle("oncall")
    assert cluster.template_annotations("oncall")[naming.ANNOTATION_CONFIG_CHECKSUM] == rotated

    # New course content rolls the pods too.
    kube.kubectl(
        "patch",
        "configmap",
        "courses",
        "-n",
        cluster.namespace,
        "--type=merge",
        "-p",
        json.dumps({"data": {"oncall-101.yaml": "title: On-call 102\n"}}),
    )
    cluster.wait(
        lambda: (
            cluster.template_annotations("oncall")[naming.ANNOTATION_CONFIG_CHECKSUM] != rotated
        ),
        "the content checksum to change",
    )


def test_polling_mode_runs_one_recreated_pod_with_sentinel(cluster: Cluster, operator, kube):
    cluster.apply_bot("oncall", fast_spec())
    cluster.wait_ready("oncall", V1)
    assert (
        kube.kubectl("get", "pdb", "oncall", "-n", cluster.namespace, check=False).returncode == 0
    )

    # Switch to polling with Redis Sentinel: one pod, Recreate, no webhook Service, no PDB.
    cluster.patch_bot(
        "oncall",
        {
            "mode": "polling",
            "replicas": 3,
            "telegram": {"webhook": None},
            "redis": {
                "urlSecretRef": None,
                "sentinel": {
                    "hosts": ["redis-sentinel-0.redis:26379", "redis-sentinel-1.redis:26379"],
                    "masterName": "bots",
                    "passwordSecretRef": {"name": "bot", "key": "sentinel-password"},
                },
            },
        },
    )
    cluster.wait(
        lambda: (
            (cluster.deployment("oncall") or {}).get("spec", {}).get("strategy", {}).get("type")
            == "Recreate"
        ),
        "the Recreate strategy",
    )
    spec = cluster.deployment("oncall")["spec"]
    assert spec["replicas"] == 1
    assert "rollingUpdate" not in spec["strategy"]
    status = cluster.wait_phase("oncall", "Ready", ready="1/1")
    assert status["stableImage"] == V1

    for kind, name in (("service", "oncall-webhook"), ("pdb", "oncall")):
        cluster.wait(
            lambda kind=kind, name=name: (
                kube.kubectl("get", kind, name, "-n", cluster.namespace, check=False).returncode
                != 0
            ),
            f"{kind} {name} to be removed",
        )

    # The Sentinel settings reach the running pod's environment.
    (pod,) = cluster.wait(
        lambda: (
            [
                p
                for p in cluster.bot_pods("oncall")
                if p["status"].get("phase") == "Running" and env_of(p).get("BOT_MODE") == "polling"
            ]
            or None
        ),
        "the polling pod",
    )
    env = env_of(pod)
    assert env["REDIS_SENTINELS"] == "redis-sentinel-0.redis:26379,redis-sentinel-1.redis:26379"
    assert env["REDIS_MASTER_NAME"] == "bots"
    assert env["REDIS_SENTINEL_PASSWORD"] == {
        "secretKeyRef": {"name": "bot", "key": "sentinel-password"}
    }
    assert "REDIS_URL" not in env and "WEBHOOK_URL" not in env

    # A new image in polling mode still goes through the whole sequence.
    cluster.patch_bot("oncall", {"image": V2})
    cluster.wait_ready("oncall", V2)
    assert cluster.deployment("oncall")["spec"]["replicas"] == 1


def test_paused_changes_nothing_until_resumed(cluster: Cluster, operator, kube):
    cluster.apply_bot("oncall", fast_spec())
    cluster.wait_ready("oncall", V1)
    before = cluster.deployment("oncall")
    jobs = len(cluster.jobs("oncall"))

    cluster.patch_bot("oncall", {"paused": True})
    cluster.wait_phase("oncall", "Paused")
    cluster.patch_bot("oncall", {"image": V2, "replicas": 3})
    # Even a deleted child stays deleted while paused.
    kube.kubectl("delete", "service", "oncall-metrics", "-n", cluster.namespace)
    cluster.settle("oncall")
    assert cluster.status("oncall")["phase"] == "Paused"
    after = cluster.deployment("oncall")
    assert after["spec"] == before["spec"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert len(cluster.jobs("oncall")) == jobs
    assert (
        kube.kubectl(
            "get", "service", "oncall-metrics", "-n", cluster.namespace, check=False
        ).returncode
        != 0
    )
    assert "Paused" in cluster.event_reasons("oncall")

    cluster.patch_bot("oncall", {"paused": False})
    status = cluster.wait_ready("oncall", V2)
    assert status["ready"] == "3/3"
    kube.kubectl("get", "service", "oncall-metrics", "-n", cluster.namespace)
    assert "Resumed" in cluster.event_reasons("oncall")


def _served(kube, plural: str) -> bool:
    out = kube.kubectl(
        "api-resources", "--api-group=monitoring.coreos.com", "-o", "name", check=False
    ).stdout
    return f"{plural}.monitoring.coreos.com" in out


def _remove_test_monitoring_crds(kube) -> None:
    for plural, _ in MONITORING_CRDS:
        name = f"{plural}.monitoring.coreos.com"
        found = kube.kubectl("get", "crd", name, "-o", "json", check=False)
        if found.returncode:
            continue
        labels = json.loads(found.stdout)["metadata"].get("labels", {})
        assert labels.get(TEST_CRD_LABEL) == "true", (
            f"CRD {name} exists and is not this test's: the 'absent' case cannot be tested "
            "on this cluster"
        )
        kube.kubectl("delete", "crd", name, "--wait=true", "--timeout=60s")
    for plural, _ in MONITORING_CRDS:
        kube.wait_for(
            lambda plural=plural: not _served(kube, plural), 60, f"{plural} to be no longer served"
        )


@pytest.fixture
def monitoring_crds(kube):
    """The two monitoring.coreos.com CRDs, with minimal schemas, for the length of a test."""
    for plural, kind in MONITORING_CRDS:
        kube.apply(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {
                    "name": f"{plural}.monitoring.coreos.com",
                    "labels": {TEST_CRD_LABEL: "true"},
                },
                "spec": {
                    "group": "monitoring.coreos.com",
                    "scope": "Namespaced",
                    "names": {"plural": plural, "kind": kind, "singular": kind.lower()},
                    "versions": [
                        {
                            "name": "v1",
                            "served": True,
                            "storage": True,
                            "schema": {
                                "openAPIV3Schema": {
                                    "type": "object",
                                    "properties": {
                                        "spec": {
                                            "type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True,
                                        }
                                    },
                                }
                            },
                        }
                    ],
                },
            }
        )
        kube.kubectl(
            "wait",
            "--for=condition=Established",
            f"crd/{plural}.monitoring.coreos.com",
            "--timeout=60s",
        )
    yield
    _remove_test_monitoring_crds(kube)


def test_without_monitoring_crds_the_bot_runs_and_the_condition_says_why(
    cluster: Cluster, kube, operator_kubeconfig, request
):
    _remove_test_monitoring_crds(kube)
    operator = request.getfixturevalue("operator")  # started once the CRDs are surely gone
    assert operator is not None
    cluster.apply_bot("oncall", fast_spec())
    cluster.wait_ready("oncall", V1)
    condition = cluster.condition("oncall", "MonitoringAvailable")
    assert (condition["status"], condition["reason"]) == ("False", "CRDNotServed")
    assert "ServiceMonitor and PrometheusRule are not served" in condition["message"]


def test_with_monitoring_crds_the_service_monitor_and_rules_are_created(
    cluster: Cluster, kube, monitoring_crds, operator
):
    cluster.apply_bot(
        "oncall",
        fast_spec(
            monitoring={
                "serviceMonitor": {"labels": {"release": "prometheus"}},
                "prometheusRule": {"errorRateThreshold": 0.1},
            }
        ),
    )
    cluster.wait_ready("oncall", V1)
    condition = cluster.wait(
        lambda: (c := cluster.condition("oncall", "MonitoringAvailable"))["status"] == "True" and c,
        "MonitoringAvailable",
    )
    assert condition["reason"] == "Created"

    monitor = kube.kubectl_json("get", "servicemonitor", "oncall", "-n", cluster.namespace)
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["metadata"]["ownerReferences"][0]["kind"] == "TrainingBot"
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    rule = kube.kubectl_json("get", "prometheusrule", "oncall", "-n", cluster.namespace)
    alerts = [r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert "TrainingBotMigrationFailed" in alerts
    assert any("0.1" in r["expr"] for g in rule["spec"]["groups"] for r in g["rules"])

    # Disabling one removes it.
    cluster.patch_bot("oncall", {"monitoring": {"prometheusRule": {"enabled": False}}})
    cluster.wait(
        lambda: (
            kube.kubectl(
                "get", "prometheusrule", "oncall", "-n", cluster.namespace, check=False
            ).returncode
            != 0
        ),
        "the PrometheusRule to be deleted",
    )
    kube.kubectl("get", "servicemonitor", "oncall", "-n", cluster.namespace)


INVALID = [
    ({"replicas": 0}, "spec.replicas"),
    ({"image": "example.org/telegram-training-bot:latest"}, "spec.image must name a release"),
    ({"image": "Not An Image"}, "spec.image"),
    ({"mode": "carrier-pigeon"}, 'supported values: "webhook", "polling"'),
    ({"redis": {}}, "spec.redis must set exactly one of urlSecretRef and sentinel"),
    (
        {"redis": {"urlSecretRef": {"name": "r", "key": "u"}, "sentinel": {"hosts": ["s:1"]}}},
        "spec.redis must set exactly one of urlSecretRef and sentinel",
    ),
    ({"redis": {"sentinel": {"hosts": ["no-port"]}}}, "spec.redis.sentinel.hosts[0]"),
    (
        {"mode": "webhook", "telegram": {"tokenSecretRef": {"name": "b", "key": "t"}}},
        "spec.telegram.webhook (url and secretTokenSecretRef) is required",
    ),
    (
        {"migrations": {"backup": {"enabled": True}}},
        "spec.migrations.backup.persistentVolumeClaimName is required",
    ),
    ({"rollout": {"progressDeadlineSeconds": 1}}, "spec.rollout.progressDeadlineSeconds"),
    (
        {"monitoring": {"prometheusRule": {"errorRateThreshold": 1.5}}},
        "spec.monitoring.prometheusRule.errorRateThreshold",
    ),
    (
        {"monitoring": {"serviceMonitor": {"interval": "often"}}},
        "spec.monitoring.serviceMonitor.interval",
    ),
    ({"adminIds": [-5]}, "spec.adminIds[0]"),
    ({"surprise": True}, None),  # unknown fields: pruned, or refused by a strict client
]


@pytest.mark.parametrize(
    ("overrides", "message"), INVALID, ids=[str(i) for i in range(len(INVALID))]
)
def test_invalid_resources_are_refused_with_the_field_named(
    cluster: Cluster, kube, overrides, message
):
    manifest = {
        "apiVersion": "trainingbot.dev/v1alpha1",
        "kind": "TrainingBot",
        "metadata": {"name": "invalid"},
        "spec": {**fast_spec(), **overrides},
    }
    result = kube.kubectl(
        "apply",
        "-n",
        cluster.namespace,
        "--validate=strict",
        "-f",
        "-",
        input=json.dumps(manifest),
        check=False,
    )
    assert result.returncode != 0, result.stdout
    if message is None:
        assert 'unknown field "spec.surprise"' in result.stderr
    else:
        assert message in result.stderr, result.stderr


def test_a_name_too_long_for_the_children_is_refused(cluster: Cluster, kube):
    manifest = {
        "apiVersion": "trainingbot.dev/v1alpha1",
        "kind": "TrainingBot",
        "metadata": {"name": "a" * 41},
        "spec": fast_spec(),
    }
    result = kube.kubectl(
        "apply", "-n", cluster.namespace, "-f", "-", input=json.dumps(manifest), check=False
    )
    assert result.returncode != 0
    assert "metadata.name must be at most 40 characters" in result.stderr


def test_the_operator_account_has_no_more_than_it_needs(
    cluster: Cluster, kube, operator_kubeconfig
):
    account = f"system:serviceaccount:{cluster.namespace}:trainingbot-operator"

    def can(*args: str) -> bool:
        out = kube.kubectl(
            "auth", "can-i", *args, "-n", cluster.namespace, "--as", account, check=False
        )
        return out.stdout.strip() == "yes"

    assert can("patch", "deployments.apps")
    assert can("create", "jobs.batch")
    assert can("get", "pods", "--subresource=log")
    for verb, resource in (
        ("delete", "deployments.apps"),
        ("delete", "secrets"),
        ("create", "secrets"),
        ("update", "secrets"),
        ("delete", "jobs.batch"),
        ("create", "pods"),
        ("create", "pods/exec"),
        ("delete", "trainingbots"),
        ("create", "roles.rbac.authorization.k8s.io"),
    ):
        assert not can(verb, resource), f"the operator may {verb} {resource}"
    other = kube.kubectl(
        "auth", "can-i", "list", "secrets", "-n", "default", "--as", account, check=False
    )
    assert other.stdout.strip() == "no"  # namespaced mode: nothing outside its namespaces
