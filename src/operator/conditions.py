"""Status conditions, Kubernetes style: one entry per type, transition time kept while unchanged."""

from __future__ import annotations

from collections.abc import Iterable

from trainingbot_operator.models import Condition

READY = "Ready"
MIGRATED = "Migrated"
PROGRESSING = "Progressing"
ROLLED_BACK = "RolledBack"
MONITORING_AVAILABLE = "MonitoringAvailable"

#: The order conditions are listed in, whatever order they were set in.
ORDER = (READY, MIGRATED, PROGRESSING, ROLLED_BACK, MONITORING_AVAILABLE)

TRUE = "True"
FALSE = "False"
UNKNOWN = "Unknown"


def set_condition(
    conditions: Iterable[Condition],
    type_: str,
    status: str,
    reason: str,
    message: str,
    *,
    now: str,
    generation: int,
) -> tuple[Condition, ...]:
    """The conditions with `type_` set; lastTransitionTime moves only when the status does."""
    existing = {c.type: c for c in conditions}
    previous = existing.get(type_)
    transition = (
        previous.last_transition_time
        if previous is not None and previous.status == status and previous.last_transition_time
        else now
    )
    existing[type_] = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=transition,
        observed_generation=generation,
    )
    ordered = [existing.pop(t) for t in ORDER if t in existing]
    return (*ordered, *existing.values())
