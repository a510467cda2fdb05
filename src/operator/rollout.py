"""Rollout decisions: pure functions of what the operator observed, returning what to do next.

`decide(observed)` looks at the TrainingBot (spec and status), its Deployment, its Jobs and its
pods at one moment and returns one `Decision`: the action taken this round (for logs and tests),
the image the Deployment must run (or None: leave it alone), a Job to create, the new status,
the Events to post and the metrics to count, and when to look again. The reconciler
(`reconciler.py`) executes it; all state lives in the TrainingBot's status and the Deployment's
annotations, so a restarted operator takes up exactly where the last one stopped.

The sequence for a new `spec.image` (the runbook's deployment and migration procedures):

    migration Job (backup, then migrate) -> only on success: Deployment gets the image
    -> rollout progress -> smoke-test Job -> monitor window -> stableImage, phase Ready

Any failure after the migration (progress deadline exceeded, crash loop, failed smoke test,
degraded in the monitor window) rolls the Deployment back to `stableImage` when
`spec.rollout.autoRollback` is on, and the image is remembered as `rejectedImage`. A person's
`kubectl rollout undo` is recorded and left standing until the spec changes again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from trainingbot_operator import conditions as cond
from trainingbot_operator import naming
from trainingbot_operator.models import (
    ManualRollbackRecord,
    MigrationPhase,
    MigrationRecord,
    Phase,
    RolloutRecord,
    RolloutStep,
    TrainingBotSpec,
    TrainingBotStatus,
    dump_spec,
)

# While something moves (a rollout, a Job) pods are polled this often: the crash loops and
# restarts that fail a rollout show on pods, which the operator does not watch.
POLL_SECONDS = 2.0
# In the monitor window, a look every few seconds catches restarts well before it ends.
MONITOR_POLL_SECONDS = 5.0
# Jobs report through watch events; this is only the fallback.
JOB_POLL_SECONDS = 5.0
# Log lines of a failed Job quoted in the condition message.
LOG_TAIL_LINES = 20
MESSAGE_LIMIT = 2000

CRASH_LOOP_REASONS = frozenset({"CrashLoopBackOff"})
PAUSED_MESSAGE = "spec.paused is true: the operator changes none of the bot's objects"


# --- observed state ------------------------------------------------------------------------------


def _int(value: Any) -> int:
    return int(value or 0)


#: The field manager of the operator's server-side applies (see k8s.FIELD_MANAGER).
FIELD_MANAGER = naming.MANAGED_BY
_BOT_IMAGE_PATH = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"bot"}')


def _owns_image(managed_fields: list[Mapping[str, Any]]) -> bool | None:
    """Whether the operator's Apply entry in `managedFields` owns the bot container's image.

    A rollback by `kubectl rollout undo` restores the template *and* the annotations of the old
    ReplicaSet, so no marker the operator writes into the object survives it; field ownership
    does: whoever changes the image last owns it.
    """
    entries = [
        m
        for m in managed_fields
        if m.get("manager") == FIELD_MANAGER and m.get("operation") == "Apply"
    ]
    if not entries:
        return None
    for entry in entries:
        node: Any = entry.get("fieldsV1") or {}
        for key in _BOT_IMAGE_PATH:
            node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and "f:image" in node:
            return True
    return False


@dataclass(frozen=True)
class DeploymentView:
    """What matters of the bot's Deployment."""

    name: str
    image: str | None
    #: Whether the operator's server-side apply still owns the bot container's image: None
    #: when the operator never applied this Deployment, False when someone changed the image
    #: since (`kubectl rollout undo` and `set image` take the field over).
    owns_image: bool | None
    generation: int
    observed_generation: int
    desired: int
    replicas: int
    updated: int
    ready: int
    available: int
    progress_deadline_exceeded: bool
    spec_hash: str | None = None
    config_checksum: str | None = None

    @classmethod
    def from_manifest(cls, deployment: Mapping[str, Any]) -> DeploymentView:
        from trainingbot_operator.specs.deployment import container_image

        meta = deployment.get("metadata", {})
        status = deployment.get("status", {})
        progressing = next(
            (c for c in status.get("conditions", []) if c.get("type") == "Progressing"), {}
        )
        annotations = meta.get("annotations") or {}
        template = deployment.get("spec", {}).get("template", {}).get("metadata", {})
        return cls(
            name=meta.get("name", ""),
            image=container_image(dict(deployment)),
            owns_image=_owns_image(meta.get("managedFields") or []),
            generation=_int(meta.get("generation")),
            observed_generation=_int(status.get("observedGeneration")),
            desired=_int(deployment.get("spec", {}).get("replicas", 1)),
            replicas=_int(status.get("replicas")),
            updated=_int(status.get("updatedReplicas")),
            ready=_int(status.get("readyReplicas")),
            available=_int(status.get("availableReplicas")),
            progress_deadline_exceeded=(
                progressing.get("status") == "False"
                and progressing.get("reason") == "ProgressDeadlineExceeded"
            ),
            spec_hash=annotations.get(naming.ANNOTATION_SPEC_HASH),
            config_checksum=(template.get("annotations") or {}).get(
                naming.ANNOTATION_CONFIG_CHECKSUM
            ),
        )

    @property
    def applied_image(self) -> str | None:
        """The image as the operator applied it, or None when it is not (or no longer) its."""
        return self.image if self.owns_image else None

    @property
    def changed_by_someone(self) -> bool:
        return self.owns_image is False

    @property
    def observed(self) -> bool:
        """The Deployment controller has seen the latest template."""
        return self.observed_generation >= self.generation

    @property
    def rollout_complete(self) -> bool:
        """As `kubectl rollout status` says it: every pod updated and available, no old ones."""
        return (
            self.observed
            and self.updated == self.desired
            and self.replicas == self.desired
            and self.available == self.desired
        )

    @property
    def updating(self) -> bool:
        """Pods of an older template remain, or the controller has not seen the latest one."""
        return not self.observed or self.updated < self.desired or self.replicas > self.desired

    @property
    def deadline_exceeded(self) -> bool:
        return self.observed and self.progress_deadline_exceeded


