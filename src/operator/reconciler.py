"""One reconciliation of one TrainingBot: observe, decide (`rollout.decide`), execute.

Runs in a worker thread (the Kubernetes client is synchronous), once per wake-up of the bot's
reconciler loop (`handlers/reconcile.py`): a watch event of the bot or one of its children or
referenced Secrets, the requeue delay a decision asked for, or the periodic resync.

Everything is read fresh from the API server at the start: the operator keeps no state of its
own between rounds, so a restarted operator (or another replica taking over through peering)
continues from the TrainingBot's status and the Deployment's annotations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from trainingbot_operator import metrics, naming, rollout
from trainingbot_operator.k8s import (
    CONFIG_MAP,
    DEPLOYMENT,
    JOB,
    POD,
    POD_DISRUPTION_BUDGET,
    PROMETHEUS_RULE,
    SECRET,
    SERVICE,
    SERVICE_MONITOR,
    TRAINING_BOT,
    Kube,
)
from trainingbot_operator.models import (
    MigrationPhase,
    Mode,
    RolloutStep,
    TrainingBotSpec,
    TrainingBotStatus,
    parse_spec,
    parse_status,
    stable_render_spec,
)
from trainingbot_operator.rollout import (
    Decision,
    DeploymentSource,
    DeploymentView,
    JobKind,
    JobView,
    MonitoringView,
    Observed,
    PodView,
)
from trainingbot_operator.specs import common
from trainingbot_operator.specs.common import Owner
from trainingbot_operator.specs.deployment import build_deployment
from trainingbot_operator.specs.job import build_migration_job, build_smoke_job
from trainingbot_operator.specs.pdb import build_pod_disruption_budget, wants_pod_disruption_budget
from trainingbot_operator.specs.prometheusrule import build_prometheus_rule
from trainingbot_operator.specs.service import build_metrics_service, build_webhook_service
from trainingbot_operator.specs.serviceaccount import build_service_account
from trainingbot_operator.specs.servicemonitor import build_service_monitor

logger = logging.getLogger(__name__)

#: Posts one Kubernetes Event about the TrainingBot (kopf's poster in production).
EventPoster = Callable[[Mapping[str, Any], rollout.Event], None]

# A decision that asks to be looked at again at once (it only recorded something) is followed
# immediately, a few times at most, so that one wake-up carries a transition through.
MAX_CHAINED_ROUNDS = 5


@dataclass
class Reconciler:
    """What a reconciliation needs from outside: the API, an event poster and a clock."""

    kube: Kube
    post_event: EventPoster
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def reconcile(self, namespace: str, name: str, *, full: bool) -> float | None:
        """Reconcile until a decision wants to wait; return when to look again (None: on events).

        `full` also re-applies every static child and asks the API server which monitoring
        kinds it serves (the periodic resync does this; so does any change of the spec).
        """
        delay: float | None = None
        for _ in range(MAX_CHAINED_ROUNDS):
            body = self.kube.get(TRAINING_BOT, namespace, name)
            if body is None or body["metadata"].get("deletionTimestamp"):
                return None
            try:
                decision = self.round(body, full=full)
            except ValidationError as exc:
                self.report_unreadable_spec(body, exc)
                return None  # nothing to do until the spec changes
            full = False
            delay = decision.requeue_after
            if delay != 0:
                return delay
        return 1.0

    def round(self, body: Mapping[str, Any], *, full: bool) -> Decision:
        """One observe-decide-execute round for the TrainingBot `body` (freshly read)."""
        meta = body["metadata"]
        spec = parse_spec(body.get("spec", {}))
        status = parse_status(body.get("status"))
        generation = int(meta.get("generation", 1))
        full = full or status.observed_generation != generation
        observed, checksum = self.observe(body, spec, status, full=full)
        decision = rollout.decide(observed)
        if decision.status.message != status.message:
            logger.info(
                "TrainingBot %s/%s: %s: %s",
                meta["namespace"],
                meta["name"],
                decision.action,
                decision.status.message,
            )
        render_spec = spec
        if decision.deployment_source is DeploymentSource.STABLE:
            render_spec = stable_render_spec(status, spec)
            if render_spec is not spec:
                checksum, _ = self._config_checksum(meta["namespace"], render_spec)
        self.execute(body, spec, render_spec, observed, decision, checksum, full=full)
        return decision

    def report_unreadable_spec(self, body: Mapping[str, Any], exc: ValidationError) -> None:
        """A spec the API server accepted but the operator cannot read (an older operator
        than the CRD, or a field edited around validation): say so instead of failing on."""
        meta = body["metadata"]
        problems = "; ".join(
            f"spec.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        message = (
            f"the operator cannot read this spec ({problems}); it changes nothing until the "
            "spec is fixed, or the operator is upgraded to the CRD's version"
        )
        current = body.get("status") or {}
        if current.get("message") == message:
            return
        self.kube.patch_status(
            TRAINING_BOT,
            meta["namespace"],
            meta["name"],
            {
                "phase": "Failed",
                "message": message,
                "observedGeneration": int(meta.get("generation", 1)),
            },
        )
        self.post_event(body, rollout.Event("Warning", "UnreadableSpec", message))
        logger.warning("TrainingBot %s/%s: %s", meta["namespace"], meta["name"], message)

    # -- observe ---------------------------------------------------------------------------------

    def observe(
        self,
        body: Mapping[str, Any],
        spec: TrainingBotSpec,
        status: TrainingBotStatus,
        *,
        full: bool,
    ) -> tuple[Observed, str]:
        meta = body["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        deployment = self.kube.get(DEPLOYMENT, namespace, naming.deployment(name))
        jobs = {
            job["metadata"]["name"]: JobView.from_manifest(job)
            for job in self.kube.list(JOB, namespace, naming.instance_selector(name))
        }
        pods = tuple(
            PodView.from_manifest(pod)
            for pod in self.kube.list(POD, namespace, _bot_pod_selector(name))
        )
        checksum, missing = self._config_checksum(namespace, spec)
        monitoring = None
        if full:
            monitoring = MonitoringView(
                service_monitor_served=self.kube.served(SERVICE_MONITOR),
                prometheus_rule_served=self.kube.served(PROMETHEUS_RULE),
            )
        observed = rollout.Observed(
            name=name,
            namespace=namespace,
            generation=int(meta.get("generation", 1)),
            spec=spec,
            status=status,
            now=self.clock(),
            deployment=DeploymentView.from_manifest(deployment) if deployment else None,
            jobs=jobs,
            pods=pods,
            missing_references=tuple(missing),
            job_logs=self._failed_job_logs(namespace, status, jobs),
            monitoring=monitoring,
        )
        return observed, checksum

    def _config_checksum(self, namespace: str, spec: TrainingBotSpec) -> tuple[str, list[str]]:
        """The pods' configuration digest, and what they reference that does not exist."""
        missing: list[str] = []
        secrets: dict[str, Mapping[str, Any] | None] = {}
        values: dict[tuple[str, str], str | None] = {}
        for ref in spec.secret_refs():
            if ref.name not in secrets:
                secrets[ref.name] = self.kube.get(SECRET, namespace, ref.name)
            secret = secrets[ref.name]
            value = ((secret or {}).get("data") or {}).get(ref.key)
            values[(ref.name, ref.key)] = value
            if secret is None:
                missing.append(f"Secret {ref.name}")
            elif value is None:
                missing.append(f"key {ref.key} of Secret {ref.name}")
        config_maps: dict[str, Mapping[str, str] | None] = {}
        for config_map_name in spec.config_map_names():
            config_map = self.kube.get(CONFIG_MAP, namespace, config_map_name)
            config_maps[config_map_name] = (
                None
                if config_map is None
                else {
                    **(config_map.get("data") or {}),
                    **{f"binary:{k}": v for k, v in (config_map.get("binaryData") or {}).items()},
                }
            )
            if config_map is None:
                missing.append(f"ConfigMap {config_map_name}")
        return common.config_checksum(values, config_maps), sorted(set(missing))

    def _failed_job_logs(
        self, namespace: str, status: TrainingBotStatus, jobs: Mapping[str, JobView]
    ) -> dict[str, str]:
        """Log tails of failed Jobs whose failure is about to be recorded (not every round)."""
        pending: list[str] = []
        migration = status.migration
        if migration is not None and migration.phase is MigrationPhase.RUNNING:
            pending.append(migration.job)
        if (
            status.rollout is not None
            and status.rollout.step is RolloutStep.SMOKE_TESTING
            and status.rollout.smoke_job
        ):
            pending.append(status.rollout.smoke_job)
        logs = {}
        for job_name in pending:
            job = jobs.get(job_name)
            if job is not None and job.failed:
                tail = self._job_log_tail(namespace, job_name)
                if tail:
                    logs[job_name] = tail
        return logs

    def _job_log_tail(self, namespace: str, job_name: str) -> str | None:
        pods = self.kube.list(POD, namespace, f"job-name={job_name}")
        pods.sort(key=lambda p: p["metadata"].get("creationTimestamp", ""), reverse=True)
        for pod in pods:
            status = pod.get("status", {})
            failed = [
                s["name"]
                for s in [
                    *(status.get("initContainerStatuses") or []),
                    *(status.get("containerStatuses") or []),
                ]
                if ((s.get("state") or {}).get("terminated") or {}).get("exitCode", 0) != 0
            ]
            for container in failed or [None]:
                tail = self.kube.pod_logs_tail(
                    namespace, pod["metadata"]["name"], container, rollout.LOG_TAIL_LINES
                )
                if tail:
                    return tail
        return None

    # -- execute ---------------------------------------------------------------------------------

    def execute(
        self,
        body: Mapping[str, Any],
        spec: TrainingBotSpec,
        render_spec: TrainingBotSpec,
        observed: Observed,
        decision: Decision,
        checksum: str,
        *,
        full: bool,
    ) -> None:
        owner = Owner.from_body(body)
        if decision.touches_children and full:
            self.apply_static_children(owner, spec, observed.monitoring)
        if decision.job is not None:
            self.create_job(owner, spec, decision.job)
        if decision.deployment_image is not None:
            self.apply_deployment(
                body,
                owner,
                render_spec,
                observed,
                decision.deployment_image,
                checksum,
                force=full,
            )
        self.write_status(body, observed, decision, full=full)
        for event in decision.events:
            self.post_event(body, event)
        for count in decision.counts:
            metrics.count(count.metric, owner.namespace, owner.name, count.label)

    def apply_static_children(
        self, owner: Owner, spec: TrainingBotSpec, monitoring: MonitoringView | None
    ) -> None:
        """Everything but the Deployment and the Jobs: same for every image."""
        self.kube.apply(build_service_account(owner=owner))
        self.kube.apply(build_metrics_service(owner=owner))
        if spec.mode is Mode.WEBHOOK:
            self.kube.apply(build_webhook_service(owner=owner))
        else:
            self.kube.delete(SERVICE, owner.namespace, naming.webhook_service(owner.name))
        if wants_pod_disruption_budget(spec):
            self.kube.apply(build_pod_disruption_budget(owner=owner))
        else:
            self.kube.delete(
                POD_DISRUPTION_BUDGET, owner.namespace, naming.pod_disruption_budget(owner.name)
            )
        if monitoring is None:
            return
        settings = spec.monitoring
        if monitoring.service_monitor_served:
            if settings.service_monitor.enabled:
                self.kube.apply(build_service_monitor(owner=owner, spec=spec))
            else:
                self.kube.delete(
                    SERVICE_MONITOR, owner.namespace, naming.service_monitor(owner.name)
                )
        if monitoring.prometheus_rule_served:
            if settings.prometheus_rule.enabled:
                self.kube.apply(build_prometheus_rule(owner=owner, spec=spec))
            else:
                self.kube.delete(
                    PROMETHEUS_RULE, owner.namespace, naming.prometheus_rule(owner.name)
                )

    def create_job(self, owner: Owner, spec: TrainingBotSpec, request: rollout.JobRequest) -> None:
        if request.kind is JobKind.MIGRATION:
            manifest = build_migration_job(
                owner=owner,
                spec=spec,
                image=request.image,
                name=request.name,
                created_at=self.clock(),
            )
        else:
            manifest = build_smoke_job(
                owner=owner, spec=spec, image=request.image, name=request.name
            )
        self.kube.create(manifest)

    def apply_deployment(
        self,
        body: Mapping[str, Any],
        owner: Owner,
        spec: TrainingBotSpec,
        observed: Observed,
        image: str,
        checksum: str,
        *,
        force: bool,
    ) -> None:
        """Apply the rendered Deployment unless the live one was rendered from the same input."""
        manifest = build_deployment(owner=owner, spec=spec, image=image, config_checksum=checksum)
        live = observed.deployment
        rendered = manifest["metadata"]["annotations"][naming.ANNOTATION_SPEC_HASH]
        if (
            live is not None
            and not force
            and live.owns_image
            and live.spec_hash == rendered
            and live.image == image
        ):
            return
        self.kube.apply(manifest)
        if (
            live is not None
            and live.image == image
            and live.config_checksum
            and live.config_checksum != checksum
        ):
            self.post_event(
                body,
                rollout.Event(
                    "Normal",
                    "ConfigurationChanged",
                    "a referenced Secret or the content ConfigMap changed: rolling the pods "
                    "(checksum annotation on the pod template)",
                ),
            )

    def write_status(
        self, body: Mapping[str, Any], observed: Observed, decision: Decision, *, full: bool
    ) -> None:
        meta = body["metadata"]
        current = dict(body.get("status") or {})
        new = decision.status.to_dict()
        if full:
            new["lastSyncTime"] = rollout.iso(observed.now)
        elif "lastSyncTime" in current:
            new["lastSyncTime"] = current["lastSyncTime"]
        if _without_volatile(new) == _without_volatile(current) and not full:
            return
        patch: dict[str, Any] = {key: None for key in current if key not in new}
        patch.update(new)
        self.kube.patch_status(TRAINING_BOT, meta["namespace"], meta["name"], patch)
        metrics.set_phase(meta["namespace"], meta["name"], new.get("phase"), current.get("phase"))


def _bot_pod_selector(bot: str) -> str:
    labels = naming.selector_labels(bot)
    return ",".join(f"{k}={v}" for k, v in labels.items())


def _without_volatile(status: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in status.items() if k != "lastSyncTime"}
