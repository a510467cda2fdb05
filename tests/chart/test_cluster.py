"""The chart on a real API server (the local control plane, or KUBECONFIG's cluster).

- Every variant (default and ci/*-values.yaml) passes a server-side dry-run: the API server's
  schemas, the CRD's OpenAPI and CEL rules, RBAC objects, admission, PodSecurity warnings.
- A release's whole life: `helm install` with a bot, the TrainingBot rolled out by the operator;
  `helm upgrade` with a new bot image, rolled out through the operator (migration Job first);
  `helm rollback`, rolled out back; `helm uninstall`, which leaves only the CRDs behind.

The operator runs on this machine (kwok only fakes the pod of the chart's Deployment), as the
chart's ServiceAccount with the chart's RBAC and peering object: what the chart grants is
exactly what the operator gets to use.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import (
    CHART,
    CI_VALUES,
    KUBE_VERSION,
    helm_binary,
    load_yaml,
    template,
)
from tests.support.cluster import KubeCluster
from tests.support.processes import free_port

pytestmark = pytest.mark.cluster

APP_VERSION = load_yaml(CHART / "Chart.yaml")["appVersion"]
CHART_CRDS = CHART / "crds"
# Rollouts on kwok take seconds; these bound a hung step, not a slow one.
ROLLOUT_WITHIN = 180
# The namespaces ci/multi-namespace-values.yaml names; the dry-run replaces them with fresh ones.
CI_NAMESPACES = ("ttb-chart-ci-team-a", "ttb-chart-ci-team-b")


@pytest.fixture(scope="session")
def chart_crds(kube: KubeCluster) -> None:
    """The chart's CRDs (identical to crds/), as `helm install` would create them; left
    installed, as Helm leaves them."""
    kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CHART_CRDS))
    for path in sorted(CHART_CRDS.glob("*.yaml")):
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        kube.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")


def served(kube: KubeCluster, group: str) -> set[str]:
    out = kube.kubectl("api-resources", f"--api-group={group}", "-o", "name", check=False)
    return {line.split(".", 1)[0] for line in out.stdout.split()}


# -- server-side dry-run of every variant ---------------------------------------------------


@pytest.mark.parametrize("values", [None, *CI_VALUES], ids=lambda p: p.name if p else "default")
def test_every_variant_passes_a_server_side_dry_run(kube, namespace, chart_crds, values, tmp_path):
    created: list[str] = []
    files = []
    if values:
        text = values.read_text()
        for fixed in CI_NAMESPACES:
            if fixed in text:
                fresh = kube.create_namespace(fixed.removeprefix("ttb-chart-ci-"))
                created.append(fresh)
                text = text.replace(fixed, fresh)
        variant = tmp_path / values.name
        variant.write_text(text)
        files.append(variant)
    try:
        rendered = template(files=files, namespace=namespace, release="dry").stdout
        docs = [d for d in yaml.safe_load_all(rendered) if d]
        # ServiceMonitor is the Prometheus Operator's: dry-run it only where its CRD is served
        # (tests/chart/test_templates.py checks its shape either way).
        monitoring = served(kube, "monitoring.coreos.com")
        checked = [
            d
            for d in docs
            if d["apiVersion"].split("/")[0] != "monitoring.coreos.com"
            or d["kind"].lower() + "s" in monitoring
        ]
        assert checked, "nothing rendered"
        result = kube.kubectl(
            # Every namespaced manifest names its namespace: the chart sets it explicitly.
            "apply",
            "--dry-run=server",
            "-f",
            "-",
            input=yaml.safe_dump_all(checked),
            check=False,
        )
        assert result.returncode == 0, result.stderr
        # PodSecurity in the restricted namespace warns about a Deployment whose pods it would
        # refuse; the operator's pods must pass.
        assert "would violate PodSecurity" not in result.stderr, result.stderr
        assert len(result.stdout.strip().splitlines()) == len(checked), result.stdout
    finally:
        for ns in created:
            kube.delete_namespace(ns)


# -- install, upgrade, rollback, uninstall --------------------------------------------------


class HostOperator:
    """`training-bot-operator` on this machine, as the chart's ServiceAccount, peering with the
    chart's KopfPeering object, watching one namespace."""

    def __init__(self, kubeconfig: Path, namespace: str, log: Path) -> None:
        self.log = log
        self._stream = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trainingbot_operator.main",
                f"--namespace={namespace}",
                "--peering=trainingbot-operator",
                "--log-format=text",
                f"--metrics-port={free_port()}",
                f"--health-port={free_port()}",
            ],
            stdout=self._stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._stream.close()
        return self.process.returncode


