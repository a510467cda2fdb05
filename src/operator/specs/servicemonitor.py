"""The ServiceMonitor (Prometheus Operator) that scrapes the bot's operations Service."""

from __future__ import annotations

from typing import Any

from trainingbot_operator import naming
from trainingbot_operator.models import TrainingBotSpec
from trainingbot_operator.specs import common
from trainingbot_operator.specs.common import Owner

API_VERSION = "monitoring.coreos.com/v1"


def build_service_monitor(*, owner: Owner, spec: TrainingBotSpec) -> dict[str, Any]:
    settings = spec.monitoring.service_monitor
    labels = {**settings.labels, **naming.common_labels(owner.name, naming.COMPONENT_MONITORING)}
    return {
        "apiVersion": API_VERSION,
        "kind": "ServiceMonitor",
        "metadata": common.metadata(naming.service_monitor(owner.name), owner, labels),
        "spec": {
            "selector": {
                "matchLabels": naming.selector_labels(owner.name, naming.COMPONENT_METRICS)
            },
            "namespaceSelector": {"matchNames": [owner.namespace]},
            "endpoints": [
                {
                    "port": "http",
                    "path": "/metrics",
                    "interval": settings.interval,
                    "scheme": "http",
                }
            ],
        },
    }
