"""The bot's ServiceAccount: the bot never talks to the Kubernetes API, so no token is mounted."""

from __future__ import annotations

from typing import Any

from trainingbot_operator import naming
from trainingbot_operator.specs import common
from trainingbot_operator.specs.common import Owner


def build_service_account(*, owner: Owner) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": common.metadata(
            naming.service_account(owner.name),
            owner,
            naming.common_labels(owner.name, naming.COMPONENT_BOT),
        ),
        "automountServiceAccountToken": False,
    }
