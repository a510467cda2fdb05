"""What only real pods can show (`make e2e-kind`): probes that really pass, a migration Job
that backs the real database up onto a real volume, trainees who keep chatting while a release
rolls out, a release that really crash-loops and is rolled back, a Sentinel failover, a rotated
Secret, and an operator pod killed in the middle of a migration.

Marked `kind`: the kwok run of `make test` deselects them (no container runs there), and
`scripts/e2e-kind.sh` runs them on the kind cluster it builds.
"""

from __future__ import annotations

import os
import secrets
import time

import pytest

from trainingbot_operator.specs.common import BACKUP_DIR, HTTP_PORT

from e2e import backing
from e2e.platform import Platform
from e2e.realpods import RemoteTrainee, in_cluster_get, port_forward
from e2e.test_trainingbot import migration_jobs

pytestmark = pytest.mark.kind

CRASHLOOP_IMAGE = os.environ.get("E2E_IMAGE_CRASHLOOP", "telegram-training-bot:e2e-crashloop")
# Generous for two busy cores: a real bot pod imports, connects and registers its webhook.
READY_TIMEOUT = 300


@pytest.fixture(autouse=True)
def real_pods(platform: Platform) -> None:
    if platform.simulated:
        raise AssertionError(
            "these scenarios need pods that really run: `make e2e-kind` runs them on kind "
            '(the kwok run deselects them with -m "not kind")'
        )


@pytest.fixture
def emulator_url(platform: Platform):
    with port_forward(platform, "svc/e2e-bot-api", 8081) as url:
        yield url


def ready_bot(platform: Platform, name: str, **spec) -> dict:
    platform.apply_bot(platform.bot_manifest(name, **spec))
    return platform.wait_phase(name, "Ready", timeout=READY_TIMEOUT)


def bot_pods(platform: Platform, name: str) -> list[dict]:
    return platform.kube.kubectl_json(
        "get",
        "pods",
        "-n",
        platform.namespace,
        "-l",
        f"app.kubernetes.io/instance={name},app.kubernetes.io/component=bot",
    )["items"]


def trainees(url: str, count: int) -> list[RemoteTrainee]:
    base = 700_000_000 + secrets.randbelow(10**6) * 100
    return [RemoteTrainee(url, base + i) for i in range(count)]


def test_bot_pods_pass_their_real_probes_and_answer_ready_inside_the_cluster(
    platform: Platform, bot_name: str, emulator_url: str
):
    ready_bot(platform, bot_name)

    pods = bot_pods(platform, bot_name)
    assert len(pods) == 2
    for pod in pods:
        container = next(c for c in pod["status"]["containerStatuses"] if c["name"] == "bot")
        assert container["ready"] and "running" in container["state"], container
        assert container["restartCount"] == 0, "a liveness probe failure restarts the pod"
        assert pod["spec"]["containers"][0]["image"] == platform.image
    status, body = in_cluster_get(platform, f"http://{bot_name}-metrics:{HTTP_PORT}/ready")
    assert status == 200, body
    status, body = in_cluster_get(platform, f"http://{bot_name}-metrics:{HTTP_PORT}/metrics")
    assert status == 200 and "bot_updates_total" in body

    # And a trainee is answered by the bot through Telegram's (emulated) webhook delivery.
    (trainee,) = trainees(emulator_url, 1)
    assert "/progress" in trainee.say("/help")["text"]


