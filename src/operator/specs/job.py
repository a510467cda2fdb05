"""The operator's Jobs: migration (backup first, then `training-bot migrate`) and smoke test.

Both run the bot's own image (it carries alembic, its migrations, `pg_dump` and the
`training-bot backup` command around it), with the same restricted pod security as the bot, and
carry `spec.podAnnotations` like the bot's pods. No secret is ever an argument: they reach the
containers as environment variables from their Secrets.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from trainingbot_operator import naming
from trainingbot_operator.models import Mode, TrainingBotSpec
from trainingbot_operator.specs import common
from trainingbot_operator.specs.common import Owner

KIND_MIGRATION = "migration"
KIND_SMOKE_TEST = "smoke-test"
ANNOTATION_JOB_KIND = f"{naming.PREFIX}/job-kind"

# A smoke test that fails once is a failed rollout: retrying would only delay the rollback.
SMOKE_BACKOFF_LIMIT = 0
#: Where `training-bot smoke` reads the webhook secret when no --webhook-secret is given.
SMOKE_WEBHOOK_SECRET_ENV = "SMOKE_WEBHOOK_SECRET"


def backup_file_name(bot: str, image: str, created_at: datetime) -> str:
    """`<bot>-<UTC time>-<image>.dump`: sortable by time, and says which release it preceded."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", image).strip("_")[-100:]
    return f"{bot}-{created_at.strftime('%Y%m%dT%H%M%SZ')}-{slug}.dump"


def _pod_template(
    *,
    owner: Owner,
    spec: TrainingBotSpec,
    component: str,
    image: str,
    containers: list[dict[str, Any]],
    init_containers: list[dict[str, Any]] | None = None,
    volumes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": naming.service_account(owner.name),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": common.pod_security_context(),
        "containers": containers,
        "volumes": [common.tmp_volume(), *(volumes or [])],
    }
    if init_containers:
        pod_spec["initContainers"] = init_containers
    annotations = common.pod_annotations(spec.pod_annotations, {naming.ANNOTATION_IMAGE: image})
    return {
        "metadata": {
            "labels": common.job_labels(owner.name, component, image),
            "annotations": annotations,
        },
        "spec": pod_spec,
    }


def _job(
    *,
    owner: Owner,
    name: str,
    component: str,
    kind: str,
    image: str,
    deadline_seconds: int,
    backoff_limit: int,
    template: dict[str, Any],
) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": common.metadata(
            name,
            owner,
            common.job_labels(owner.name, component, image),
            {naming.ANNOTATION_IMAGE: image, ANNOTATION_JOB_KIND: kind},
        ),
        "spec": {
            "backoffLimit": backoff_limit,
            "activeDeadlineSeconds": deadline_seconds,
            # Kept a day for `kubectl logs job/…`; the result is in the TrainingBot's status.
            "ttlSecondsAfterFinished": 86400,
            "template": template,
        },
    }


def _container(name: str, image: str, env: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "securityContext": common.container_security_context(),
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "volumeMounts": [common.tmp_mount(), *extra.pop("mounts", [])],
        **extra,
    }


def build_migration_job(
    *,
    owner: Owner,
    spec: TrainingBotSpec,
    image: str,
    name: str,
    created_at: datetime,
) -> dict[str, Any]:
    """Backup (when enabled) in an init container, then `training-bot migrate`; both `image`."""
    database = [common.env_secret("DATABASE_URL", spec.database.url_secret_ref)]
    logs = [common.env_value("LOG_FORMAT", "json"), common.env_value("LOG_LEVEL", spec.log_level)]
    init_containers: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    backup = spec.migrations.backup
    if backup.enabled and backup.persistent_volume_claim_name:
        path = f"{common.BACKUP_DIR}/{backup_file_name(owner.name, image, created_at)}"
        init_containers.append(
            _container(
                "backup",
                image,
                database,
                # `training-bot backup` runs pg_dump with DATABASE_URL's password in a password
                # file: given as `pg_dump --dbname=$(DATABASE_URL)`, it would be in the
                # process's arguments, which anyone who lists the node's processes reads.
                args=["backup", "--file", path],
                mounts=[{"name": "backups", "mountPath": common.BACKUP_DIR}],
            )
        )
        volumes.append(
            {
                "name": "backups",
                "persistentVolumeClaim": {"claimName": backup.persistent_volume_claim_name},
            }
        )
    migrate = _container("migrate", image, database + logs, args=["migrate"])
    template = _pod_template(
        owner=owner,
        spec=spec,
        component=naming.COMPONENT_MIGRATION,
        image=image,
        containers=[migrate],
        init_containers=init_containers,
        volumes=volumes,
    )
    return _job(
        owner=owner,
        name=name,
        component=naming.COMPONENT_MIGRATION,
        kind=KIND_MIGRATION,
        image=image,
        deadline_seconds=spec.migrations.timeout_seconds,
        backoff_limit=spec.migrations.backoff_limit,
        template=template,
    )


def smoke_target(owner: Owner) -> str:
    return f"http://{naming.metrics_service(owner.name)}:{common.HTTP_PORT}"


def build_smoke_job(
    *,
    owner: Owner,
    spec: TrainingBotSpec,
    image: str,
    name: str,
) -> dict[str, Any]:
    """`training-bot smoke` against the Services; in webhook mode one signed synthetic update."""
    args = ["smoke", "--target", smoke_target(owner)]
    env = [common.env_value("LOG_FORMAT", "json")]
    if spec.mode is Mode.WEBHOOK and spec.telegram.webhook is not None:
        # The listener only: smoke adds the webhook path (/telegram/webhook) itself.
        webhook = f"http://{naming.webhook_service(owner.name)}:{common.WEBHOOK_PORT}"
        args += ["--webhook-url", webhook]
        # From the environment, not an argument: the secret stays off the process's command
        # line (and out of the Job spec, as a secretKeyRef).
        env.append(
            common.env_secret(
                SMOKE_WEBHOOK_SECRET_ENV, spec.telegram.webhook.secret_token_secret_ref
            )
        )
    smoke = _container("smoke", image, env, args=args)
    template = _pod_template(
        owner=owner,
        spec=spec,
        component=naming.COMPONENT_SMOKE_TEST,
        image=image,
        containers=[smoke],
    )
    return _job(
        owner=owner,
        name=name,
        component=naming.COMPONENT_SMOKE_TEST,
        kind=KIND_SMOKE_TEST,
        image=image,
        deadline_seconds=spec.rollout.smoke_test_timeout_seconds,
        backoff_limit=SMOKE_BACKOFF_LIMIT,
        template=template,
    )
