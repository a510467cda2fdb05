"""Builders of specs, statuses and observed states for the operator's unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from trainingbot_operator import naming
from trainingbot_operator.models import (
    MigrationPhase,
    MigrationRecord,
    RolloutRecord,
    RolloutStep,
    TrainingBotSpec,
    TrainingBotStatus,
    dump_spec,
    parse_spec,
)
from trainingbot_operator.rollout import (
    DeploymentView,
    JobView,
    MonitoringView,
    Observed,
    PodView,
    iso,
)
from trainingbot_operator.specs.common import Owner

from tests.support.specs import webhook_connections

NAME = "oncall"
NAMESPACE = "team-a"
OLD = "example.org/telegram-training-bot:1.2.0"
NEW = "example.org/telegram-training-bot:1.3.0"
NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)

OWNER = Owner(
    api_version="trainingbot.dev/v1alpha1",
    kind="TrainingBot",
    name=NAME,
    uid="0b7c5e1e-0000-4000-8000-000000000001",
    namespace=NAMESPACE,
)


def spec_dict(**overrides: Any) -> dict[str, Any]:
    """A valid webhook-mode spec as a user would write it; keys are merged shallowly."""
    spec: dict[str, Any] = {
        "image": NEW,
        **webhook_connections(
            database_secret="bot-db", database_key="url", redis_secret="bot-redis", redis_key="url"
        ),
        "content": {"configMapName": "onboarding-courses"},
        "adminIds": [12345, 67890],
    }
    spec.update(overrides)
    return spec


def spec(**overrides: Any) -> TrainingBotSpec:
    return parse_spec(spec_dict(**overrides))


def deployment(
    image: str = OLD,
    *,
    changed_by_someone: bool = False,
    desired: int = 2,
    ready: int | None = None,
    updated: int | None = None,
    replicas: int | None = None,
    available: int | None = None,
    generation: int = 3,
    observed_generation: int | None = None,
    deadline_exceeded: bool = False,
) -> DeploymentView:
    ready = desired if ready is None else ready
    return DeploymentView(
        name=NAME,
        image=image,
        owns_image=not changed_by_someone,
        generation=generation,
        observed_generation=generation if observed_generation is None else observed_generation,
        desired=desired,
        replicas=desired if replicas is None else replicas,
        updated=desired if updated is None else updated,
        ready=ready,
        available=ready if available is None else available,
        progress_deadline_exceeded=deadline_exceeded,
    )


def job(
    name: str, *, image: str = NEW, state: str = "running", reason: str = "", message: str = ""
) -> JobView:
    return JobView(
        name=name,
        image=image,
        active=1 if state == "running" else 0,
        succeeded=state == "succeeded",
        failed=state == "failed",
        reason=reason or ("BackoffLimitExceeded" if state == "failed" else ""),
        message=message
        or ("Job has reached the specified backoff limit" if state == "failed" else ""),
    )


def pod(
    name: str = "oncall-abc",
    *,
    image: str = NEW,
    ready: bool = True,
    restarts: int = 0,
    waiting: str | None = None,
) -> PodView:
    return PodView(name=name, image=image, ready=ready, restarts=restarts, waiting_reason=waiting)


def migration(
    image: str = NEW, *, phase: MigrationPhase = MigrationPhase.RUNNING, generation: int = 1
) -> MigrationRecord:
    return MigrationRecord(
        image=image,
        job=naming.migration_job(NAME, image, generation),
        phase=phase,
        generation=generation,
        started_at=iso(NOW - timedelta(minutes=1)),
    )


def rollout_record(
    image: str = NEW,
    step: RolloutStep = RolloutStep.PROGRESSING,
    *,
    generation: int = 1,
    **extra: Any,
) -> RolloutRecord:
    return RolloutRecord(
        image=image,
        step=step,
        generation=generation,
        started_at=iso(NOW - timedelta(seconds=30)),
        **extra,
    )


def stable_status(image: str = OLD, **updates: Any) -> TrainingBotStatus:
    """The status of a bot that runs `image` as its stable, Ready release."""
    values: dict[str, Any] = {
        "phase": "Ready",
        "observed_generation": 1,
        "image": image,
        "stable_image": image,
        "stable_spec": dump_spec(spec(image=image)),
        "migration": migration(image, phase=MigrationPhase.SUCCEEDED),
        "rollout": rollout_record(image, RolloutStep.COMPLETE),
    }
    values.update(updates)
    return TrainingBotStatus(**values)


def observed(
    *,
    spec_: TrainingBotSpec | None = None,
    status: TrainingBotStatus | None = None,
    generation: int = 1,
    now: datetime = NOW,
    **fields: Any,
) -> Observed:
    return Observed(
        name=NAME,
        namespace=NAMESPACE,
        generation=generation,
        spec=spec_ if spec_ is not None else spec(),
        status=status if status is not None else TrainingBotStatus(),
        now=now,
        **fields,
    )


def served(service_monitor: bool = True, prometheus_rule: bool = True) -> MonitoringView:
    return MonitoringView(service_monitor, prometheus_rule)
