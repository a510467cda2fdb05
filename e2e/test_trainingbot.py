"""A platform engineer's day with the TrainingBot operator, checked from the outside with
`kubectl` and `helm`: install, create a bot, roll a new image out behind its migration, a
migration that fails, and a manual `kubectl rollout undo` that the operator leaves standing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from trainingbot.content import SAMPLE_CONTENT_DIR

from e2e.platform import CHART, Platform

MISSING_IMAGE = "telegram-training-bot:e2e-does-not-exist"
# A new image that cannot work, on any cluster: on kind the tag never pulls; on kwok the
# hook fails the migration Job's pod.
FAILING_MIGRATION = {"kwok.trainingbot.dev/fail-migration": "true"}


def sample_courses_flat(directory: Path) -> dict[str, str]:
    """The sample course as a trainer ships it to Kubernetes: `training-bot content pack`."""
    pack = subprocess.run(
        [
            sys.executable,
            "-m",
            "trainingbot",
            "content",
            "pack",
            str(SAMPLE_CONTENT_DIR),
            "--output-dir",
            str(directory),
        ],
        capture_output=True,
        text=True,
    )
    assert pack.returncode == 0, pack.stderr
    return {path.name: path.read_text() for path in sorted(directory.iterdir())}


def ready_bot(platform: Platform, name: str, **spec) -> dict:
    platform.apply_bot(platform.bot_manifest(name, **spec))
    return platform.wait_phase(name, "Ready", timeout=180)


def migration_jobs(platform: Platform, name: str) -> list[dict]:
    jobs = platform.kube.kubectl_json(
        "get",
        "jobs",
        "-n",
        platform.namespace,
        "-l",
        f"app.kubernetes.io/instance={name},app.kubernetes.io/component=migration",
    )["items"]
    return sorted(jobs, key=lambda j: j["metadata"]["creationTimestamp"])


def test_chart_installs_the_crd_and_a_least_privilege_operator(platform: Platform):
    crd = platform.kube.kubectl_json("get", "crd", "trainingbots.trainingbot.dev")
    established = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert established["Established"] == "True"
    assert "tbot" in crd["spec"]["names"]["shortNames"]
    operator = platform.operator_deployment()
    assert operator["status"].get("availableReplicas") == 1
    sa = operator["spec"]["template"]["spec"]["serviceAccountName"]
    # Namespaced install: the operator may touch Deployments here, and nowhere else.
    who = f"system:serviceaccount:{platform.namespace}:{sa}"
    can = platform.kube.kubectl
    assert (
        can(
            "auth", "can-i", "patch", "deployments", "-n", platform.namespace, "--as", who
        ).stdout.strip()
        == "yes"
    )
    assert (
        can(
            "auth", "can-i", "patch", "deployments", "-n", "default", "--as", who, check=False
        ).stdout.strip()
        == "no"
    )
    assert (
        can(
            "auth", "can-i", "delete", "secrets", "-n", platform.namespace, "--as", who, check=False
        ).stdout.strip()
        == "no"
    )


def test_a_new_bot_gets_its_children_and_reports_ready(platform: Platform, bot_name: str):
    status = ready_bot(platform, bot_name)

    assert status["image"] == platform.image
    assert status["stableImage"] == platform.image
    for kind, child in [
        ("serviceaccount", bot_name),
        ("deployment", bot_name),
        ("service", f"{bot_name}-metrics"),
        ("service", f"{bot_name}-webhook"),
        ("poddisruptionbudget", bot_name),
    ]:
        obj = platform.get(kind, child)
        owner = obj["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"]) == ("TrainingBot", bot_name), (kind, child)
    jobs = migration_jobs(platform, bot_name)
    assert jobs and jobs[-1]["status"].get("succeeded") == 1

    columns = platform.printer_columns(bot_name)
    assert columns["PHASE"] == "Ready"
    assert columns["IMAGE"] == platform.image
    assert columns["READY"] == "2/2"
    assert columns["STABLE"] == platform.image
    reasons = {e["reason"] for e in platform.events_for(bot_name)}
    assert reasons, "the operator reports its steps as Events"


def test_a_new_image_is_rolled_out_only_after_its_migration(platform: Platform, bot_name: str):
    ready_bot(platform, bot_name)
    before = len(migration_jobs(platform, bot_name))

    platform.patch_bot(bot_name, {"spec": {"image": platform.image_next}})

    # While the new image's migration Job has not succeeded, the Deployment keeps the old one.
    def migration_started():
        jobs = migration_jobs(platform, bot_name)
        return jobs[-1] if len(jobs) > before else None

    job = platform.wait_for(migration_started, 60, "the new image's migration Job")
    job_image = job["spec"]["template"]["spec"]["containers"][0]["image"]
    assert job_image == platform.image_next
    if not job["status"].get("succeeded"):
        assert platform.deployment_image(bot_name) == platform.image

    status = platform.wait_phase(bot_name, "Ready", timeout=180)
    assert status["image"] == status["stableImage"] == platform.image_next
    assert platform.deployment_image(bot_name) == platform.image_next
    finished = migration_jobs(platform, bot_name)[-1]["status"]["completionTime"]
    deployment = platform.get("deployment", bot_name)
    new_rs = max(
        platform.kube.kubectl_json(
            "get",
            "replicasets",
            "-n",
            platform.namespace,
            "-l",
            f"app.kubernetes.io/instance={bot_name},app.kubernetes.io/component=bot",
        )["items"],
        key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]),
    )
    assert new_rs["metadata"]["creationTimestamp"] >= finished, (
        "the new ReplicaSet was created before the migration finished"
    )
    assert deployment["status"]["updatedReplicas"] == 2


def test_a_failed_migration_leaves_the_old_version_serving(platform: Platform, bot_name: str):
    ready_bot(platform, bot_name)
    revision = platform.get("deployment", bot_name)["metadata"]["annotations"][
        "deployment.kubernetes.io/revision"
    ]

    platform.patch_bot(
        bot_name,
        {
            "spec": {
                "image": MISSING_IMAGE,
                "podAnnotations": FAILING_MIGRATION,
                "migrations": {"timeoutSeconds": 30},
            }
        },
    )
    status = platform.wait_phase(bot_name, "Failed", timeout=180)

    migrated = platform.condition(bot_name, "Migrated")
    assert migrated["status"] == "False"
    assert migrated["message"], "the condition says why the migration failed"
    deployment = platform.get("deployment", bot_name)
    assert platform.deployment_image(bot_name) == platform.image
    assert deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == revision
    assert deployment["status"]["availableReplicas"] == 2
    assert status["stableImage"] == platform.image
    warnings = [e for e in platform.events_for(bot_name) if e["type"] == "Warning"]
    assert warnings, "a failed migration is a Warning event"

    # No retry storm: one Job for the failed image, not one per reconcile.
    failed = [
        j
        for j in migration_jobs(platform, bot_name)
        if j["spec"]["template"]["spec"]["containers"][0]["image"] == MISSING_IMAGE
    ]
    assert len(failed) == 1


def test_a_manual_rollout_undo_is_left_standing(platform: Platform, bot_name: str):
    ready_bot(platform, bot_name)
    platform.patch_bot(bot_name, {"spec": {"image": platform.image_next}})
    platform.wait_phase(bot_name, "Ready", timeout=180)
    assert platform.deployment_image(bot_name) == platform.image_next

    platform.kubectl("rollout", "undo", f"deployment/{bot_name}")
    platform.kubectl("rollout", "status", f"deployment/{bot_name}", "--timeout=120s")
    assert platform.deployment_image(bot_name) == platform.image

    def recorded():
        status = platform.status(bot_name)
        manual = status.get("manualRollback")
        return status if manual and manual.get("image") == platform.image else None

    status = platform.wait_for(recorded, 60, "the operator to record the manual rollback")
    assert status["manualRollback"]["appliedImage"] == platform.image_next
    reasons = {e["reason"] for e in platform.events_for(bot_name)}
    assert any("Manual" in r for r in reasons), reasons

    # The operator reconciles again (a label change is a metadata-only update and a poke),
    # and still leaves the person's decision alone while the spec is unchanged.
    platform.kubectl("label", "trainingbot", bot_name, "e2e/poked=yes")
    generation = platform.tbot(bot_name)["metadata"]["generation"]
    platform.wait_for(
        lambda: platform.status(bot_name).get("lastSyncTime") != status.get("lastSyncTime"),
        60,
        "another reconcile of the bot",
    )
    assert platform.deployment_image(bot_name) == platform.image
    assert platform.tbot(bot_name)["metadata"]["generation"] == generation

    # A new spec is a new decision: the operator rolls forward again.
    platform.patch_bot(bot_name, {"spec": {"replicas": 3}})
    status = platform.wait_phase(bot_name, "Ready", timeout=180)
    assert platform.deployment_image(bot_name) == platform.image_next


def test_helm_upgrade_and_rollback_of_bots_declared_in_values(
    platform: Platform, bot_name: str, tmp_path
):
    kube, ns, release = platform.kube, platform.namespace, platform.release
    # The Secrets come first, outside the chart: no credential lives in values.
    spec = platform.bot_manifest(bot_name)["spec"]
    courses = sample_courses_flat(tmp_path / "courses")

    def upgrade(image: str) -> None:
        values = tmp_path / f"values-{image.rpartition(':')[2]}.json"
        bot = {"name": bot_name, "courses": courses, "spec": {**spec, "image": image}}
        values.write_text(json.dumps({"bots": [bot]}))
        kube.helm(
            "upgrade",
            release,
            str(CHART),
            "-n",
            ns,
            "--reuse-values",
            "-f",
            str(values),
            "--wait",
            "--timeout",
            "120s",
        )

    upgrade(platform.image)
    platform.wait_phase(bot_name, "Ready", timeout=180)
    upgrade(platform.image_next)
    status = platform.wait_phase(bot_name, "Ready", timeout=180)
    assert status["stableImage"] == platform.image_next

    history = json.loads(kube.helm("history", release, "-n", ns, "-o", "json").stdout)
    previous = history[-2]["revision"]
    kube.helm("rollback", release, str(previous), "-n", ns, "--wait", "--timeout", "120s")
    platform.wait_for(
        lambda: platform.tbot(bot_name)["spec"]["image"] == platform.image,
        30,
        "helm rollback to restore the bot's spec",
    )
    status = platform.wait_phase(bot_name, "Ready", timeout=180)
    assert status["image"] == platform.image
    assert platform.deployment_image(bot_name) == platform.image

    # Taking the bot out of the values deletes it, and its children with it.
    kube.helm(
        "upgrade",
        release,
        str(CHART),
        "-n",
        ns,
        "--reuse-values",
        "--set-json",
        "bots=[]",
        "--wait",
    )
    platform.wait_for(
        lambda: not platform.exists("deployment", bot_name),
        60,
        "the bot's Deployment to be deleted with the TrainingBot",
    )
