"""The bot's PodDisruptionBudget: a drain never takes more than one pod at a time."""

from __future__ import annotations

from typing import Any

from trainingbot_operator import naming
from trainingbot_operator.models import TrainingBotSpec
from trainingbot_operator.specs import common
from trainingbot_operator.specs.common import Owner


def wants_pod_disruption_budget(spec: TrainingBotSpec) -> bool:
    """Only with more than one pod: a budget over a single pod would block every drain."""
    return spec.effective_replicas > 1


def build_pod_disruption_budget(*, owner: Owner) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": common.metadata(
            naming.pod_disruption_budget(owner.name),
            owner,
            naming.common_labels(owner.name, naming.COMPONENT_BOT),
        ),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": naming.selector_labels(owner.name)},
        },
    }
