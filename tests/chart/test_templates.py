"""The chart's important branches, rendered with `helm template` and read with PyYAML."""

from __future__ import annotations

import json

import pytest

from trainingbot_operator import rbac
from trainingbot_operator.main import build_parser

from tests.chart.conftest import (
    CHART,
    CI_VALUES,
    NAMESPACE,
    RELEASE,
    bot_values,
    find,
    load_yaml,
    one,
    render,
)

APP_VERSION = load_yaml(CHART / "Chart.yaml")["appVersion"]
OPERATOR = f"{RELEASE}-telegram-training-bot-operator"
LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/version",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)


def operator_container(docs):
    deployment = one(docs, "Deployment", OPERATOR)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


# -- RBAC: exactly trainingbot_operator.rbac ------------------------------------------------


def test_by_default_the_operator_watches_the_release_namespace_with_a_role(default_docs):
    role = one(default_docs, "Role", OPERATOR, NAMESPACE)
    assert role["rules"] == rbac.NAMESPACED_RULES
    binding = one(default_docs, "RoleBinding", OPERATOR, NAMESPACE)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": OPERATOR,
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": OPERATOR, "namespace": NAMESPACE}
    ]
    # kopf's scans of CRDs and namespaces are cluster-scoped: read-only, nothing else.
    (cluster_role,) = find(default_docs, "ClusterRole")
    assert cluster_role["rules"] == rbac.cluster_rules(clusterwide=False)
    assert all(set(rule["verbs"]) <= {"list", "watch"} for rule in cluster_role["rules"])
    (cluster_binding,) = find(default_docs, "ClusterRoleBinding")
    assert cluster_binding["roleRef"]["name"] == cluster_role["metadata"]["name"]
    assert cluster_binding["subjects"] == binding["subjects"]
    args = operator_container(default_docs)["args"]
    assert f"--namespace={NAMESPACE}" in args
    assert "--all-namespaces" not in args


def test_cluster_wide_has_one_cluster_role_with_every_rule_and_no_roles():
    docs = render({"operator": {"clusterWide": True}})
    (cluster_role,) = find(docs, "ClusterRole")
    assert cluster_role["rules"] == rbac.OPERATOR_RULES
    assert not find(docs, "Role")
    assert not find(docs, "RoleBinding")
    (binding,) = find(docs, "ClusterRoleBinding")
    assert binding["subjects"][0]["name"] == OPERATOR
    assert "--all-namespaces" in operator_container(docs)["args"]
    assert one(docs, "ClusterKopfPeering", "trainingbot-operator")
    assert not find(docs, "KopfPeering")


def test_each_watched_namespace_gets_a_role_a_binding_and_a_peering():
    namespaces = ["team-a", "team-b"]
    docs = render({"operator": {"watchNamespaces": namespaces}})
    for ns in namespaces:
        assert one(docs, "Role", OPERATOR, ns)["rules"] == rbac.NAMESPACED_RULES
        binding = one(docs, "RoleBinding", OPERATOR, ns)
        # The account lives in the release namespace, whatever namespace it watches.
        assert binding["subjects"][0]["namespace"] == NAMESPACE
        assert one(docs, "KopfPeering", "trainingbot-operator", ns)
    assert not find(docs, "Role", namespace=NAMESPACE)
    args = operator_container(docs)["args"]
    assert [a for a in args if a.startswith("--namespace=")] == [
        "--namespace=team-a",
        "--namespace=team-b",
    ]


def test_two_releases_in_two_namespaces_do_not_share_cluster_roles():
    first = one(render(namespace="a"), "ClusterRole")["metadata"]["name"]
    second = one(render(namespace="b"), "ClusterRole")["metadata"]["name"]
    assert first != second


def test_rbac_and_service_account_can_be_left_to_someone_else():
    docs = render(
        {
            "operator": {
                "rbac": {"create": False},
                "serviceAccount": {"create": False, "name": "ops"},
            }
        }
    )
    for kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "ServiceAccount"):
        assert not find(docs, kind), kind
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "ops"


# -- the operator's Deployment ----------------------------------------------------------------


