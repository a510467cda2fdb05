"""The operator's own metrics, `trainingbot_operator_*`, served on `--metrics-port`.

Names and labels are the contract `alerts.py` builds its rules on (`alerts.OPERATOR_METRICS`):
per-TrainingBot counters carry `trainingbot_namespace` and `trainingbot_name` (not `namespace`,
which Prometheus sets to the scraped pod's own namespace), `result` is `succeeded` or `failed`,
and rollbacks carry a `reason` (`progress-deadline`, `crash-loop`, `smoke-test`,
`monitor-window`, `manual`).
"""

from __future__ import annotations

import contextlib
import threading
import time

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, start_http_server

from trainingbot_operator.alerts import TRAININGBOT_NAME_LABEL, TRAININGBOT_NAMESPACE_LABEL

_PER_BOT = (TRAININGBOT_NAMESPACE_LABEL, TRAININGBOT_NAME_LABEL)

RECONCILES = Counter(
    "trainingbot_operator_reconciles_total",
    "Reconciliations of a TrainingBot, by result.",
    [*_PER_BOT, "result"],
)
ROLLOUTS = Counter(
    "trainingbot_operator_rollouts_total",
    "Rollouts of a new image that finished: succeeded (now stable) or failed.",
    [*_PER_BOT, "result"],
)
ROLLBACKS = Counter(
    "trainingbot_operator_rollbacks_total",
    "Rollbacks: automatic ones by what failed, and manual ones (reason manual) detected.",
    [*_PER_BOT, "reason"],
)
MIGRATIONS = Counter(
    "trainingbot_operator_migrations_total",
    "Migration Jobs that finished, by result.",
    [*_PER_BOT, "result"],
)
WATCH_EVENT_AGE = Gauge(
    "trainingbot_operator_watch_event_age_seconds",
    "Seconds since the operator last received a TrainingBot watch event, or last found that no "
    "TrainingBot exists where it serves. Each TrainingBot's periodic resync writes "
    "status.lastSyncTime, so a healthy watch delivers an event at least once per resync "
    "interval.",
)
PHASE = Gauge(
    "trainingbot_operator_trainingbot_phase",
    "1 for the phase each TrainingBot is in (status.phase).",
    [*_PER_BOT, "phase"],
)

COUNTERS = {"rollouts": ROLLOUTS, "rollbacks": ROLLBACKS, "migrations": MIGRATIONS}


class _WatchClock:
    """When the last TrainingBot watch event arrived (the operator's start counts as one, and
    so does finding no TrainingBot at all: `watchdog`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = time.monotonic()

    def touch(self) -> None:
        with self._lock:
            self._last = time.monotonic()

    def age(self) -> float:
        with self._lock:
            return time.monotonic() - self._last


WATCH_CLOCK = _WatchClock()
WATCH_EVENT_AGE.set_function(WATCH_CLOCK.age)


def count(metric: str, namespace: str, name: str, label: str) -> None:
    COUNTERS[metric].labels(namespace, name, label).inc()


def reconciled(namespace: str, name: str, *, ok: bool) -> None:
    RECONCILES.labels(namespace, name, "succeeded" if ok else "failed").inc()


def set_phase(namespace: str, name: str, phase: str | None, previous: str | None) -> None:
    if previous and previous != phase:
        _remove(PHASE, namespace, name, previous)
    if phase:
        PHASE.labels(namespace, name, phase).set(1)


def forget(namespace: str, name: str) -> None:
    """Drop a deleted TrainingBot's phase series (its counters keep their history)."""
    for labels in list(_series(PHASE)):
        if labels[:2] == (namespace, name):
            _remove(PHASE, *labels)


def _series(gauge: Gauge) -> list[tuple[str, ...]]:
    return list(gauge._metrics.keys())  # prometheus_client has no public listing of children


def _remove(gauge: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        gauge.remove(*labels)


def serve(port: int, registry: CollectorRegistry = REGISTRY) -> None:
    """Serve /metrics on every interface (the Pod's IP) in a daemon thread."""
    start_http_server(port, registry=registry)