@contextmanager
def host_operator(
    kube: KubeCluster, namespace: str, account: str, log: Path
) -> Iterator[HostOperator]:
    kubeconfig = kube.service_account_kubeconfig(namespace, account)
    operator = HostOperator(kubeconfig, namespace, log)
    try:
        yield operator
    finally:
        operator.stop()


class Release:
    """One Helm release of the chart in a namespace, with its values as a dict."""

    def __init__(self, kube: KubeCluster, namespace: str, name: str, tmp: Path) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.tmp = tmp

    def _values_file(self, values: dict[str, Any]) -> str:
        path = self.tmp / f"values-{secrets.token_hex(3)}.json"
        path.write_text(json.dumps(values))
        return str(path)

    def helm(self, *args: str, values: dict[str, Any] | None = None) -> str:
        extra = ["-f", self._values_file(values)] if values is not None else []
        return self.kube.helm(*args, "--namespace", self.namespace, *extra).stdout

    def bot(self, name: str) -> dict[str, Any]:
        return self.kube.kubectl_json("get", "trainingbot", name, "-n", self.namespace)

    def wait_ready(self, bot: str, image: str) -> dict[str, Any]:
        def ready():
            status = self.bot(bot).get("status") or {}
            if status.get("phase") == "Ready" and status.get("stableImage") == image:
                return status
            return None

        return self.kube.wait_for(ready, ROLLOUT_WITHIN, f"{bot} Ready on {image}")

    def deployment_image(self, name: str) -> str:
        deployment = self.kube.kubectl_json("get", "deployment", name, "-n", self.namespace)
        return deployment["spec"]["template"]["spec"]["containers"][0]["image"]

    def migration_jobs(self, bot: str) -> dict[str, str]:
        """image -> name of each migration Job of the bot that succeeded."""
        jobs = self.kube.kubectl_json(
            "get",
            "jobs",
            "-n",
            self.namespace,
            "-l",
            f"app.kubernetes.io/instance={bot},app.kubernetes.io/component=migration",
        )["items"]
        return {
            job["metadata"]["annotations"]["trainingbot.dev/image"]: job["metadata"]["name"]
            for job in jobs
            if job.get("status", {}).get("succeeded")
        }


def bot_release_values(image: str | None = None) -> dict[str, Any]:
    """A release with one polling-mode bot and short rollout timings (kwok pods are fast)."""
    spec: dict[str, Any] = {
        "mode": "polling",
        "telegram": {"tokenSecretRef": {"name": "oncall-bot", "key": "token"}},
        "database": {"urlSecretRef": {"name": "oncall-bot", "key": "database-url"}},
        "redis": {"urlSecretRef": {"name": "oncall-bot", "key": "redis-url"}},
        "migrations": {"backoffLimit": 0, "timeoutSeconds": 60},
        "rollout": {"progressDeadlineSeconds": 30, "monitorSeconds": 2},
        "monitoring": {"serviceMonitor": {"enabled": False}, "prometheusRule": {"enabled": False}},
    }
    if image:
        spec["image"] = image
    courses = {"on-call-101.course.yaml": "id: on-call-101\ntitle: On-call 101\n"}
    return {
        "bots": [{"name": "oncall", "courses": courses, "spec": spec}],
        # kwok fakes pods: it would report the pre-delete hook's pod Succeeded at once. With
        # this annotation it waits (kwok-stages.yaml), and the test runs the pod's command and
        # reports its exit code in its place (run_like_a_kubelet).
        "cleanup": {
            "timeoutSeconds": 60,
            "podAnnotations": {"kwok.trainingbot.dev/run-seconds": "600"},
        },
    }


