"""The manifest builders: values in, manifests out (env wiring, pod security, labels, owners)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trainingbot.cli import build_parser
from trainingbot.config import WEBHOOK_PATH
from trainingbot.smoke import resolve_target
from trainingbot_operator import naming
from trainingbot_operator.specs import common
from trainingbot_operator.specs.deployment import build_deployment, container_image
from trainingbot_operator.specs.job import (
    backup_file_name,
    build_migration_job,
    build_smoke_job,
)
from trainingbot_operator.specs.pdb import build_pod_disruption_budget, wants_pod_disruption_budget
from trainingbot_operator.specs.prometheusrule import build_prometheus_rule
from trainingbot_operator.specs.service import build_metrics_service, build_webhook_service
from trainingbot_operator.specs.serviceaccount import build_service_account
from trainingbot_operator.specs.servicemonitor import build_service_monitor

from tests.operator import factories as f

CHECKSUM = "c" * 64


def deployment(**overrides):
    return build_deployment(
        owner=f.OWNER, spec=f.spec(**overrides), image=f.NEW, config_checksum=CHECKSUM
    )


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def pod_spec(manifest: dict) -> dict:
    return manifest["spec"]["template"]["spec"]


def secret(name: str, key: str) -> dict:
    return {"secretKeyRef": {"name": name, "key": key}}


def assert_restricted(pod: dict) -> None:
    """The `restricted` Pod Security Standard, field by field, plus a read-only root fs."""
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == common.BOT_UID != 0
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    for container in pod["containers"] + pod.get("initContainers", []):
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["runAsNonRoot"] is True
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": common.TMP_SIZE_LIMIT}} in pod["volumes"]
    for volume in pod["volumes"]:
        assert "hostPath" not in volume


def assert_owned(manifest: dict) -> None:
    (ref,) = manifest["metadata"]["ownerReferences"]
    assert ref == {
        "apiVersion": "trainingbot.dev/v1alpha1",
        "kind": "TrainingBot",
        "name": f.NAME,
        "uid": f.OWNER.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert manifest["metadata"]["namespace"] == f.NAMESPACE
    labels = manifest["metadata"]["labels"]
    assert labels[naming.LABEL_NAME] == "telegram-training-bot"
    assert labels[naming.LABEL_INSTANCE] == f.NAME
    assert labels[naming.LABEL_MANAGED_BY] == "trainingbot-operator"
    assert labels[naming.LABEL_PART_OF] == "telegram-training-bot"
    assert naming.LABEL_COMPONENT in labels


# --- Deployment ----------------------------------------------------------------------------------


def test_the_deployment_runs_the_given_image_with_the_webhook_environment():
    manifest = deployment()
    assert_owned(manifest)
    (container,) = pod_spec(manifest)["containers"]
    assert container["image"] == f.NEW == container_image(manifest)
    assert container["args"] == ["run"]
    env = env_of(container)
    assert env["BOT_TOKEN"] == secret("bot", "token")
    assert env["BOT_MODE"] == "webhook"
    assert env["WEBHOOK_URL"] == "https://bot.example.org/telegram/webhook"
    assert env["WEBHOOK_SECRET"] == secret("bot", "webhook-secret")
    assert env["WEBHOOK_PORT"] == "8081"
    assert env["HTTP_PORT"] == "8080"
    assert env["DATABASE_URL"] == secret("bot-db", "url")
    assert env["REDIS_URL"] == secret("bot-redis", "url")
    assert env["CONTENT_DIR"] == common.CONTENT_DIR
    assert env["ADMIN_IDS"] == "12345,67890"
    assert env["LOG_FORMAT"] == "json"
    assert env["LOG_LEVEL"] == "INFO"
    assert "REDIS_SENTINELS" not in env and "BOT_API_BASE_URL" not in env
    # No literal secret value ever appears in the manifest.
    assert all("value" in e or "secretKeyRef" in e["valueFrom"] for e in container["env"])


def test_the_deployment_wires_redis_sentinel():
    manifest = deployment(
        redis={
            "sentinel": {
                "hosts": ["redis-sentinel-0:26379", "redis-sentinel-1:26379"],
                "masterName": "bots",
                "passwordSecretRef": {"name": "sentinel", "key": "password"},
            },
            "passwordSecretRef": {"name": "redis", "key": "password"},
        }
    )
    env = env_of(pod_spec(manifest)["containers"][0])
    assert env["REDIS_SENTINELS"] == "redis-sentinel-0:26379,redis-sentinel-1:26379"
    assert env["REDIS_MASTER_NAME"] == "bots"
    assert env["REDIS_SENTINEL_PASSWORD"] == secret("sentinel", "password")
    assert env["REDIS_PASSWORD"] == secret("redis", "password")
    assert "REDIS_URL" not in env


def test_the_sentinel_master_name_defaults_to_mymaster():
    manifest = deployment(redis={"sentinel": {"hosts": ["s:26379"]}})
    env = env_of(pod_spec(manifest)["containers"][0])
    assert env["REDIS_MASTER_NAME"] == "mymaster"
    assert "REDIS_SENTINEL_PASSWORD" not in env and "REDIS_PASSWORD" not in env


def test_the_deployment_meets_the_restricted_pod_security_standard():
    assert_restricted(pod_spec(deployment()))


def test_a_slow_start_is_not_mistaken_for_a_hung_bot():
    """Liveness waits for the startup probe, which allows minutes: a bot that takes long to
    import and connect on a busy node must not be restarted before it ever listened."""
    (container,) = pod_spec(deployment())["containers"]
    startup = container["startupProbe"]
    assert startup["httpGet"] == {"path": "/health", "port": "http"}
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
    assert "initialDelaySeconds" not in container["livenessProbe"]


def test_the_deployment_probes_health_and_readiness_on_the_operations_port():
    (container,) = pod_spec(deployment())["containers"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8080, "webhook": 8081}


def test_webhook_mode_rolls_without_dropping_below_the_desired_count():
    spec = deployment(replicas=3)["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }
    assert spec["progressDeadlineSeconds"] == 300
    assert spec["revisionHistoryLimit"] >= 2  # `kubectl rollout undo` needs history


def test_polling_mode_runs_one_pod_and_recreates_it():
    manifest = deployment(
        mode="polling", replicas=3, telegram={"tokenSecretRef": {"name": "bot", "key": "token"}}
    )
    assert manifest["spec"]["replicas"] == 1
    assert manifest["spec"]["strategy"] == {"type": "Recreate"}
    (container,) = pod_spec(manifest)["containers"]
    env = env_of(container)
    assert env["BOT_MODE"] == "polling"
    assert "WEBHOOK_URL" not in env and "WEBHOOK_SECRET" not in env
    assert [p["name"] for p in container["ports"]] == ["http"]


def test_the_content_configmap_is_mounted_read_only_at_content_dir():
    pod = pod_spec(deployment())
    assert {"name": "content", "configMap": {"name": "onboarding-courses"}} in pod["volumes"]
    mounts = pod["containers"][0]["volumeMounts"]
    assert {"name": "content", "mountPath": common.CONTENT_DIR, "readOnly": True} in mounts
    without = pod_spec(deployment(content=None))
    assert [v["name"] for v in without["volumes"]] == ["tmp"]
    assert "CONTENT_DIR" not in env_of(without["containers"][0])


def test_resources_and_log_level_come_from_the_spec():
    manifest = deployment(resources={"limits": {"memory": "1Gi", "cpu": 2}}, logLevel="DEBUG")
    (container,) = pod_spec(manifest)["containers"]
    assert container["resources"] == {"limits": {"memory": "1Gi", "cpu": 2}}
    assert env_of(container)["LOG_LEVEL"] == "DEBUG"
    default = pod_spec(deployment())["containers"][0]["resources"]
    assert default == {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}


def test_pod_annotations_reach_the_pods_but_cannot_fake_the_checksum():
    manifest = deployment(
        podAnnotations={"example.org/team": "platform", naming.ANNOTATION_CONFIG_CHECKSUM: "forged"}
    )
    annotations = manifest["spec"]["template"]["metadata"]["annotations"]
    assert annotations["example.org/team"] == "platform"
    assert annotations[naming.ANNOTATION_CONFIG_CHECKSUM] == CHECKSUM


def test_the_deployment_labels_the_release_outside_its_selector():
    manifest = deployment()
    assert set(manifest["metadata"]["annotations"]) == {naming.ANNOTATION_SPEC_HASH}
    template_labels = manifest["spec"]["template"]["metadata"]["labels"]
    assert template_labels[naming.LABEL_VERSION] == "1.3.0"
    assert template_labels[naming.LABEL_COMPONENT] == "bot"
    selector = manifest["spec"]["selector"]["matchLabels"]
    assert selector.items() <= template_labels.items()
    assert naming.LABEL_VERSION not in selector  # immutable selector: no per-release labels


def test_the_spec_hash_follows_every_input():
    base = deployment()["metadata"]["annotations"][naming.ANNOTATION_SPEC_HASH]
    assert base == deployment()["metadata"]["annotations"][naming.ANNOTATION_SPEC_HASH]
    other = build_deployment(owner=f.OWNER, spec=f.spec(), image=f.NEW, config_checksum="d" * 64)
    assert other["metadata"]["annotations"][naming.ANNOTATION_SPEC_HASH] != base
    scaled = deployment(replicas=4)["metadata"]["annotations"][naming.ANNOTATION_SPEC_HASH]
    assert scaled != base


def test_the_config_checksum_changes_with_any_referenced_value():
    secrets = {("bot", "token"): "dG9rZW4=", ("bot-db", "url"): "cG9zdGdyZXM="}
    maps = {"onboarding-courses": {"course.yaml": "title: On-call 101"}}
    base = common.config_checksum(secrets, maps)
    assert base == common.config_checksum(dict(reversed(secrets.items())), maps)
    rotated = {**secrets, ("bot", "token"): "bmV3"}
    assert common.config_checksum(rotated, maps) != base
    edited = {"onboarding-courses": {"course.yaml": "title: On-call 102"}}
    assert common.config_checksum(secrets, edited) != base
    missing = {**secrets, ("bot", "token"): None}
    assert common.config_checksum(missing, maps) != base


# --- Services, ServiceAccount, PDB ---------------------------------------------------------------


def test_the_service_account_mounts_no_token():
    manifest = build_service_account(owner=f.OWNER)
    assert_owned(manifest)
    assert manifest["automountServiceAccountToken"] is False
    assert manifest["metadata"]["name"] == naming.service_account(f.NAME)


def test_the_services_select_the_bot_pods_by_named_port():
    metrics = build_metrics_service(owner=f.OWNER)
    webhook = build_webhook_service(owner=f.OWNER)
    for service in (metrics, webhook):
        assert_owned(service)
        assert service["spec"]["selector"] == naming.selector_labels(f.NAME)
    assert metrics["metadata"]["name"] == f"{f.NAME}-metrics"
    assert metrics["spec"]["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
    ]
    assert metrics["metadata"]["labels"][naming.LABEL_COMPONENT] == "metrics"
    assert webhook["metadata"]["name"] == f"{f.NAME}-webhook"
    assert webhook["spec"]["ports"][0]["targetPort"] == "webhook"


@pytest.mark.parametrize(
    ("overrides", "wanted"),
    [
        ({"replicas": 2}, True),
        ({"replicas": 1}, False),
        ({"mode": "polling", "replicas": 3}, False),
    ],
)
def test_a_pdb_exists_only_with_more_than_one_pod(overrides, wanted):
    assert wants_pod_disruption_budget(f.spec(**overrides)) is wanted


def test_the_pdb_lets_one_pod_go_at_a_time():
    pdb = build_pod_disruption_budget(owner=f.OWNER)
    assert_owned(pdb)
    assert pdb["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": naming.selector_labels(f.NAME)},
    }


# --- Jobs ----------------------------------------------------------------------------------------


CREATED = datetime(2026, 11, 27, 9, 30, 5, tzinfo=UTC)


def migration_job(**overrides):
    return build_migration_job(
        owner=f.OWNER,
        spec=f.spec(**overrides),
        image=f.NEW,
        name="oncall-migrate-1",
        created_at=CREATED,
    )


def test_the_migration_job_runs_migrate_with_the_new_image_and_a_deadline():
    job = migration_job(migrations={"timeoutSeconds": 120, "backoffLimit": 0})
    assert_owned(job)
    assert job["metadata"]["name"] == "oncall-migrate-1"
    assert job["spec"]["activeDeadlineSeconds"] == 120
    assert job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert "initContainers" not in pod
    (migrate,) = pod["containers"]
    assert migrate["image"] == f.NEW
    assert migrate["args"] == ["migrate"]
    assert env_of(migrate)["DATABASE_URL"] == secret("bot-db", "url")
    assert job["spec"]["template"]["metadata"]["labels"][naming.LABEL_COMPONENT] == "migration"
    assert_restricted(pod)


def test_the_backup_runs_pg_dump_into_the_claim_before_migrating():
    job = migration_job(
        migrations={"backup": {"enabled": True, "persistentVolumeClaimName": "bot-backups"}}
    )
    pod = job["spec"]["template"]["spec"]
    (backup,) = pod["initContainers"]
    assert backup["image"] == f.NEW
    assert "command" not in backup  # the image's entrypoint, training-bot
    expected_file = "/backups/oncall-20261127T093005Z-example.org_telegram-training-bot_1.3.0.dump"
    assert backup["args"] == ["backup", "--file", expected_file]
    # The database URL (with its password) only in the environment, never an argument.
    assert env_of(backup)["DATABASE_URL"] == secret("bot-db", "url")
    assert not any("$(" in arg for arg in backup["args"])
    assert {"name": "backups", "mountPath": "/backups"} in backup["volumeMounts"]
    assert {"name": "backups", "persistentVolumeClaim": {"claimName": "bot-backups"}} in pod[
        "volumes"
    ]
    assert_restricted(pod)


def test_backup_files_are_named_by_time_and_image():
    name = backup_file_name("oncall", "example.org/bot@sha256:" + "a" * 64, CREATED)
    assert name.startswith("oncall-20261127T093005Z-example.org_bot_sha256_")
    assert name.endswith(".dump") and "/" not in name


def test_job_pods_carry_the_pod_annotations():
    job = migration_job(podAnnotations={"kwok.trainingbot.dev/fail-migration": "true"})
    annotations = job["spec"]["template"]["metadata"]["annotations"]
    assert annotations["kwok.trainingbot.dev/fail-migration"] == "true"


def test_the_smoke_job_checks_the_services_and_sends_a_signed_update():
    job = build_smoke_job(owner=f.OWNER, spec=f.spec(), image=f.NEW, name="oncall-smoke-1")
    assert_owned(job)
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["activeDeadlineSeconds"] == 120
    pod = job["spec"]["template"]["spec"]
    (smoke,) = pod["containers"]
    assert smoke["args"] == [
        "smoke",
        "--target",
        "http://oncall-metrics:8080",
        "--webhook-url",
        "http://oncall-webhook:8081",
    ]
    # The secret from the environment smoke reads, not from its command line.
    assert env_of(smoke)["SMOKE_WEBHOOK_SECRET"] == secret("bot", "webhook-secret")
    assert not any("$(" in arg for arg in smoke["args"])
    assert job["spec"]["template"]["metadata"]["labels"][naming.LABEL_COMPONENT] == "smoke-test"
    assert_restricted(pod)


def test_smoke_reads_the_jobs_arguments_and_environment_as_meant():
    """What `training-bot smoke` makes of the Job: the webhook path added, the secret found."""
    job = build_smoke_job(owner=f.OWNER, spec=f.spec(), image=f.NEW, name="oncall-smoke-1")
    (smoke,) = job["spec"]["template"]["spec"]["containers"]
    args = build_parser().parse_args(smoke["args"])
    environ = {name: "s3cret" for name in env_of(smoke) if name.startswith("SMOKE_")}
    target = resolve_target(args.target, args.webhook_url, args.webhook_secret, environ)
    assert target.url == "http://oncall-metrics:8080"
    assert target.webhook_url == f"http://oncall-webhook:8081{WEBHOOK_PATH}"
    assert target.webhook_secret == "s3cret"


def test_the_smoke_job_in_polling_mode_checks_the_operations_port_only():
    spec = f.spec(mode="polling", telegram={"tokenSecretRef": {"name": "bot", "key": "t"}})
    job = build_smoke_job(owner=f.OWNER, spec=spec, image=f.NEW, name="oncall-smoke-1")
    (smoke,) = job["spec"]["template"]["spec"]["containers"]
    assert smoke["args"] == ["smoke", "--target", "http://oncall-metrics:8080"]


# --- monitoring ----------------------------------------------------------------------------------


def test_the_service_monitor_scrapes_the_metrics_service():
    spec = f.spec(
        monitoring={"serviceMonitor": {"interval": "15s", "labels": {"release": "prometheus"}}}
    )
    monitor = build_service_monitor(owner=f.OWNER, spec=spec)
    assert_owned(monitor)
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["selector"]["matchLabels"] == naming.selector_labels(
        f.NAME, naming.COMPONENT_METRICS
    )
    service_labels = build_metrics_service(owner=f.OWNER)["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service_labels.items()
    assert monitor["spec"]["endpoints"] == [
        {"port": "http", "path": "/metrics", "interval": "15s", "scheme": "http"}
    ]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [f.NAMESPACE]}


def test_the_prometheus_rule_wraps_the_alert_groups_scoped_to_this_bot():
    calls = []

    def stub(**kwargs):
        calls.append(kwargs)
        return [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0"}]}]

    spec = f.spec(
        monitoring={
            "prometheusRule": {
                "errorRateThreshold": 0.1,
                "latencyP95SloSeconds": 2,
                "runbookBaseUrl": "https://docs.example.org/RUNBOOK.md",
                "labels": {"release": "prometheus"},
            }
        },
        resources={"limits": {"memory": "512Mi"}},
    )
    rule = build_prometheus_rule(owner=f.OWNER, spec=spec, groups_fn=stub)
    assert_owned(rule)
    assert rule["kind"] == "PrometheusRule"
    assert rule["spec"] == {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0"}]}]}
    assert rule["metadata"]["labels"]["release"] == "prometheus"
    (call,) = calls
    assert call["selector"] == {"namespace": f.NAMESPACE, "service": "oncall-metrics"}
    assert call["trainingbot"] == {"trainingbot_namespace": f.NAMESPACE, "trainingbot_name": f.NAME}
    assert call["error_rate_threshold"] == 0.1
    assert call["latency_p95_slo_seconds"] == 2
    assert call["runbook_base_url"] == "https://docs.example.org/RUNBOOK.md"
    assert call["memory_limit_bytes"] == 512 * 2**20
    assert call["include_operator_health"] is False


def test_the_real_alert_rules_render_for_a_bot():
    rule = build_prometheus_rule(owner=f.OWNER, spec=f.spec())
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert exprs and any('service="oncall-metrics"' in e for e in exprs)


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        ("256Mi", 256 * 2**20),
        ("1Gi", 2**30),
        ("1G", 10**9),
        ("1e3", 1000),
        (512, 512),
        ("500m", 0),
        (None, None),
        ("lots", None),
    ],
)
def test_quantities_parse_to_bytes(quantity, expected):
    assert common.quantity_bytes(quantity) == expected