@dataclass(frozen=True)
class JobView:
    name: str
    image: str | None
    active: int
    succeeded: bool
    failed: bool
    reason: str
    message: str

    @classmethod
    def from_manifest(cls, job: Mapping[str, Any]) -> JobView:
        meta = job.get("metadata", {})
        status = job.get("status", {})
        conditions = status.get("conditions", [])
        by_type = {c.get("type"): c for c in conditions if c.get("status") == "True"}
        failed = by_type.get("Failed")
        complete = by_type.get("Complete")
        final = failed or complete or {}
        return cls(
            name=meta.get("name", ""),
            image=(meta.get("annotations") or {}).get(naming.ANNOTATION_IMAGE),
            active=_int(status.get("active")),
            succeeded=complete is not None,
            failed=failed is not None,
            reason=final.get("reason", ""),
            message=final.get("message", ""),
        )

    @property
    def finished(self) -> bool:
        return self.succeeded or self.failed


@dataclass(frozen=True)
class PodView:
    name: str
    image: str | None
    ready: bool
    restarts: int
    waiting_reason: str | None = None
    waiting_message: str | None = None

    @classmethod
    def from_manifest(cls, pod: Mapping[str, Any]) -> PodView:
        spec_image = next(
            (
                c.get("image")
                for c in pod.get("spec", {}).get("containers", [])
                if c.get("name") == "bot"
            ),
            None,
        )
        statuses = [
            s
            for s in pod.get("status", {}).get("containerStatuses", []) or []
            if s.get("name") == "bot"
        ]
        state = statuses[0] if statuses else {}
        waiting = (state.get("state") or {}).get("waiting") or {}
        return cls(
            name=pod.get("metadata", {}).get("name", ""),
            image=spec_image,
            ready=bool(state.get("ready")),
            restarts=_int(state.get("restartCount")),
            waiting_reason=waiting.get("reason"),
            waiting_message=waiting.get("message"),
        )

    @property
    def crash_looping(self) -> bool:
        return self.waiting_reason in CRASH_LOOP_REASONS


@dataclass(frozen=True)
class MonitoringView:
    """Which monitoring.coreos.com/v1 kinds the API server serves."""

    service_monitor_served: bool
    prometheus_rule_served: bool


@dataclass(frozen=True)
class Observed:
    """Everything one decision looks at, read from the API server just before."""

    name: str
    namespace: str
    generation: int
    spec: TrainingBotSpec
    status: TrainingBotStatus
    now: datetime
    deployment: DeploymentView | None = None
    jobs: Mapping[str, JobView] = field(default_factory=dict)
    pods: tuple[PodView, ...] = ()
    missing_references: tuple[str, ...] = ()
    #: Tails of the logs of failed Jobs' pods, by Job name (only for Jobs not yet recorded).
    job_logs: Mapping[str, str] = field(default_factory=dict)
    #: None when not checked this round (the condition keeps its last value).
    monitoring: MonitoringView | None = None


# --- decision ------------------------------------------------------------------------------------


class Action(StrEnum):
    PAUSE = "Pause"
    WAIT_FOR_REFERENCES = "WaitForReferences"
    RECORD_MANUAL_ROLLBACK = "RecordManualRollback"
    HOLD_MANUAL_ROLLBACK = "HoldManualRollback"
    START_MIGRATION = "StartMigration"
    ADOPT_MIGRATION = "AdoptMigration"
    WAIT_FOR_MIGRATION = "WaitForMigration"
    RECORD_MIGRATION_SUCCESS = "RecordMigrationSuccess"
    RECORD_MIGRATION_FAILURE = "RecordMigrationFailure"
    HOLD_FAILED_MIGRATION = "HoldFailedMigration"
    APPLY_IMAGE = "ApplyImage"
    WATCH_PROGRESS = "WatchProgress"
    START_SMOKE_TEST = "StartSmokeTest"
    WAIT_FOR_SMOKE_TEST = "WaitForSmokeTest"
    START_MONITORING = "StartMonitoring"
    MONITOR = "Monitor"
    MARK_READY = "MarkReady"
    ROLL_BACK = "RollBack"
    WAIT_FOR_ROLLBACK = "WaitForRollback"
    RECORD_ROLLED_BACK = "RecordRolledBack"
    FAIL_ROLLOUT = "FailRollout"
    HOLD_FAILED_ROLLOUT = "HoldFailedRollout"
    HOLD_REJECTED = "HoldRejected"
    STEADY = "Steady"


class DeploymentSource(StrEnum):
    SPEC = "spec"
    STABLE = "stable"


