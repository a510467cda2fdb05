"""Every name and label the operator gives its children, in one place.

A TrainingBot named `oncall` owns: ServiceAccount, Deployment, PodDisruptionBudget,
ServiceMonitor and PrometheusRule `oncall`; Services `oncall-metrics` (operations port: health,
readiness, metrics) and `oncall-webhook`; Jobs `oncall-migrate-<hash>` and `oncall-smoke-<hash>`.
The CRD keeps TrainingBot names at 40 characters or fewer so that every child name stays a valid
label value (63), which a Job's name must be (its pods carry it as the `job-name` label).
"""

from __future__ import annotations

import hashlib
import re

APP_NAME = "telegram-training-bot"
MANAGED_BY = "trainingbot-operator"

#: Annotation and label prefix of everything the operator itself writes (kopf's too).
PREFIX = "trainingbot.dev"

COMPONENT_BOT = "bot"
COMPONENT_MIGRATION = "migration"
COMPONENT_SMOKE_TEST = "smoke-test"
COMPONENT_METRICS = "metrics"
COMPONENT_WEBHOOK = "webhook"
COMPONENT_MONITORING = "monitoring"

LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_VERSION = "app.kubernetes.io/version"

#: On the Deployment: a digest of the manifest the operator rendered, to skip no-op patches.
ANNOTATION_SPEC_HASH = f"{PREFIX}/spec-hash"
#: On pod templates: a digest of the referenced Secrets' keys and the content ConfigMap's data.
ANNOTATION_CONFIG_CHECKSUM = f"{PREFIX}/config-checksum"
#: On Jobs: the bot image they run and the kind of Job.
ANNOTATION_IMAGE = f"{PREFIX}/image"

_VERSION_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")


def service_account(bot: str) -> str:
    return bot


def deployment(bot: str) -> str:
    return bot


def pod_disruption_budget(bot: str) -> str:
    return bot


def metrics_service(bot: str) -> str:
    return f"{bot}-metrics"


def webhook_service(bot: str) -> str:
    return f"{bot}-webhook"


def service_monitor(bot: str) -> str:
    return bot


def prometheus_rule(bot: str) -> str:
    return bot


def _digest(*parts: object, length: int = 10) -> str:
    joined = "\x00".join(str(p) for p in parts)
    return hashlib.sha256(joined.encode()).hexdigest()[:length]


def migration_job(bot: str, image: str, generation: int) -> str:
    """One Job per (image, spec generation): a spec change after a failure is a new attempt."""
    return f"{bot}-migrate-{_digest(image, generation)}"


def smoke_job(bot: str, image: str, started_at: str) -> str:
    """One Job per rollout attempt of an image (identified by when the attempt started)."""
    return f"{bot}-smoke-{_digest(image, started_at)}"


def image_version(image: str) -> str | None:
    """The tag of an image, when it is a valid label value (for app.kubernetes.io/version)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    tag = last.rsplit(":", 1)[1]
    return tag if _VERSION_RE.match(tag) else None


def common_labels(bot: str, component: str) -> dict[str, str]:
    """The `app.kubernetes.io/*` labels every child carries."""
    return {
        LABEL_NAME: APP_NAME,
        LABEL_INSTANCE: bot,
        LABEL_COMPONENT: component,
        LABEL_PART_OF: APP_NAME,
        LABEL_MANAGED_BY: MANAGED_BY,
    }


def selector_labels(bot: str, component: str = COMPONENT_BOT) -> dict[str, str]:
    """The immutable subset that selects a bot's pods (Deployment selector, Services, PDB)."""
    return {LABEL_NAME: APP_NAME, LABEL_INSTANCE: bot, LABEL_COMPONENT: component}


def instance_selector(bot: str) -> str:
    """A label selector (string form) for every child of one bot."""
    return f"{LABEL_INSTANCE}={bot},{LABEL_MANAGED_BY}={MANAGED_BY}"


def owner_of(labels: dict[str, str] | None) -> str | None:
    """The TrainingBot name a child belongs to, from its labels (None if not ours)."""
    labels = labels or {}
    if labels.get(LABEL_MANAGED_BY) != MANAGED_BY:
        return None
    return labels.get(LABEL_INSTANCE)