@pytest.mark.parametrize("values", [None, *CI_VALUES], ids=lambda p: p.name if p else "default")
def test_the_operator_command_line_is_one_the_operator_accepts(values):
    docs = render(files=[values] if values else [])
    for deployment in find(docs, "Deployment"):
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["training-bot-operator"]
        # argparse exits on an unknown or conflicting option: the CLI's own parser decides.
        args = build_parser().parse_args(container["args"])
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert args.metrics_port == ports["metrics"]
        assert args.health_port == ports["health"]


def test_the_operator_pod_meets_the_restricted_pod_security_standard(default_docs):
    pod = one(default_docs, "Deployment", OPERATOR)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    # The read-only root filesystem needs a writable /tmp.
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["requests"]["memory"]
    assert container["resources"]["limits"]["memory"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert pod["automountServiceAccountToken"] is True  # it talks to the API server
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


def test_the_default_image_is_the_charts_app_version(default_docs):
    assert operator_container(default_docs)["image"] == f"telegram-training-bot:{APP_VERSION}"


def test_a_digest_pins_the_image_and_a_registry_prefixes_it():
    digest = "sha256:" + "ab" * 32
    docs = render(
        {
            "image": {
                "registry": "registry.example.org:5000",
                "repository": "t/bot",
                "tag": "1.2.3",
                "digest": digest,
            }
        }
    )
    assert operator_container(docs)["image"] == f"registry.example.org:5000/t/bot@{digest}"
    docs = render({"image": {"tag": "1.2.3"}})
    assert operator_container(docs)["image"] == "telegram-training-bot:1.2.3"


def test_peering_is_on_by_default_and_standalone_when_off(default_docs):
    args = operator_container(default_docs)["args"]
    assert "--peering=trainingbot-operator" in args
    assert "--priority=100" in args
    assert one(default_docs, "KopfPeering", "trainingbot-operator", NAMESPACE)
    docs = render({"operator": {"peering": {"enabled": False, "name": "x"}}})
    assert "--standalone" in operator_container(docs)["args"]
    assert not find(docs, "KopfPeering")


def test_the_metrics_service_selects_the_operator_pods(default_docs):
    service = one(default_docs, "Service", OPERATOR)
    pod_labels = one(default_docs, "Deployment", OPERATOR)["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}
    ]
    assert not find(default_docs, "ServiceMonitor")
    docs = render({"operator": {"metrics": {"port": 8080, "service": {"enabled": False}}}})
    assert not find(docs, "Service")


def test_the_service_monitor_scrapes_the_metrics_service():
    docs = render(
        {
            "operator": {
                "serviceMonitor": {"enabled": True, "labels": {"release": "p"}, "interval": "15s"}
            }
        }
    )
    monitor = one(docs, "ServiceMonitor", OPERATOR)
    service = one(docs, "Service", OPERATOR)
    assert monitor["metadata"]["labels"]["release"] == "p"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics"
    assert endpoint["interval"] == "15s"


def test_without_the_operator_only_the_bots_and_their_cleanup_hook_are_rendered():
    docs = render(files=[CHART / "ci" / "bots-only-values.yaml"])
    plain = [d for d in docs if "helm.sh/hook" not in d["metadata"].get("annotations", {})]
    assert {d["kind"] for d in plain} == {"TrainingBot"}


# -- the pre-delete hook ----------------------------------------------------------------------


def hooks(docs):
    return [d for d in docs if d["metadata"].get("annotations", {}).get("helm.sh/hook")]


def test_no_bots_no_cleanup_hook(default_docs):
    assert not hooks(default_docs)
    assert not hooks(
        render({"bots": [bot_values()], "cleanup": {"enabled": False, "timeoutSeconds": 1}})
    )


def test_the_cleanup_hook_deletes_exactly_the_releases_bots_before_anything_else():
    other = {**bot_values("b"), "namespace": "team-b"}
    docs = render(
        {"operator": {"watchNamespaces": [NAMESPACE, "team-b"]}, "bots": [bot_values("a"), other]}
    )
    found = hooks(docs)
    assert {d["metadata"]["annotations"]["helm.sh/hook"] for d in found} == {"pre-delete"}
    job = one(found, "Job")
    account = one(found, "ServiceAccount")
    # The account and its permissions exist before the Job runs (lower weight).
    assert int(account["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"]
    )
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["metadata"]["name"]
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert json.loads(env["TRAININGBOTS"]) == [
        {"namespace": NAMESPACE, "name": "a"},
        {"namespace": "team-b", "name": "b"},
    ]
    assert env["FINALIZER"] == "trainingbot.dev/finalizer"
    assert container["command"] == ["python3", "-c"]
    assert container["args"] == [(CHART / "files" / "cleanup.py").read_text()]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # Only what it needs, only where the bots are.
    for ns in (NAMESPACE, "team-b"):
        role = one(found, "Role", namespace=ns)
        assert role["rules"] == [
            {
                "apiGroups": ["trainingbot.dev"],
                "resources": ["trainingbots"],
                "verbs": ["get", "delete", "patch"],
            }
        ]
        assert one(found, "RoleBinding", namespace=ns)["subjects"][0]["namespace"] == NAMESPACE
    assert len(find(found, "Role")) == 2


def test_the_finalizer_the_hook_removes_is_the_operators():
    import kopf

    from trainingbot_operator.settings import configure

    settings = kopf.OperatorSettings()
    configure(settings)
    docs = render({"bots": [bot_values()]})
    (container,) = one(hooks(docs), "Job")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["FINALIZER"] == settings.persistence.finalizer


# -- labels and annotations -------------------------------------------------------------------


@pytest.mark.parametrize("values", [None, *CI_VALUES], ids=lambda p: p.name if p else "default")
def test_every_resource_carries_the_app_kubernetes_io_labels(values):
    for doc in render(files=[values] if values else []):
        labels = doc["metadata"].get("labels", {})
        missing = [label for label in LABELS if label not in labels]
        assert not missing, f"{doc['kind']} {doc['metadata']['name']} lacks {missing}"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/instance"] == RELEASE


def test_common_labels_and_annotations_reach_every_resource():
    docs = render(
        {
            "commonLabels": {"cost": "p"},
            "commonAnnotations": {"contact": "x"},
            "bots": [bot_values()],
        }
    )
    for doc in docs:
        assert doc["metadata"]["labels"]["cost"] == "p"
        assert doc["metadata"]["annotations"]["contact"] == "x"


# -- bots from values -------------------------------------------------------------------------


def test_a_bot_gets_the_charts_image_and_its_courses_configmap():
    docs = render({"bots": [bot_values("oncall")]})
    bot = one(docs, "TrainingBot", "oncall", NAMESPACE)
    assert bot["apiVersion"] == "trainingbot.dev/v1alpha1"
    assert bot["spec"]["image"] == f"telegram-training-bot:{APP_VERSION}"
    assert bot["spec"]["content"] == {"configMapName": "oncall-courses"}
    courses = one(docs, "ConfigMap", "oncall-courses", NAMESPACE)
    assert courses["data"] == {"c.course.yaml": "id: c\n"}
    # The rest of the spec goes through untouched.
    assert bot["spec"]["telegram"]["tokenSecretRef"] == {"name": "bot", "key": "token"}


def test_a_bot_keeps_its_own_image_namespace_and_configmap():
    values = bot_values(
        "compliance", image="registry.example.org/bot:2.0.0", content={"configMapName": "existing"}
    )
    del values["courses"]
    values.update(namespace="team-b", labels={"team": "c"}, annotations={"owner": "o"})
    docs = render({"operator": {"watchNamespaces": ["team-b"]}, "bots": [values]})
    bot = one(docs, "TrainingBot", "compliance", "team-b")
    assert bot["spec"]["image"] == "registry.example.org/bot:2.0.0"
    assert bot["spec"]["content"] == {"configMapName": "existing"}
    assert bot["metadata"]["labels"]["team"] == "c"
    assert bot["metadata"]["annotations"] == {"owner": "o"}
    assert not find(docs, "ConfigMap")


def test_the_bots_follow_image_tag_changes_unless_they_pin_one():
    docs = render({"image": {"tag": "9.9.9"}, "bots": [bot_values("a")]})
    assert one(docs, "TrainingBot", "a")["spec"]["image"] == "telegram-training-bot:9.9.9"


def test_every_helper_has_a_doc_comment():
    import re

    for path in sorted((CHART / "templates").glob("_*.tpl")):
        text = path.read_text()
        for match in re.finditer(r'\{\{-? define "([^"]+)" -?\}\}', text):
            before = text[: match.start()].rstrip()
            assert before.endswith("*/}}"), f"{path.name}: {match[1]} has no doc comment"
            comment = before[before.rfind("{{/*") :]
            assert match[1] in comment, f"{path.name}: the comment above {match[1]} is not its own"
