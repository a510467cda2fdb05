"""The bot's Deployment: environment per DESIGN's table, probes, restricted pod security."""

from __future__ import annotations

from typing import Any

from trainingbot_operator import naming
from trainingbot_operator.models import Mode, TrainingBotSpec
from trainingbot_operator.specs import common
from trainingbot_operator.specs.common import Owner

# Enough revisions for `kubectl rollout undo --to-revision` over a few weeks of releases.
REVISION_HISTORY_LIMIT = 10
# Below the bot's SHUTDOWN_TIMEOUT (20 s) plus margin: pools close before SIGKILL.
TERMINATION_GRACE_SECONDS = 30


def bot_environment(spec: TrainingBotSpec) -> list[dict[str, Any]]:
    """The bot's environment (names are the contract in src/bot/config.py)."""
    env = [
        common.env_secret("BOT_TOKEN", spec.telegram.token_secret_ref),
        common.env_value("BOT_MODE", spec.mode.value),
    ]
    if spec.telegram.api_base_url:
        env.append(common.env_value("BOT_API_BASE_URL", spec.telegram.api_base_url))
    if spec.mode is Mode.WEBHOOK and spec.telegram.webhook is not None:
        env += [
            common.env_value("WEBHOOK_URL", spec.telegram.webhook.url),
            common.env_secret("WEBHOOK_SECRET", spec.telegram.webhook.secret_token_secret_ref),
            common.env_value("WEBHOOK_PORT", str(common.WEBHOOK_PORT)),
        ]
    env += [
        common.env_value("HTTP_PORT", str(common.HTTP_PORT)),
        common.env_secret("DATABASE_URL", spec.database.url_secret_ref),
    ]
    redis = spec.redis
    if redis.url_secret_ref is not None:
        env.append(common.env_secret("REDIS_URL", redis.url_secret_ref))
    if redis.sentinel is not None:
        env += [
            common.env_value("REDIS_SENTINELS", ",".join(redis.sentinel.hosts)),
            common.env_value("REDIS_MASTER_NAME", redis.sentinel.master_name),
        ]
        if redis.sentinel.password_secret_ref is not None:
            env.append(
                common.env_secret("REDIS_SENTINEL_PASSWORD", redis.sentinel.password_secret_ref)
            )
    if redis.password_secret_ref is not None:
        env.append(common.env_secret("REDIS_PASSWORD", redis.password_secret_ref))
    if spec.content is not None:
        env.append(common.env_value("CONTENT_DIR", common.CONTENT_DIR))
    if spec.admin_ids:
        env.append(common.env_value("ADMIN_IDS", ",".join(str(i) for i in spec.admin_ids)))
    env += [
        common.env_value("LOG_LEVEL", spec.log_level),
        common.env_value("LOG_FORMAT", "json"),
    ]
    return env


def _strategy(spec: TrainingBotSpec) -> dict[str, Any]:
    if spec.mode is Mode.POLLING:
        # Two pollers steal each other's updates (Telegram answers 409): stop the old pod first.
        return {"type": "Recreate"}
    # Never below the desired count: the old pods serve until a new one is Ready.
    return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def _container(spec: TrainingBotSpec, image: str) -> dict[str, Any]:
    ports = [{"name": "http", "containerPort": common.HTTP_PORT, "protocol": "TCP"}]
    if spec.mode is Mode.WEBHOOK:
        ports.append({"name": "webhook", "containerPort": common.WEBHOOK_PORT, "protocol": "TCP"})
    mounts = [common.tmp_mount()]
    if spec.content is not None:
        mounts.append({"name": "content", "mountPath": common.CONTENT_DIR, "readOnly": True})
    resources = spec.resources.model_dump(exclude_defaults=False)
    return {
        "name": "bot",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["run"],
        "ports": ports,
        "env": bot_environment(spec),
        "resources": {k: dict(v) for k, v in resources.items() if v},
        # The bot imports aiogram and connects before it listens: tens of seconds on a busy
        # node (seen on kind on two cores). Liveness starts only once the startup probe has
        # passed, so a slow start is never mistaken for a hung process and restarted.
        "startupProbe": {
            "httpGet": {"path": "/health", "port": "http"},
            "periodSeconds": 2,
            "timeoutSeconds": 3,
            "failureThreshold": 90,
        },
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": "http"},
            "periodSeconds": 10,
            "timeoutSeconds": 3,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": "http"},
            "periodSeconds": 5,
            "timeoutSeconds": 3,
            "failureThreshold": 3,
        },
        "securityContext": common.container_security_context(),
        "volumeMounts": mounts,
    }


def build_deployment(
    *,
    owner: Owner,
    spec: TrainingBotSpec,
    image: str,
    config_checksum: str,
) -> dict[str, Any]:
    """The Deployment running `image` (which the rollout decides, not always `spec.image`)."""
    bot = owner.name
    volumes = [common.tmp_volume()]
    if spec.content is not None:
        volumes.append({"name": "content", "configMap": {"name": spec.content.config_map_name}})
    template_labels = naming.common_labels(bot, naming.COMPONENT_BOT)
    version = naming.image_version(image)
    if version:
        template_labels[naming.LABEL_VERSION] = version
    manifest: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": common.metadata(
            naming.deployment(bot),
            owner,
            naming.common_labels(bot, naming.COMPONENT_BOT),
        ),
        "spec": {
            "replicas": spec.effective_replicas,
            "selector": {"matchLabels": naming.selector_labels(bot)},
            "strategy": _strategy(spec),
            "progressDeadlineSeconds": spec.rollout.progress_deadline_seconds,
            "revisionHistoryLimit": REVISION_HISTORY_LIMIT,
            "template": {
                "metadata": {
                    "labels": template_labels,
                    "annotations": common.pod_annotations(
                        spec.pod_annotations,
                        {naming.ANNOTATION_CONFIG_CHECKSUM: config_checksum},
                    ),
                },
                "spec": {
                    "serviceAccountName": naming.service_account(bot),
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
                    "securityContext": common.pod_security_context(),
                    "containers": [_container(spec, image)],
                    "volumes": volumes,
                },
            },
        },
    }
    manifest["metadata"]["annotations"] = {naming.ANNOTATION_SPEC_HASH: common.digest(manifest)}
    return manifest


def container_image(deployment: dict[str, Any] | None) -> str | None:
    """The bot container's image in a Deployment's pod template."""
    if not deployment:
        return None
    containers = deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers")
    for container in containers or []:
        if container.get("name") == "bot":
            return container.get("image")
    return None
