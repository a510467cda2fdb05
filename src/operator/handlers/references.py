"""Credential rotation: a change in a Secret or ConfigMap a TrainingBot references wakes it.

The reconciler then computes the new checksum of what the pods read; the changed annotation on
the pod template rolls the pods.
"""

from __future__ import annotations

from typing import Any

import kopf
from pydantic import ValidationError

from trainingbot_operator.models import GROUP, PLURAL, VERSION, parse_spec


@kopf.index(GROUP, VERSION, PLURAL, id="references")
def references(namespace: str, name: str, spec: kopf.Spec, **_: Any) -> dict[Any, str]:
    """(namespace, kind, object name) -> the TrainingBots that read it."""
    try:
        parsed = parse_spec(spec)
    except ValidationError:
        return {}
    keys = {(namespace, "Secret", ref.name) for ref in parsed.secret_refs()}
    keys |= {(namespace, "ConfigMap", cm) for cm in parsed.config_map_names()}
    return {key: name for key in keys}


@kopf.on.event("", "v1", "secrets", id="secret")
async def on_secret_event(
    namespace: str, name: str, memo: kopf.Memo, references: kopf.Index, **_: Any
) -> None:
    for bot in references.get((namespace, "Secret", name), []):
        memo.runtime.wake(namespace, bot)


@kopf.on.event("", "v1", "configmaps", id="configmap")
async def on_config_map_event(
    namespace: str, name: str, memo: kopf.Memo, references: kopf.Index, **_: Any
) -> None:
    for bot in references.get((namespace, "ConfigMap", name), []):
        memo.runtime.wake(namespace, bot)