class JobKind(StrEnum):
    MIGRATION = "migration"
    SMOKE_TEST = "smoke-test"


@dataclass(frozen=True)
class JobRequest:
    kind: JobKind
    name: str
    image: str


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass(frozen=True)
class Count:
    """One increment of an operator metric: `metric` in rollouts|rollbacks|migrations."""

    metric: str
    label: str


@dataclass(frozen=True)
class Decision:
    action: Action
    status: TrainingBotStatus
    deployment_image: str | None = None
    #: Render the Deployment from the current spec, or from the last stable one (a rollback).
    deployment_source: DeploymentSource = DeploymentSource.SPEC
    job: JobRequest | None = None
    events: tuple[Event, ...] = ()
    counts: tuple[Count, ...] = ()
    requeue_after: float | None = None

    @property
    def touches_children(self) -> bool:
        """False while paused: not even the static children are re-applied."""
        return self.action is not Action.PAUSE


# Rollback reasons: the condition's reason and the metric's label (alerts.py's contract).
ROLLBACK_REASONS = {
    "ProgressDeadlineExceeded": "progress-deadline",
    "CrashLoopBackOff": "crash-loop",
    "SmokeTestFailed": "smoke-test",
    "DegradedDuringMonitoring": "monitor-window",
    "ManualRollback": "manual",
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


class _Plan:
    """Accumulates status changes, conditions, events and counts for one decision."""

    def __init__(self, obs: Observed) -> None:
        self.obs = obs
        self.now = iso(obs.now)
        self.updates: dict[str, Any] = {}
        self.conditions = obs.status.conditions
        self.events: list[Event] = []
        self.counts: list[Count] = []

    @property
    def status(self) -> TrainingBotStatus:
        return self.obs.status.model_copy(update=self.updates)

    def update(self, **values: Any) -> None:
        self.updates.update(values)

    def condition(self, type_: str, status: str, reason: str, message: str) -> None:
        self.conditions = cond.set_condition(
            self.conditions,
            type_,
            status,
            reason,
            _clip(message),
            now=self.now,
            generation=self.obs.generation,
        )

    def event(self, type_: str, reason: str, message: str) -> None:
        self.events.append(Event(type_, reason, _clip(message)))

    def count(self, metric: str, label: str) -> None:
        self.counts.append(Count(metric, label))

    def finish(
        self,
        action: Action,
        phase: Phase,
        message: str,
        *,
        deployment_image: str | None = None,
        source: DeploymentSource = DeploymentSource.SPEC,
        job: JobRequest | None = None,
        requeue_after: float | None = None,
    ) -> Decision:
        obs = self.obs
        dep = obs.deployment
        desired = obs.spec.effective_replicas
        ready = dep.ready if dep is not None else 0
        # What the Deployment runs after this round (a person's rollback included).
        running = deployment_image or (dep.image if dep is not None else None)
        if phase is Phase.READY:
            self.condition(cond.READY, cond.TRUE, "Ready", message)
        else:
            self.condition(cond.READY, cond.FALSE, phase.value, message)
        if obs.monitoring is not None:
            self.condition(cond.MONITORING_AVAILABLE, *monitoring_condition(obs))
        if obs.status.phase is Phase.PAUSED and phase is not Phase.PAUSED:
            self.event("Normal", "Resumed", "spec.paused is false: the operator manages the bot")
        self.update(
            phase=phase,
            message=_clip(message),
            observed_generation=obs.generation,
            image=running or obs.status.image,
            ready=f"{ready}/{desired}",
            replicas=desired,
            ready_replicas=ready,
            conditions=self.conditions,
        )
        return Decision(
            action=action,
            status=self.status,
            deployment_image=deployment_image,
            deployment_source=source,
            job=job,
            events=tuple(self.events),
            counts=tuple(self.counts),
            requeue_after=requeue_after,
        )


def monitoring_condition(obs: Observed) -> tuple[str, str, str]:
    """(status, reason, message) of MonitoringAvailable for the spec and what is served."""
    spec = obs.spec.monitoring
    view = obs.monitoring
    assert view is not None
    wanted = {
        "ServiceMonitor": (spec.service_monitor.enabled, view.service_monitor_served),
        "PrometheusRule": (spec.prometheus_rule.enabled, view.prometheus_rule_served),
    }
    if not any(enabled for enabled, _ in wanted.values()):
        return (
            cond.FALSE,
            "Disabled",
            (
                "spec.monitoring disables both the ServiceMonitor and the PrometheusRule; metrics "
                f"are still served on {naming.metrics_service(obs.name)}:8080/metrics"
            ),
        )
    missing = [kind for kind, (enabled, served) in wanted.items() if enabled and not served]
    if missing:
        kinds = " and ".join(missing)
        verb = "are" if len(missing) > 1 else "is"
        return (
            cond.FALSE,
            "CRDNotServed",
            (
                f"monitoring.coreos.com/v1 {kinds} {verb} not served by this cluster (the "
                "Prometheus Operator's CRDs are not installed), so the operator creates none; "
                "the bot runs "
                f"regardless and serves metrics on {naming.metrics_service(obs.name)}:8080"
                "/metrics. "
                "Install the CRDs and the objects appear within the operator's resync interval."
            ),
        )
    present = [f"{kind} {obs.name}" for kind, (enabled, _) in wanted.items() if enabled]
    return cond.TRUE, "Created", " and ".join(present) + " are in place"


# --- the decision tree ---------------------------------------------------------------------------


def decide(obs: Observed) -> Decision:
    """The next step for one TrainingBot, from its observed state (see the module docstring)."""
    plan = _Plan(obs)
    if obs.spec.paused:
        return _paused(plan)
    # A finished migration is recorded whatever else holds the rollout.
    migration = _migration_bookkeeping(plan)
    if migration is not None:
        return migration
    if obs.missing_references:
        return _missing_references(plan)
    manual = _manual_rollback(plan)
    if manual is not None:
        return manual
    if obs.spec.image == obs.status.rejected_image:
        return _hold_rejected(plan)
    dep = obs.deployment
    target = obs.spec.image
    if dep is None or dep.image != target or dep.applied_image != target:
        return _before_apply(plan)
    return _after_apply(plan)


def _paused(p: _Plan) -> Decision:
    if p.obs.status.phase is not Phase.PAUSED:
        p.event("Normal", "Paused", PAUSED_MESSAGE)
    p.condition(
        cond.PROGRESSING,
        cond.FALSE,
        "Paused",
        "spec.paused is true; set it to false to let the operator continue where it stopped",
    )
    return p.finish(Action.PAUSE, Phase.PAUSED, PAUSED_MESSAGE)


def _missing_references(p: _Plan) -> Decision:
    missing = ", ".join(p.obs.missing_references)
    message = (
        f"waiting for {missing} in namespace {p.obs.namespace}: the bot's pods read them. "
        "Create them; the operator continues as soon as they exist (it watches them)."
    )
    previous = p.obs.status.condition(cond.PROGRESSING)
    if previous is None or previous.reason != "MissingReference":
        p.event("Warning", "MissingReference", message)
    p.condition(cond.PROGRESSING, cond.FALSE, "MissingReference", message)
    phase = Phase.PENDING
    if p.obs.deployment is not None and p.obs.status.phase is not None:
        phase = p.obs.status.phase
    return p.finish(Action.WAIT_FOR_REFERENCES, phase, message)


def _manual_rollback(p: _Plan) -> Decision | None:
    obs = p.obs
    dep = obs.deployment
    record = obs.status.manual_rollback
    changed_by_someone = dep is not None and dep.changed_by_someone
    if record is not None:
        if record.generation != obs.generation or not changed_by_someone:
            # The spec changed since (or the person restored the operator's image): manage again.
            p.update(manual_rollback=None)
            return None
        return _hold_manual(p, record)
    if not changed_by_someone:
        return None
    assert dep is not None
    record = ManualRollbackRecord(
        image=dep.image or "",
        applied_image=obs.status.image or "the operator's image",
        generation=obs.generation,
        detected_at=p.now,
    )
    p.update(manual_rollback=record)
    rollout = obs.status.rollout
    if rollout is not None and rollout.step is not RolloutStep.COMPLETE:
        p.update(
            rollout=rollout.model_copy(
                update={
                    "step": RolloutStep.ROLLED_BACK,
                    "reason": "ManualRollback",
                    "message": f"Deployment changed to {record.image} by hand",
                }
            )
        )
    p.event("Warning", "ManualRollbackDetected", _manual_message(obs.name, record))
    p.count("rollbacks", ROLLBACK_REASONS["ManualRollback"])
    return _hold_manual(p, record)


def _manual_message(name: str, record: ManualRollbackRecord) -> str:
    return (
        f"Deployment {name} runs {record.image}, not {record.applied_image} which the operator "
        "applied (kubectl rollout undo or set image). The operator leaves it standing until the "
        f"TrainingBot's spec changes; to keep {record.image}, set spec.image to it."
    )


def _hold_manual(p: _Plan, record: ManualRollbackRecord) -> Decision:
    message = _manual_message(p.obs.name, record)
    p.condition(cond.ROLLED_BACK, cond.TRUE, "ManualRollback", message)
    p.condition(cond.PROGRESSING, cond.FALSE, "ManualRollback", message)
    return p.finish(
        Action.HOLD_MANUAL_ROLLBACK
        if p.obs.status.manual_rollback
        else Action.RECORD_MANUAL_ROLLBACK,
        Phase.ROLLED_BACK,
        message,
    )


def _hold_rejected(p: _Plan) -> Decision:
    obs = p.obs
    dep = obs.deployment
    target = obs.spec.image
    stable = obs.status.stable_image
    rollout = obs.status.rollout
    keep = stable or (dep.applied_image if dep is not None else None)
    if rollout is not None and rollout.step is RolloutStep.ROLLING_BACK and dep is not None:
        if dep.deadline_exceeded:
            message = (
                f"rolling back to {stable} made no progress within "
                f"{obs.spec.rollout.progress_deadline_seconds}s either ({dep.ready}/{dep.desired} "
                f"ready): the cause is likely outside the image. `kubectl describe deployment "
                f"{dep.name}` and the pods' events say more."
            )
            p.update(
                rollout=rollout.model_copy(
                    update={
                        "step": RolloutStep.FAILED,
                        "reason": "RollbackFailed",
                        "message": message,
                    }
                )
            )
            p.condition(cond.PROGRESSING, cond.FALSE, "RollbackFailed", message)
            p.event("Warning", "RollbackFailed", message)
            return p.finish(
                Action.FAIL_ROLLOUT,
                Phase.FAILED,
                message,
                deployment_image=keep,
                source=DeploymentSource.STABLE,
            )
        if not dep.rollout_complete:
            message = f"rolling back to {stable}: {dep.available}/{dep.desired} available"
            p.condition(cond.PROGRESSING, cond.TRUE, "RollingBack", message)
            return p.finish(
                Action.WAIT_FOR_ROLLBACK,
                Phase.ROLLING_BACK,
                message,
                deployment_image=keep,
                source=DeploymentSource.STABLE,
                requeue_after=POLL_SECONDS,
            )
        message = _rejected_message(target, stable, rollout)
        p.update(rollout=rollout.model_copy(update={"step": RolloutStep.ROLLED_BACK}))
        p.condition(cond.PROGRESSING, cond.FALSE, "RolledBack", message)
        p.event("Normal", "RolledBack", f"{stable} serves again. {message}")
        return p.finish(
            Action.RECORD_ROLLED_BACK,
            Phase.ROLLED_BACK,
            message,
            deployment_image=keep,
            source=DeploymentSource.STABLE,
        )
    if rollout is not None and rollout.step is RolloutStep.FAILED:
        return p.finish(
            Action.HOLD_FAILED_ROLLOUT,
            Phase.FAILED,
            rollout.message or "the rollback failed",
            deployment_image=keep,
            source=DeploymentSource.STABLE,
        )
    message = _rejected_message(target, stable, rollout)
    return p.finish(
        Action.HOLD_REJECTED,
        Phase.ROLLED_BACK,
        message,
        deployment_image=keep,
        source=DeploymentSource.STABLE,
    )


def _rejected_message(target: str, stable: str | None, rollout: RolloutRecord | None) -> str:
    why = f" ({rollout.reason}: {rollout.message})" if rollout and rollout.reason else ""
    return (
        f"{target} was rolled back to {stable}{why}. It is not retried until spec.image changes: "
        "fix the release and set spec.image to the new one."
    )


def _migration_bookkeeping(p: _Plan) -> Decision | None:
    """Follow the migration Job on record; only one runs at a time, whatever the target."""
    obs = p.obs
    record = obs.status.migration
    if record is None or record.phase is not MigrationPhase.RUNNING:
        return None
    job = obs.jobs.get(record.job)
    target = obs.spec.image
    if job is not None and not job.finished:
        if record.image == target:
            message = f"migration Job {record.job} for {target} is running"
        else:
            message = (
                f"waiting for migration Job {record.job} (for {record.image}) to finish before "
                f"migrating {target}: two migrations never run at once"
            )
        p.condition(cond.MIGRATED, cond.UNKNOWN, "MigrationRunning", message)
        p.condition(cond.PROGRESSING, cond.TRUE, "Migrating", message)
        return p.finish(
            Action.WAIT_FOR_MIGRATION, Phase.MIGRATING, message, requeue_after=JOB_POLL_SECONDS
        )
    if job is not None and job.succeeded:
        message = f"migration Job {record.job} for {record.image} succeeded"
        p.update(
            migration=record.model_copy(
                update={
                    "phase": MigrationPhase.SUCCEEDED,
                    "completed_at": p.now,
                    "message": message,
                }
            )
        )
        p.condition(cond.MIGRATED, cond.TRUE, "MigrationSucceeded", message)
        p.event("Normal", "MigrationSucceeded", message)
        p.count("migrations", "succeeded")
        return p.finish(Action.RECORD_MIGRATION_SUCCESS, Phase.MIGRATING, message, requeue_after=0)
    return _migration_failed(p, record, job)


def _migration_failed(p: _Plan, record: MigrationRecord, job: JobView | None) -> Decision:
    obs = p.obs
    dep = obs.deployment
    serving = dep.image if dep is not None and dep.image else None
    if job is None:
        cause = "the Job was deleted before it finished"
    else:
        cause = f"{job.reason or 'Failed'}: {job.message or 'the migration container failed'}"
    logs = obs.job_logs.get(record.job)
    tail = f" Last log lines:\n{logs}" if logs else ""
    keeps = f"The Deployment still runs {serving}" if serving else "No Deployment was created"
    message = (
        f"migration Job {record.job} for {record.image} failed ({cause}). {keeps}; the "
        f"operator does not retry until the spec changes. `kubectl logs job/{record.job} -n "
        f"{obs.namespace}` shows the whole log.{tail}"
    )
    p.update(
        migration=record.model_copy(
            update={
                "phase": MigrationPhase.FAILED,
                "completed_at": p.now,
                "message": _clip(message),
            }
        )
    )
    p.condition(cond.MIGRATED, cond.FALSE, "MigrationFailed", message)
    p.event("Warning", "MigrationFailed", message)
    p.count("migrations", "failed")
    if record.image != obs.spec.image:
        # Superseded by a newer spec.image: record and move on to it.
        return p.finish(Action.RECORD_MIGRATION_FAILURE, Phase.MIGRATING, message, requeue_after=0)
    p.condition(cond.PROGRESSING, cond.FALSE, "MigrationFailed", message)
    return p.finish(Action.RECORD_MIGRATION_FAILURE, Phase.FAILED, message)


def _needs_migration(obs: Observed) -> bool:
    target = obs.spec.image
    record = obs.status.migration
    if not obs.spec.migrations.enabled or target == obs.status.stable_image:
        return False
    manual = obs.status.manual_rollback
    if manual is not None and manual.image == target:
        # The spec adopts what a person rolled back to: it runs on this database already.
        return False
    return not (
        record is not None and record.image == target and record.phase is MigrationPhase.SUCCEEDED
    )


def _before_apply(p: _Plan) -> Decision:
    """The Deployment does not run spec.image yet: migrate first, then apply it."""
    obs = p.obs
    target = obs.spec.image
    record = obs.status.migration
    if _needs_migration(obs):
        if (
            record is not None
            and record.image == target
            and record.phase is MigrationPhase.FAILED
            and record.generation == obs.generation
        ):
            message = record.message or f"the migration for {target} failed"
            p.condition(cond.PROGRESSING, cond.FALSE, "MigrationFailed", message)
            return p.finish(Action.HOLD_FAILED_MIGRATION, Phase.FAILED, message)
        name = naming.migration_job(obs.name, target, obs.generation)
        new_record = MigrationRecord(
            image=target,
            job=name,
            phase=MigrationPhase.RUNNING,
            generation=obs.generation,
            started_at=p.now,
        )
        p.update(migration=new_record, rejected_image=None)
        if name in obs.jobs:
            # Created by an operator that stopped before it could record it.
            message = f"following migration Job {name} for {target}"
            return p.finish(Action.ADOPT_MIGRATION, Phase.MIGRATING, message, requeue_after=0)
        backup = obs.spec.migrations.backup
        step = "backup, then migrate" if backup.enabled else "migrate"
        message = (
            f"migration Job {name} for {target} started ({step}); the Deployment changes only "
            "after it succeeds"
        )
        p.condition(cond.MIGRATED, cond.UNKNOWN, "MigrationRunning", message)
        p.condition(cond.PROGRESSING, cond.TRUE, "Migrating", message)
        _new_attempt(p)
        p.event("Normal", "MigrationStarted", message)
        return p.finish(
            Action.START_MIGRATION,
            Phase.MIGRATING,
            message,
            job=JobRequest(JobKind.MIGRATION, name, target),
            requeue_after=JOB_POLL_SECONDS,
        )
    if not obs.spec.migrations.enabled:
        p.condition(
            cond.MIGRATED,
            cond.TRUE,
            "MigrationsDisabled",
            "spec.migrations.enabled is false: no migration runs before a rollout",
        )
    elif target == obs.status.stable_image:
        p.condition(
            cond.MIGRATED,
            cond.TRUE,
            "NotRequired",
            f"{target} is the stable image; the database was migrated for it before",
        )
    dep = obs.deployment
    previous = dep.image if dep is not None and dep.image else "nothing"
    record_rollout = RolloutRecord(
        image=target,
        step=RolloutStep.PROGRESSING,
        generation=obs.generation,
        started_at=p.now,
    )
    p.update(rollout=record_rollout, rejected_image=None)
    message = f"rolling out {target} (the Deployment ran {previous})"
    p.condition(cond.PROGRESSING, cond.TRUE, "RollingOut", message)
    _new_attempt(p)
    p.event("Normal", "RolloutStarted", message)
    return p.finish(
        Action.APPLY_IMAGE,
        Phase.PROGRESSING,
        message,
        deployment_image=target,
        requeue_after=POLL_SECONDS,
    )


def _new_attempt(p: _Plan) -> None:
    """A new image is being tried: an earlier rollback no longer describes the current state."""
    previous = p.obs.status.condition(cond.ROLLED_BACK)
    if previous is not None and previous.status == cond.TRUE:
        p.condition(
            cond.ROLLED_BACK,
            cond.FALSE,
            "NewRollout",
            f"a new rollout ({p.obs.spec.image}) started",
        )


def _after_apply(p: _Plan) -> Decision:
    """The Deployment runs spec.image as the operator applied it: follow the rollout's steps."""
    obs = p.obs
    target = obs.spec.image
    rollout = obs.status.rollout
    if rollout is None or rollout.image != target:
        if target == obs.status.stable_image:
            return _steady(p)
        # Applied, but not on record (an operator stopped right after applying): follow it now.
        rollout = RolloutRecord(
            image=target, step=RolloutStep.PROGRESSING, generation=obs.generation, started_at=p.now
        )
        p.update(rollout=rollout)
    step = rollout.step
    if step in (RolloutStep.FAILED, RolloutStep.ROLLED_BACK, RolloutStep.ROLLING_BACK):
        if step is RolloutStep.FAILED and rollout.generation == obs.generation:
            return p.finish(
                Action.HOLD_FAILED_ROLLOUT,
                Phase.FAILED,
                rollout.message or f"the rollout of {target} failed",
                deployment_image=target,
            )
        # The spec changed since the failure, or the image is back by hand: follow it afresh.
        rollout = RolloutRecord(
            image=target, step=RolloutStep.PROGRESSING, generation=obs.generation, started_at=p.now
        )
        p.update(rollout=rollout)
        step = rollout.step
    if step is RolloutStep.PROGRESSING:
        return _watch_progress(p, rollout)
    if step is RolloutStep.SMOKE_TESTING:
        return _watch_smoke_test(p, rollout)
    if step is RolloutStep.MONITORING:
        return _monitor(p, rollout)
    return _steady(p)


def _target_pods(obs: Observed) -> list[PodView]:
    return [pod for pod in obs.pods if pod.image == obs.spec.image]


def _crash_loop(obs: Observed) -> str | None:
    for pod in _target_pods(obs):
        if pod.crash_looping:
            return (
                f"pod {pod.name} of {obs.spec.image} is crash-looping ({pod.restarts} restarts; "
                f"`kubectl logs {pod.name} -n {obs.namespace} --previous` shows why)"
            )
    return None


def _watch_progress(p: _Plan, rollout: RolloutRecord) -> Decision:
    obs = p.obs
    dep = obs.deployment
    assert dep is not None
    target = obs.spec.image
    crash = _crash_loop(obs)
    if crash:
        return _fail(p, rollout, "CrashLoopBackOff", crash)
    if dep.deadline_exceeded:
        return _fail(
            p,
            rollout,
            "ProgressDeadlineExceeded",
            (
                f"Deployment {dep.name} made no progress with {target} within "
                f"{obs.spec.rollout.progress_deadline_seconds}s ({dep.ready}/{dep.desired} ready, "
                f"{dep.updated} updated)"
            ),
        )
    if not dep.rollout_complete:
        message = (
            f"rolling out {target}: {dep.updated}/{dep.desired} updated, "
            f"{dep.available}/{dep.desired} available"
        )
        p.condition(cond.PROGRESSING, cond.TRUE, "RollingOut", message)
        return p.finish(
            Action.WATCH_PROGRESS,
            Phase.PROGRESSING,
            message,
            deployment_image=target,
            requeue_after=POLL_SECONDS,
        )
    if obs.spec.rollout.smoke_test:
        name = naming.smoke_job(obs.name, target, rollout.started_at)
        p.update(
            rollout=rollout.model_copy(
                update={
                    "step": RolloutStep.SMOKE_TESTING,
                    "smoke_job": name,
                }
            )
        )
        message = f"every pod runs {target}; smoke-test Job {name} started"
        p.condition(cond.PROGRESSING, cond.TRUE, "SmokeTesting", message)
        p.event("Normal", "SmokeTestStarted", message)
        job = None if name in obs.jobs else JobRequest(JobKind.SMOKE_TEST, name, target)
        return p.finish(
            Action.START_SMOKE_TEST,
            Phase.PROGRESSING,
            message,
            deployment_image=target,
            job=job,
            requeue_after=POLL_SECONDS,
        )
    return _start_monitoring(p, rollout)


def _watch_smoke_test(p: _Plan, rollout: RolloutRecord) -> Decision:
    obs = p.obs
    target = obs.spec.image
    crash = _crash_loop(obs)
    if crash:
        return _fail(p, rollout, "CrashLoopBackOff", crash)
    name = rollout.smoke_job or naming.smoke_job(obs.name, target, rollout.started_at)
    job = obs.jobs.get(name)
    if job is None:
        message = f"smoke-test Job {name} is gone before it finished; starting it again"
        p.update(rollout=rollout.model_copy(update={"smoke_job": name}))
        p.condition(cond.PROGRESSING, cond.TRUE, "SmokeTesting", message)
        return p.finish(
            Action.START_SMOKE_TEST,
            Phase.PROGRESSING,
            message,
            deployment_image=target,
            job=JobRequest(JobKind.SMOKE_TEST, name, target),
            requeue_after=POLL_SECONDS,
        )
    if job.failed:
        logs = obs.job_logs.get(name)
        tail = f" Last log lines:\n{logs}" if logs else ""
        return _fail(
            p,
            rollout,
            "SmokeTestFailed",
            (
                f"smoke-test Job {name} failed ({job.reason or 'Failed'}: "
                f"{job.message or 'the smoke container failed'}).{tail}"
            ),
        )
    if job.succeeded:
        p.event("Normal", "SmokeTestPassed", f"smoke-test Job {name} passed against {target}")
        return _start_monitoring(p, rollout)
    message = f"smoke-test Job {name} is running against {target}"
    p.condition(cond.PROGRESSING, cond.TRUE, "SmokeTesting", message)
    return p.finish(
        Action.WAIT_FOR_SMOKE_TEST,
        Phase.PROGRESSING,
        message,
        deployment_image=target,
        requeue_after=POLL_SECONDS,
    )


def _start_monitoring(p: _Plan, rollout: RolloutRecord) -> Decision:
    obs = p.obs
    seconds = obs.spec.rollout.monitor_seconds
    if seconds <= 0:
        return _mark_ready(p, rollout)
    until = iso(obs.now + timedelta(seconds=seconds))
    baseline = sum(pod.restarts for pod in _target_pods(obs))
    p.update(
        rollout=rollout.model_copy(
            update={
                "step": RolloutStep.MONITORING,
                "monitor_until": until,
                "restart_baseline": baseline,
            }
        )
    )
    message = (
        f"watching {obs.spec.image} until {until} ({seconds}s, the runbook's monitor window) "
        "before recording it as stable"
    )
    p.condition(cond.PROGRESSING, cond.TRUE, "Monitoring", message)
    p.event("Normal", "MonitoringStarted", message)
    return p.finish(
        Action.START_MONITORING,
        Phase.MONITORING,
        message,
        deployment_image=obs.spec.image,
        requeue_after=min(float(seconds), MONITOR_POLL_SECONDS),
    )


def _monitor(p: _Plan, rollout: RolloutRecord) -> Decision:
    obs = p.obs
    dep = obs.deployment
    assert dep is not None
    target = obs.spec.image
    crash = _crash_loop(obs)
    restarts = sum(pod.restarts for pod in _target_pods(obs))
    baseline = rollout.restart_baseline or 0
    problem = None
    if crash:
        problem = crash
    elif restarts > baseline:
        problem = f"pods of {target} restarted {restarts - baseline} time(s) in the monitor window"
    elif dep.deadline_exceeded:
        problem = (
            f"Deployment {dep.name} lost availability and did not recover within "
            f"{obs.spec.rollout.progress_deadline_seconds}s ({dep.ready}/{dep.desired} ready)"
        )
    if problem:
        return _fail(p, rollout, "DegradedDuringMonitoring", problem)
    until = parse_time(rollout.monitor_until) or obs.now
    remaining = (until - obs.now).total_seconds()
    if remaining <= 0:
        return _mark_ready(p, rollout)
    message = f"watching {target} until {rollout.monitor_until}: {dep.ready}/{dep.desired} ready"
    p.condition(cond.PROGRESSING, cond.TRUE, "Monitoring", message)
    return p.finish(
        Action.MONITOR,
        Phase.MONITORING,
        message,
        deployment_image=target,
        requeue_after=min(remaining, MONITOR_POLL_SECONDS),
    )


def _mark_ready(p: _Plan, rollout: RolloutRecord) -> Decision:
    obs = p.obs
    target = obs.spec.image
    p.update(
        stable_image=target,
        stable_spec=dump_spec(obs.spec),
        rollout=rollout.model_copy(
            update={
                "step": RolloutStep.COMPLETE,
                "reason": None,
                "message": None,
            }
        ),
    )
    checks = ["rollout"]
    if obs.spec.rollout.smoke_test:
        checks.append("smoke test")
    if obs.spec.rollout.monitor_seconds:
        checks.append(f"{obs.spec.rollout.monitor_seconds}s monitor window")
    done = checks[0] if len(checks) == 1 else ", ".join(checks[:-1]) + " and " + checks[-1]
    message = f"{target} passed its {done} and is the stable image"
    p.condition(cond.PROGRESSING, cond.FALSE, "RolloutComplete", message)
    p.event("Normal", "RolloutSucceeded", message)
    p.count("rollouts", "succeeded")
    return p.finish(Action.MARK_READY, Phase.READY, message, deployment_image=target)


def _fail(p: _Plan, rollout: RolloutRecord, reason: str, problem: str) -> Decision:
    obs = p.obs
    target = obs.spec.image
    stable = obs.status.stable_image
    p.count("rollouts", "failed")
    if obs.spec.rollout.auto_rollback and stable and stable != target:
        message = (
            f"{problem}. Rolling back to {stable}; {target} is not retried until spec.image "
            "changes."
        )
        p.update(
            rejected_image=target,
            rollout=rollout.model_copy(
                update={
                    "step": RolloutStep.ROLLING_BACK,
                    "reason": reason,
                    "message": _clip(problem),
                }
            ),
        )
        p.condition(cond.ROLLED_BACK, cond.TRUE, "AutomaticRollback", message)
        p.condition(cond.PROGRESSING, cond.TRUE, "RollingBack", message)
        p.event("Warning", "RollingBack", message)
        p.count("rollbacks", ROLLBACK_REASONS[reason])
        return p.finish(
            Action.ROLL_BACK,
            Phase.ROLLING_BACK,
            message,
            deployment_image=stable,
            source=DeploymentSource.STABLE,
            requeue_after=POLL_SECONDS,
        )
    if not obs.spec.rollout.auto_rollback:
        why = "spec.rollout.autoRollback is false"
    elif not stable:
        why = "there is no stable image to roll back to yet (this is the first rollout)"
    else:
        why = f"{target} is itself the stable image"
    message = (
        f"{problem}. The Deployment stays on {target} because {why}. Fix the cause and change "
        "the spec (e.g. a new spec.image) to try again."
    )
    p.update(
        rollout=rollout.model_copy(
            update={
                "step": RolloutStep.FAILED,
                "reason": reason,
                "message": _clip(message),
                "generation": obs.generation,
            }
        )
    )
    p.condition(cond.PROGRESSING, cond.FALSE, reason, message)
    p.event("Warning", "RolloutFailed", message)
    return p.finish(Action.FAIL_ROLLOUT, Phase.FAILED, message, deployment_image=target)


def _steady(p: _Plan) -> Decision:
    obs = p.obs
    dep = obs.deployment
    target = obs.spec.image
    if dep is None or dep.updating:
        updated = dep.updated if dep else 0
        message = f"updating the pods of {target} ({updated}/{obs.spec.effective_replicas} updated)"
        p.condition(cond.PROGRESSING, cond.TRUE, "Updating", message)
        return p.finish(
            Action.STEADY,
            Phase.PROGRESSING,
            message,
            deployment_image=target,
            requeue_after=POLL_SECONDS,
        )
    p.condition(cond.PROGRESSING, cond.FALSE, "RolloutComplete", f"{target} is rolled out")
    if dep.ready < dep.desired:
        message = f"{dep.ready}/{dep.desired} pods of {target} are ready"
        return p.finish(Action.STEADY, Phase.DEGRADED, message, deployment_image=target)
    message = f"{target} serves with {dep.ready}/{dep.desired} ready"
    return p.finish(Action.STEADY, Phase.READY, message, deployment_image=target)
