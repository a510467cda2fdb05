"""The operator's permissions, exactly what it uses: the Helm chart renders its RBAC from here.

`NAMESPACED_RULES` are needed in every namespace the operator watches (a Role per namespace
with `--namespace`, or a ClusterRole bound cluster-wide with `--all-namespaces`).
`CLUSTER_RULES` are cluster-scoped resources and always need a ClusterRole; which of them apply
depends on the mode (`cluster_rules(clusterwide=...)`). The cluster tests run the operator with
a ServiceAccount bound to exactly these rules.
"""

from __future__ import annotations

from typing import Any

PolicyRule = dict[str, Any]


def _rule(group: str, resources: list[str], verbs: list[str]) -> PolicyRule:
    return {"apiGroups": [group], "resources": resources, "verbs": verbs}


NAMESPACED_RULES: list[PolicyRule] = [
    # The TrainingBots: kopf watches them and writes its finalizer and annotations; the
    # operator writes the status. Children's ownerReferences set blockOwnerDeletion, which
    # needs update on the owner's finalizers subresource.
    _rule("trainingbot.dev", ["trainingbots"], ["get", "list", "watch", "patch"]),
    _rule("trainingbot.dev", ["trainingbots/status"], ["patch"]),
    _rule("trainingbot.dev", ["trainingbots/finalizers"], ["update"]),
    # Children, server-side applied (patch; create when absent) and removed when not wanted.
    _rule("", ["serviceaccounts"], ["create", "patch"]),
    _rule("", ["services"], ["create", "patch", "delete"]),
    _rule("apps", ["deployments"], ["get", "list", "watch", "create", "patch"]),
    _rule("batch", ["jobs"], ["get", "list", "watch", "create"]),
    _rule("policy", ["poddisruptionbudgets"], ["create", "patch", "delete"]),
    _rule(
        "monitoring.coreos.com",
        ["servicemonitors", "prometheusrules"],
        ["create", "patch", "delete"],
    ),
    # Crash loops and restarts of the bot's pods; the log tail of a failed Job's pod.
    _rule("", ["pods"], ["list"]),
    _rule("", ["pods/log"], ["get"]),
    # Credential rotation: the checksum of referenced Secrets and the content ConfigMap, and
    # their watch events.
    _rule("", ["secrets", "configmaps"], ["get", "list", "watch"]),
    # Events about each step of a rollout (kopf posts core/v1 Events).
    _rule("", ["events"], ["create"]),
    # kopf's peering in the watched namespaces (--namespace mode).
    _rule("kopf.dev", ["kopfpeerings"], ["get", "list", "watch", "patch"]),
]

#: kopf discovers CRDs and follows them appearing and changing (its "scanning").
CRD_RULES: list[PolicyRule] = [
    _rule("apiextensions.k8s.io", ["customresourcedefinitions"], ["list", "watch"]),
]
#: kopf lists namespaces to serve namespace patterns and follow new namespaces.
NAMESPACE_RULES: list[PolicyRule] = [_rule("", ["namespaces"], ["list", "watch"])]
#: kopf's peering across the cluster (--all-namespaces mode).
CLUSTER_PEERING_RULES: list[PolicyRule] = [
    _rule("kopf.dev", ["clusterkopfpeerings"], ["get", "list", "watch", "patch"]),
]
CLUSTER_RULES: list[PolicyRule] = [*CRD_RULES, *NAMESPACE_RULES, *CLUSTER_PEERING_RULES]

#: Everything, for a reader or a chart that installs the operator cluster-wide.
OPERATOR_RULES: list[PolicyRule] = [*NAMESPACED_RULES, *CLUSTER_RULES]


def cluster_rules(*, clusterwide: bool) -> list[PolicyRule]:
    """The cluster-scoped rules the operator needs in one mode."""
    if clusterwide:
        return [*CRD_RULES, *NAMESPACE_RULES, *CLUSTER_PEERING_RULES]
    return [*CRD_RULES, *NAMESPACE_RULES]