def test_the_migration_job_backs_up_onto_a_real_volume_then_migrates(
    platform: Platform, bot_name: str
):
    claim = f"{bot_name}-backups"
    platform.kube.apply(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "256Mi"}},
            },
        },
        platform.namespace,
    )
    ready_bot(
        platform,
        bot_name,
        migrations={
            "enabled": True,
            "timeoutSeconds": 240,
            "backup": {"enabled": True, "persistentVolumeClaimName": claim},
        },
    )
    job = migration_jobs(platform, bot_name)[-1]
    assert job["status"].get("succeeded") == 1
    logs = platform.kubectl("logs", f"job/{job['metadata']['name']}", "--all-containers").stdout
    assert "head" in logs.lower() or "upgrade" in logs.lower(), logs

    # The dump is on the volume, and it restores into a scratch database.
    scratch = f"restore_{secrets.token_hex(3)}"
    script = (
        "set -eu\n"
        f"dump=$(ls -t {BACKUP_DIR}/*.dump | head -n 1)\n"
        'echo "dump: $dump"; ls -l "$dump"\n'
        f'psql "$DATABASE_URL" -qc "create database {scratch}"\n'
        f'target="${{DATABASE_URL%/*}}/{scratch}"\n'
        'pg_restore --no-owner -d "$target" "$dump"\n'
        'echo "revision: $(psql "$target" -tAc "select version_num from alembic_version")"\n'
        f'psql "$DATABASE_URL" -qc "drop database {scratch}"\n'
    )
    pod = f"{bot_name}-restore"
    platform.kube.apply(
        restore_pod(pod, platform.image, claim, f"{bot_name}-secrets", script), platform.namespace
    )
    platform.wait_for(
        lambda: platform.get("pod", pod)["status"].get("phase") in ("Succeeded", "Failed"),
        180,
        "the restore check to finish",
    )
    out = platform.kubectl("logs", pod).stdout
    assert platform.get("pod", pod)["status"]["phase"] == "Succeeded", out
    assert "dump: /backups/" in out and "revision: " in out, out
    assert out.split("revision: ")[1].strip(), "the restored database carries its revision"


def restore_pod(name: str, image: str, claim: str, secret: str, script: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "restore",
                    "image": image,
                    "command": ["sh", "-c", script],
                    "env": [
                        {
                            "name": "DATABASE_URL",
                            "valueFrom": {"secretKeyRef": {"name": secret, "key": "database-url"}},
                        }
                    ],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                    "volumeMounts": [{"name": "backups", "mountPath": BACKUP_DIR}],
                }
            ],
            "volumes": [{"name": "backups", "persistentVolumeClaim": {"claimName": claim}}],
        },
    }


def test_trainees_lose_nothing_and_get_nothing_twice_across_a_rollout(
    platform: Platform, bot_name: str, emulator_url: str
):
    ready_bot(platform, bot_name)
    people = trainees(emulator_url, 3)
    starts = {t.user_id: t.last_id() for t in people}

    platform.patch_bot(bot_name, {"spec": {"image": platform.image_next}})
    sent = 0
    deadline = time.monotonic() + READY_TIMEOUT
    # Keep talking until the new release is Ready, then a little after.
    while time.monotonic() < deadline:
        for trainee in people:
            trainee.say("/help", timeout=90)
        sent += 1
        status = platform.status(bot_name)
        if status.get("phase") == "Ready" and status.get("image") == platform.image_next:
            break
    assert platform.status(bot_name).get("image") == platform.image_next
    time.sleep(3)  # a redelivered update would answer again within this
    for trainee in people:
        replies = trainee.new_since(starts[trainee.user_id])
        assert len(replies) == sent, f"{trainee.user_id}: {sent} sent, {len(replies)} replies"


def test_a_release_that_crash_loops_is_rolled_back_and_the_bot_keeps_answering(
    platform: Platform, bot_name: str, emulator_url: str
):
    ready_bot(platform, bot_name)
    platform.patch_bot(bot_name, {"spec": {"image": CRASHLOOP_IMAGE}})

    status = platform.wait_phase(bot_name, "RolledBack", timeout=READY_TIMEOUT)
    assert status["rejectedImage"] == CRASHLOOP_IMAGE
    assert status["stableImage"] == platform.image
    platform.kubectl("rollout", "status", f"deployment/{bot_name}", "--timeout=180s")
    assert platform.deployment_image(bot_name) == platform.image
    (trainee,) = trainees(emulator_url, 1)
    assert "/progress" in trainee.say("/help")["text"]


