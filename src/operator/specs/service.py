"""The bot's Services: operations (health, readiness, metrics) and the webhook listener."""

from __future__ import annotations

from typing import Any

from trainingbot_operator import naming
from trainingbot_operator.specs import common
from trainingbot_operator.specs.common import Owner


def _service(owner: Owner, name: str, component: str, port: dict[str, Any]) -> dict[str, Any]:
    labels = naming.common_labels(owner.name, component)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": common.metadata(name, owner, labels),
        "spec": {
            "type": "ClusterIP",
            "selector": naming.selector_labels(owner.name),
            "ports": [port],
        },
    }


def build_metrics_service(*, owner: Owner) -> dict[str, Any]:
    """`<bot>-metrics`: what the ServiceMonitor scrapes and the smoke test checks."""
    port = {"name": "http", "port": common.HTTP_PORT, "targetPort": "http", "protocol": "TCP"}
    return _service(owner, naming.metrics_service(owner.name), naming.COMPONENT_METRICS, port)


def build_webhook_service(*, owner: Owner) -> dict[str, Any]:
    """`<bot>-webhook`: where an Ingress sends Telegram's updates (webhook mode only)."""
    port = {
        "name": "webhook",
        "port": common.WEBHOOK_PORT,
        "targetPort": "webhook",
        "protocol": "TCP",
    }
    return _service(owner, naming.webhook_service(owner.name), naming.COMPONENT_WEBHOOK, port)
