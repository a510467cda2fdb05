"""The PrometheusRule of one bot: the runbook's alerts (`alerts.py`), scoped to this bot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trainingbot_operator import naming
from trainingbot_operator.alerts import prometheus_rule_groups, trainingbot_labels
from trainingbot_operator.models import TrainingBotSpec
from trainingbot_operator.specs import common
from trainingbot_operator.specs.common import Owner

API_VERSION = "monitoring.coreos.com/v1"

RuleGroupsFn = Callable[..., list[dict[str, Any]]]


def build_prometheus_rule(
    *,
    owner: Owner,
    spec: TrainingBotSpec,
    groups_fn: RuleGroupsFn = prometheus_rule_groups,
) -> dict[str, Any]:
    """Rules whose expressions select this bot's series: its namespace and metrics Service.

    The operator's own health rules (down, watch stale) are left to the operator's
    installation: one copy per bot would page once per bot for one operator.
    """
    settings = spec.monitoring.prometheus_rule
    groups = groups_fn(
        selector={"namespace": owner.namespace, "service": naming.metrics_service(owner.name)},
        trainingbot=trainingbot_labels(owner.namespace, owner.name),
        error_rate_threshold=settings.error_rate_threshold,
        runbook_base_url=settings.runbook_base_url,
        latency_p95_slo_seconds=settings.latency_p95_slo_seconds,
        memory_limit_bytes=common.quantity_bytes(spec.resources.limits.get("memory")),
        include_operator_health=False,
    )
    labels = {**settings.labels, **naming.common_labels(owner.name, naming.COMPONENT_MONITORING)}
    return {
        "apiVersion": API_VERSION,
        "kind": "PrometheusRule",
        "metadata": common.metadata(naming.prometheus_rule(owner.name), owner, labels),
        "spec": {"groups": groups},
    }