def test_the_conversation_goes_on_when_the_redis_master_pod_is_deleted(
    platform: Platform, bot_name: str, emulator_url: str
):
    sentinel = {
        "sentinel": {
            "hosts": platform.backing["sentinel_hosts"],
            "masterName": platform.backing["sentinel_master"],
        }
    }
    ready_bot(platform, bot_name, redis=sentinel)
    (trainee,) = trainees(emulator_url, 1)
    trainee.say("/start")
    before = sentinel_master(platform)

    platform.kubectl("delete", "pod", before.split(".")[0], "--wait=false")
    try:
        after = platform.wait_for(
            lambda: (m := sentinel_master(platform)) != before and m,
            60,
            "Sentinel to promote the replica",
        )
        assert after != before
        # The conversation goes on with the promoted master: the trainee is known and answered.
        assert trainee.say("/progress", timeout=90)["text"]
        assert trainee.say("/help", timeout=90)["text"]
    finally:
        fail_back(platform, before)


def fail_back(platform: Platform, master: str) -> None:
    """Make `master` the master again, for the bots that address it by URL in later tests."""

    def back():
        if sentinel_master(platform) == master:
            return True
        sentinel_cli(platform, "sentinel", "failover", backing.SENTINEL_MASTER)
        return False

    platform.wait_for(back, 120, f"Sentinel to fail back to {master}")
    platform.kubectl("rollout", "status", "statefulset/e2e-redis", "--timeout=120s")


def sentinel_cli(platform: Platform, *args: str) -> str:
    cli = ("exec", "e2e-sentinel-0", "--", "redis-cli", "-p", "26379")
    return platform.kubectl(*cli, *args, check=False).stdout


def sentinel_master(platform: Platform) -> str:
    out = sentinel_cli(
        platform, "sentinel", "get-master-addr-by-name", backing.SENTINEL_MASTER
    ).split()
    return out[0] if out else ""


def test_rotating_the_bots_secret_rolls_the_pods_and_the_bot_still_answers(
    platform: Platform, bot_name: str, emulator_url: str
):
    ready_bot(platform, bot_name)
    before = {p["metadata"]["name"] for p in bot_pods(platform, bot_name)}
    values = backing.secret_data(platform.kube, platform.namespace, f"{bot_name}-secrets")
    platform.secret(f"{bot_name}-secrets", {**values, "webhook-secret": secrets.token_hex(16)})

    def rolled():
        pods = bot_pods(platform, bot_name)
        names = {p["metadata"]["name"] for p in pods}
        ready = all(all(c["ready"] for c in p["status"].get("containerStatuses", [])) for p in pods)
        return len(pods) == 2 and not names & before and ready

    platform.wait_for(rolled, READY_TIMEOUT, "new pods with the rotated Secret, Ready")
    (trainee,) = trainees(emulator_url, 1)
    assert "/progress" in trainee.say("/help", timeout=90)["text"]


def test_an_operator_pod_killed_mid_migration_is_replaced_and_the_rollout_completes(
    platform: Platform, bot_name: str
):
    ready_bot(platform, bot_name)
    before = len(migration_jobs(platform, bot_name))
    platform.patch_bot(bot_name, {"spec": {"image": platform.image_next}})
    platform.wait_for(
        lambda: len(migration_jobs(platform, bot_name)) > before, 120, "the migration Job"
    )
    operator = platform.operator_deployment()["metadata"]["name"]
    platform.kubectl(
        "delete",
        "pod",
        "-l",
        f"app.kubernetes.io/instance={platform.release},app.kubernetes.io/component=operator",
        "--grace-period=0",
        "--force",
    )
    platform.kubectl("rollout", "status", f"deployment/{operator}", "--timeout=180s")

    status = platform.wait_phase(bot_name, "Ready", timeout=READY_TIMEOUT)
    assert status["image"] == status["stableImage"] == platform.image_next
    assert platform.deployment_image(bot_name) == platform.image_next
    images = [
        j["spec"]["template"]["spec"]["containers"][0]["image"]
        for j in migration_jobs(platform, bot_name)[before:]
    ]
    assert images == [platform.image_next], "one migration for the new image, not a second"
