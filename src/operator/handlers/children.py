"""Changes of the operator's Deployments and Jobs wake their TrainingBot's loop."""

from __future__ import annotations

from typing import Any

import kopf

from trainingbot_operator import naming

MANAGED = {naming.LABEL_MANAGED_BY: naming.MANAGED_BY}


@kopf.on.event("apps", "v1", "deployments", labels=MANAGED, id="deployment")
async def on_deployment_event(
    namespace: str, labels: kopf.Labels, memo: kopf.Memo, **_: Any
) -> None:
    _wake_owner(memo, namespace, labels)


@kopf.on.event("batch", "v1", "jobs", labels=MANAGED, id="job")
async def on_job_event(namespace: str, labels: kopf.Labels, memo: kopf.Memo, **_: Any) -> None:
    _wake_owner(memo, namespace, labels)


def _wake_owner(memo: kopf.Memo, namespace: str, labels: kopf.Labels) -> None:
    owner = naming.owner_of(dict(labels))
    if owner:
        memo.runtime.wake(namespace, owner)