def run_like_a_kubelet(kube: KubeCluster, namespace: str, component: str) -> str:
    """Run the container of the Running pod with this component label on this machine, as the
    pod's ServiceAccount with the pod's command and environment, and set the pod's phase from
    its exit code, as a kubelet would. Returns its output."""

    def running_pod():
        pods = kube.kubectl_json(
            "get", "pods", "-n", namespace, "-l", f"app.kubernetes.io/component={component}"
        )["items"]
        return next((p for p in pods if p["status"].get("phase") == "Running"), None)

    pod = kube.wait_for(running_pod, 120, f"the {component} pod to run")
    (container,) = pod["spec"]["containers"]
    assert container["command"][0] == "python3"
    kubeconfig = kube.service_account_kubeconfig(namespace, pod["spec"]["serviceAccountName"])
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    env.update({e["name"]: e["value"] for e in container.get("env", [])})
    result = subprocess.run(
        [sys.executable, *container["command"][1:], *container.get("args", [])],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    phase = "Succeeded" if result.returncode == 0 else "Failed"
    terminated = {
        "exitCode": result.returncode,
        "reason": "Completed" if phase == "Succeeded" else "Error",
        "startedAt": pod["status"]["startTime"],
        "finishedAt": pod["status"]["startTime"],
    }
    status = {
        "status": {
            "phase": phase,
            "containerStatuses": [
                {
                    "name": container["name"],
                    "image": container["image"],
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "started": False,
                    "state": {"terminated": terminated},
                }
            ],
        }
    }
    kube.kubectl(
        "patch",
        "pod",
        pod["metadata"]["name"],
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def leftovers(kube: KubeCluster, namespace: str, release: str) -> list[str]:
    """What is left in the namespace of the release and of the bot, and cluster-wide."""
    kinds = (
        "trainingbots,deployments,replicasets,pods,jobs,services,serviceaccounts,"
        "configmaps,roles,rolebindings,poddisruptionbudgets,kopfpeerings"
    )
    items = kube.kubectl_json("get", kinds, "-n", namespace)["items"]
    left = [
        f"{i['kind']}/{i['metadata']['name']}"
        for i in items
        # What every namespace has, and the Secret the test made for the bot.
        if (i["kind"], i["metadata"]["name"])
        not in {("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")}
    ]
    for kind in ("clusterroles", "clusterrolebindings"):
        found = kube.kubectl_json("get", kind, "-l", f"app.kubernetes.io/instance={release}")
        left += [
            f"{i['kind']}/{i['metadata']['name']}"
            for i in found["items"]
            if namespace in i["metadata"]["name"]
        ]
    return left


def test_install_upgrade_rollback_and_uninstall(kube, namespace, chart_crds):
    v1 = f"telegram-training-bot:{APP_VERSION}"  # the chart's own image, the default
    v2 = f"telegram-training-bot:{APP_VERSION}-next"
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "oncall-bot"},
            "stringData": {
                "token": "123:abc",
                "database-url": "postgresql://db/bot",
                "redis-url": "redis://redis:6379/0",
            },
        },
        namespace,
    )
    tmp = Path(tempfile.mkdtemp(prefix="ttb-chart-"))
    release = Release(kube, namespace, "ttb", tmp)
    account = "ttb-telegram-training-bot-operator"

    # install: the operator's Deployment becomes available (kwok runs its pod), and NOTES say
    # how to follow the bot.
    notes = release.helm(
        "install", "ttb", str(CHART), "--wait", "--timeout", "120s", values=bot_release_values()
    )
    assert f"kubectl -n {namespace} get tbot oncall" in notes
    assert "docs/RUNBOOK.md" in notes
    kube.kubectl("rollout", "status", f"deployment/{account}", "-n", namespace, "--timeout=120s")

    with host_operator(kube, namespace, account, tmp / "operator.log") as operator:
        try:
            status = release.wait_ready("oncall", v1)
            assert release.deployment_image("oncall") == v1
            assert v1 in release.migration_jobs("oncall")

            # upgrade with a new bot image: migration Job for it first, then the Deployment.
            release.helm(
                "upgrade",
                "ttb",
                str(CHART),
                "--wait",
                "--timeout",
                "120s",
                values=bot_release_values(v2),
            )
            status = release.wait_ready("oncall", v2)
            assert release.deployment_image("oncall") == v2
            assert v2 in release.migration_jobs("oncall")
            assert status["image"] == v2

            # rollback to revision 1: the spec's image goes back, and the operator rolls it out.
            release.helm("rollback", "ttb", "1", "--wait", "--timeout", "120s")
            assert release.bot("oncall")["spec"]["image"] == v1
            kube.wait_for(
                lambda: release.deployment_image("oncall") == v1,
                ROLLOUT_WITHIN,
                "the Deployment back on the first image",
            )
            release.wait_ready("oncall", v1)
            history = json.loads(release.helm("history", "ttb", "-o", "json"))
            assert [h["revision"] for h in history] == [1, 2, 3]
            assert history[-1]["description"] == "Rollback to 1"
        except BaseException:
            print(operator.output()[-8000:])
            raise
        output = operator.output()
        assert "Traceback" not in output, output[-8000:]

        # uninstall: the pre-delete hook deletes the TrainingBot while the operator (and its
        # RBAC) is still there to finalize it; then Helm deletes the rest.
        uninstall = subprocess.Popen(
            [
                str(helm_binary()),
                "uninstall",
                "ttb",
                "--namespace",
                namespace,
                "--wait",
                "--timeout",
                "300s",
            ],
            env=kube.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            hook_output = run_like_a_kubelet(kube, namespace, "cleanup")
            out, _ = uninstall.communicate(timeout=300)
        finally:
            if uninstall.poll() is None:
                uninstall.kill()
        assert uninstall.returncode == 0, out
        assert "deleting TrainingBot" in hook_output
        assert "removing" not in hook_output  # the operator finalized it, not the hook

    kube.wait_for(
        lambda: not leftovers(kube, namespace, "ttb"),
        120,
        "everything of the release to be deleted",
    )
    # Helm never deletes CRDs: removing them deletes every TrainingBot of the cluster, so it is
    # left to a person (docs/HELM.md).
    for path in CHART_CRDS.glob("*.yaml"):
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        assert kube.kubectl("get", "crd", name, check=False).returncode == 0
    # The Secret was the user's: the chart never owned it.
    assert kube.kubectl("get", "secret", "oncall-bot", "-n", namespace, check=False).returncode == 0


def test_the_chart_kube_version_matches_the_test_cluster(kube):
    """`helm template` is given KUBE_VERSION; it must be the cluster's minor."""
    server = json.loads(kube.kubectl("version", "-o", "json").stdout)["serverVersion"]
    assert f"{server['major']}.{server['minor']}" == ".".join(KUBE_VERSION.split(".")[:2])


def test_the_cleanup_hook_removes_the_finalizer_when_no_operator_finalizes(
    kube, namespace, chart_crds
):
    """No operator running (or a stuck one): the hook deletes the TrainingBot, waits, and then
    removes the operator's finalizer, so that `helm uninstall` completes."""
    bot = {
        "apiVersion": "trainingbot.dev/v1alpha1",
        "kind": "TrainingBot",
        "metadata": {"name": "orphan", "finalizers": ["trainingbot.dev/finalizer"]},
        "spec": {
            "image": "telegram-training-bot:1.0.0",
            "mode": "polling",
            "telegram": {"tokenSecretRef": {"name": "s", "key": "t"}},
            "database": {"urlSecretRef": {"name": "s", "key": "d"}},
            "redis": {"urlSecretRef": {"name": "s", "key": "r"}},
            "content": {"configMapName": "c"},
        },
    }
    kube.apply(bot, namespace)
    env = {
        **os.environ,
        "KUBECONFIG": str(kube.kubeconfig),
        "TRAININGBOTS": json.dumps(
            [
                {"namespace": namespace, "name": "orphan"},
                {"namespace": namespace, "name": "never-existed"},
            ]
        ),
        "FINALIZER": "trainingbot.dev/finalizer",
        "FINALIZE_TIMEOUT_SECONDS": "1",
    }
    result = subprocess.run(
        [sys.executable, str(CHART / "files" / "cleanup.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "removing trainingbot.dev/finalizer" in result.stdout
    kube.wait_for(
        lambda: (
            kube.kubectl("get", "trainingbot", "orphan", "-n", namespace, check=False).returncode
            != 0
        ),
        30,
        "the TrainingBot to be gone",
    )
