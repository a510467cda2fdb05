"""Typed views of a TrainingBot: its spec (defaults mirror the CRD) and its status.

The CRD (`crds/trainingbots.trainingbot.dev.yaml`) is what the API server enforces; these models
parse what it stored, fill the same defaults (a test compares both), and give the rest of the
operator attributes instead of nested dict lookups. Parsing is lenient about unknown keys: the API
server prunes them already, and a newer CRD must not break an older operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "trainingbot.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "TrainingBot"
PLURAL = "trainingbots"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class Mode(StrEnum):
    WEBHOOK = "webhook"
    POLLING = "polling"


class SecretKeyRef(_Model):
    name: str
    key: str


class Webhook(_Model):
    url: str
    secret_token_secret_ref: SecretKeyRef


class Telegram(_Model):
    token_secret_ref: SecretKeyRef
    api_base_url: str = ""
    webhook: Webhook | None = None


class Database(_Model):
    url_secret_ref: SecretKeyRef


class Sentinel(_Model):
    hosts: tuple[str, ...]
    master_name: str = "mymaster"
    password_secret_ref: SecretKeyRef | None = None


class Redis(_Model):
    url_secret_ref: SecretKeyRef | None = None
    password_secret_ref: SecretKeyRef | None = None
    sentinel: Sentinel | None = None


class Content(_Model):
    config_map_name: str


class Resources(_Model):
    requests: dict[str, str | int] = Field(default_factory=dict)
    limits: dict[str, str | int] = Field(default_factory=dict)


DEFAULT_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}


class Backup(_Model):
    enabled: bool = False
    persistent_volume_claim_name: str | None = None


class Migrations(_Model):
    enabled: bool = True
    # The runbook's budget for "backup, then alembic upgrade head".
    timeout_seconds: int = 600
    backoff_limit: int = 1
    backup: Backup = Field(default_factory=Backup)


class Rollout(_Model):
    auto_rollback: bool = True
    progress_deadline_seconds: int = 300
    # The runbook's "Monitor for 15 minutes".
    monitor_seconds: int = 900
    smoke_test: bool = True
    smoke_test_timeout_seconds: int = 120


class ServiceMonitorSpec(_Model):
    enabled: bool = True
    interval: str = "30s"
    labels: dict[str, str] = Field(default_factory=dict)


DEFAULT_RUNBOOK_BASE_URL = "https://example.org/telegram-training-bot/docs/RUNBOOK.md"


class PrometheusRuleSpec(_Model):
    enabled: bool = True
    # The runbook's "Error rate > 5%".
    error_rate_threshold: float = 0.05
    latency_p95_slo_seconds: float = 1.0
    runbook_base_url: str = DEFAULT_RUNBOOK_BASE_URL
    labels: dict[str, str] = Field(default_factory=dict)


class Monitoring(_Model):
    service_monitor: ServiceMonitorSpec = Field(default_factory=ServiceMonitorSpec)
    prometheus_rule: PrometheusRuleSpec = Field(default_factory=PrometheusRuleSpec)


class TrainingBotSpec(_Model):
    image: str
    replicas: int = 2
    mode: Mode = Mode.WEBHOOK
    telegram: Telegram
    database: Database
    redis: Redis
    content: Content | None = None
    admin_ids: tuple[int, ...] = ()
    log_level: str = "INFO"
    pod_annotations: dict[str, str] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=lambda: Resources(**DEFAULT_RESOURCES))
    migrations: Migrations = Field(default_factory=Migrations)
    rollout: Rollout = Field(default_factory=Rollout)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    paused: bool = False

    @property
    def effective_replicas(self) -> int:
        """Two pollers would steal each other's updates: polling mode runs exactly one pod."""
        return 1 if self.mode is Mode.POLLING else self.replicas

    def secret_refs(self) -> list[SecretKeyRef]:
        """Every Secret key the bot's pods read, in a stable order (for the checksum)."""
        refs = [self.telegram.token_secret_ref, self.database.url_secret_ref]
        if self.telegram.webhook is not None:
            refs.append(self.telegram.webhook.secret_token_secret_ref)
        if self.redis.url_secret_ref is not None:
            refs.append(self.redis.url_secret_ref)
        if self.redis.password_secret_ref is not None:
            refs.append(self.redis.password_secret_ref)
        if self.redis.sentinel is not None and self.redis.sentinel.password_secret_ref:
            refs.append(self.redis.sentinel.password_secret_ref)
        return refs

    def config_map_names(self) -> list[str]:
        return [self.content.config_map_name] if self.content is not None else []


# --- status --------------------------------------------------------------------------------------


class Phase(StrEnum):
    PENDING = "Pending"
    MIGRATING = "Migrating"
    PROGRESSING = "Progressing"
    MONITORING = "Monitoring"
    READY = "Ready"
    DEGRADED = "Degraded"
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"
    FAILED = "Failed"
    PAUSED = "Paused"


class MigrationPhase(StrEnum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class RolloutStep(StrEnum):
    PROGRESSING = "Progressing"
    SMOKE_TESTING = "SmokeTesting"
    MONITORING = "Monitoring"
    COMPLETE = "Complete"
    ROLLING_BACK = "RollingBack"
    ROLLED_BACK = "RolledBack"
    FAILED = "Failed"


class MigrationRecord(_Model):
    """The latest migration Job the operator started (or adopted) and what became of it."""

    image: str
    job: str
    phase: MigrationPhase
    generation: int
    started_at: str | None = None
    completed_at: str | None = None
    message: str | None = None


class RolloutRecord(_Model):
    """The rollout of one image after its migration: which step it is at, since when."""

    image: str
    step: RolloutStep
    generation: int
    started_at: str
    smoke_job: str | None = None
    monitor_until: str | None = None
    restart_baseline: int | None = None
    reason: str | None = None
    message: str | None = None


class ManualRollbackRecord(_Model):
    """A person changed the Deployment's image; it stands while the spec's generation does."""

    image: str
    applied_image: str
    generation: int
    detected_at: str


class Condition(_Model):
    type: str
    status: str
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = None
    observed_generation: int | None = None


class TrainingBotStatus(_Model):
    phase: Phase | None = None
    message: str | None = None
    observed_generation: int | None = None
    image: str | None = None
    stable_image: str | None = None
    rejected_image: str | None = None
    ready: str | None = None
    replicas: int | None = None
    ready_replicas: int | None = None
    last_sync_time: str | None = None
    migration: MigrationRecord | None = None
    rollout: RolloutRecord | None = None
    manual_rollback: ManualRollbackRecord | None = None
    #: The spec (defaults filled) that made `stable_image` stable: a rollback renders it.
    stable_spec: dict[str, Any] | None = None
    conditions: tuple[Condition, ...] = ()

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    def to_dict(self) -> dict[str, Any]:
        """The status as the API stores it: camelCase, no unset fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def parse_spec(spec: Mapping[str, Any]) -> TrainingBotSpec:
    return TrainingBotSpec.model_validate(dict(spec))


def dump_spec(spec: TrainingBotSpec) -> dict[str, Any]:
    """The spec as the API spells it (camelCase), defaults included."""
    return spec.model_dump(by_alias=True, exclude_none=True, mode="json")


def stable_render_spec(status: TrainingBotStatus, current: TrainingBotSpec) -> TrainingBotSpec:
    """What a rolled-back Deployment runs: the last stable spec, scaled as the spec says now.

    A rollback restores the whole configuration that was proven together with the stable
    image (environment, annotations, resources), not the new one that may be what failed; the
    replica count stays an operational knob that takes effect at once.
    """
    if not status.stable_spec:
        return current
    stable = parse_spec(status.stable_spec)
    return stable.model_copy(update={"replicas": current.replicas, "paused": False})


def parse_status(status: Mapping[str, Any] | None) -> TrainingBotStatus:
    return TrainingBotStatus.model_validate(dict(status or {}))
