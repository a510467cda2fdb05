"""Running the operator against the test cluster, and reading what it did.

The operator always runs as a ServiceAccount bound to exactly `trainingbot_operator.rbac`'s
rules (a Role in the test namespace, a ClusterRole for the cluster-scoped part): every cluster
test is also a test of least privilege.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from kopf.testing import KopfRunner

from trainingbot_operator import k8s, metrics, naming, rbac

from tests.support.cluster import KubeCluster
from tests.support.specs import webhook_connections

REPO = Path(__file__).resolve().parents[3]
CRDS = REPO / "crds"
OPERATOR_ACCOUNT = "trainingbot-operator"
V1 = "example.org/telegram-training-bot:1.2.0"
V2 = "example.org/telegram-training-bot:1.3.0"
V3 = "example.org/telegram-training-bot:1.4.0"

# Lines that must never appear in an operator's output: a handler that raised, a reconcile
# that failed (an API error the operator did not expect), kopf giving up on something.
FORBIDDEN = (
    "Traceback",
    "Reconciling failed",
    "failed with an exception",
    "Unhandled",
    "orbidden",
)  # a 403: the operator's RBAC lacks something it uses


def fast_spec(**overrides: Any) -> dict[str, Any]:
    """A webhook-mode spec with the short timings the tests run on."""
    spec: dict[str, Any] = {
        "image": V1,
        "replicas": 2,
        **webhook_connections(),
        "content": {"configMapName": "courses"},
        "adminIds": [12345],
        "migrations": {"backoffLimit": 0, "timeoutSeconds": 60},
        "rollout": {"progressDeadlineSeconds": 10, "monitorSeconds": 2},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    return spec


class Cluster:
    """Admin access for the tests' own reads and writes (the operator uses its own account)."""

    def __init__(self, kube: KubeCluster, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.api = k8s.Kube(kube.api_client())

    # -- setup --------------------------------------------------------------------------------

    def create_references(self) -> None:
        """The Secret and the content ConfigMap that `fast_spec` references."""
        self.kube.apply(
            [
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "bot"},
                    "stringData": {
                        "token": "123:abc",
                        "webhook-secret": "s3cret",
                        "database-url": "postgresql://bot:pw@db/bot",
                        "redis-url": "redis://redis:6379/0",
                        "sentinel-password": "pw",
                    },
                },
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "courses"},
                    "data": {"oncall-101.yaml": "title: On-call 101\n"},
                },
            ],
            self.namespace,
        )

    def apply_bot(self, name: str, spec: dict[str, Any]) -> None:
        self.kube.apply(
            {
                "apiVersion": "trainingbot.dev/v1alpha1",
                "kind": "TrainingBot",
                "metadata": {"name": name},
                "spec": spec,
            },
            self.namespace,
        )

    def patch_bot(self, name: str, spec: dict[str, Any]) -> None:
        import json

        self.kube.kubectl(
            "patch",
            "trainingbot",
            name,
            "-n",
            self.namespace,
            "--type=merge",
            "-p",
            json.dumps({"spec": spec}),
        )

    # -- reads --------------------------------------------------------------------------------

    def bot(self, name: str) -> dict[str, Any]:
        found = self.api.get(k8s.TRAINING_BOT, self.namespace, name)
        assert found is not None, f"TrainingBot {name} not found"
        return found

    def status(self, name: str) -> dict[str, Any]:
        return self.bot(name).get("status") or {}

    def condition(self, name: str, type_: str) -> dict[str, Any]:
        for item in self.status(name).get("conditions", []):
            if item["type"] == type_:
                return item
        raise AssertionError(f"no {type_} condition on {name}: {self.status(name)}")

    def deployment(self, name: str) -> dict[str, Any] | None:
        return self.api.get(k8s.DEPLOYMENT, self.namespace, naming.deployment(name))

    def deployment_image(self, name: str) -> str | None:
        from trainingbot_operator.specs.deployment import container_image

        return container_image(self.deployment(name))

    def template_annotations(self, name: str) -> dict[str, str]:
        dep = self.deployment(name) or {}
        meta = dep.get("spec", {}).get("template", {}).get("metadata", {})
        return meta.get("annotations") or {}

    def jobs(self, name: str, component: str | None = None) -> list[dict[str, Any]]:
        items = self.api.list(k8s.JOB, self.namespace, naming.instance_selector(name))
        if component:
            items = [
                j for j in items if j["metadata"]["labels"].get(naming.LABEL_COMPONENT) == component
            ]
        return items

    def pods(self, selector: str) -> list[dict[str, Any]]:
        return self.api.list(k8s.POD, self.namespace, selector)

    def bot_pods(self, name: str) -> list[dict[str, Any]]:
        labels = naming.selector_labels(name)
        pods = self.pods(",".join(f"{k}={v}" for k, v in labels.items()))
        return [p for p in pods if not p["metadata"].get("deletionTimestamp")]

    def events(self, name: str) -> list[dict[str, Any]]:
        found = self.kube.kubectl_json(
            "get",
            "events",
            "-n",
            self.namespace,
            "--field-selector",
            f"involvedObject.kind=TrainingBot,involvedObject.name={name}",
        )["items"]
        # Timestamps have whole seconds; etcd's revisions (resourceVersion, here on a single
        # local etcd) give the order in which the operator posted them.
        return sorted(found, key=lambda e: int(e["metadata"]["resourceVersion"]))

    def event_reasons(self, name: str) -> list[str]:
        return [e["reason"] for e in self.events(name)]

    # -- waiting ------------------------------------------------------------------------------

    def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 60) -> Any:
        return self.kube.wait_for(predicate, timeout, what, interval=0.2)

    def wait_phase(self, name: str, phase: str, timeout: float = 60, **status: Any) -> dict:
        def reached() -> dict | None:
            current = self.status(name)
            if current.get("phase") == phase and all(
                current.get(k) == v for k, v in status.items()
            ):
                return current
            return None

        return self.wait(reached, f"{name} to be {phase} with {status}", timeout)

    def wait_ready(self, name: str, image: str, timeout: float = 60) -> dict:
        return self.wait_phase(name, "Ready", timeout, stableImage=image, image=image)

    def reconciles(self, name: str) -> float:
        """How often the operator (in this process) has reconciled the bot so far."""
        sample = metrics.RECONCILES.labels(self.namespace, name, "succeeded")
        return sample._value.get()

    def settle(self, name: str, rounds: int = 3, timeout: float = 30) -> None:
        """Make the operator reconcile the bot a few more times (without a spec change), and
        return once it has: assertions that "nothing happens" then mean something."""
        start = self.reconciles(name)
        for i in range(rounds):
            self.kube.kubectl(
                "annotate",
                "trainingbot",
                name,
                "-n",
                self.namespace,
                f"test.trainingbot.dev/nudge={time.monotonic_ns()}-{i}",
                "--overwrite",
            )
            self.wait(
                lambda i=i: self.reconciles(name) >= start + i + 1,
                f"reconcile {i + 1} of {name}",
                timeout,
            )

    def counter(self, metric: str, name: str, label: str) -> float:
        counter = metrics.COUNTERS.get(metric, metrics.RECONCILES)
        return counter.labels(self.namespace, name, label)._value.get()


# --- the operator's account ----------------------------------------------------------------------


def install_crds(kube: KubeCluster) -> None:
    kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRDS))
    for path in sorted(CRDS.glob("*.yaml")):
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        kube.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")


def create_cluster_role(kube: KubeCluster) -> str:
    name = f"ttb-test-operator-{secrets.token_hex(3)}"
    kube.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {"trainingbot.dev/test": "true"}},
            "rules": rbac.cluster_rules(clusterwide=False),
        }
    )
    return name


def grant_operator(kube: KubeCluster, namespace: str, cluster_role: str) -> tuple[Path, str]:
    """A ServiceAccount with exactly the operator's rules in `namespace`; its kubeconfig."""
    binding = f"{cluster_role}-{namespace}"[:63]
    subject = [{"kind": "ServiceAccount", "name": OPERATOR_ACCOUNT, "namespace": namespace}]
    kube.apply(
        [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": OPERATOR_ACCOUNT}},
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": OPERATOR_ACCOUNT},
                "rules": rbac.NAMESPACED_RULES,
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": OPERATOR_ACCOUNT},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": OPERATOR_ACCOUNT,
                },
                "subjects": subject,
            },
        ],
        namespace,
    )
    kube.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": binding, "labels": {"trainingbot.dev/test": "true"}},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": cluster_role,
            },
            "subjects": subject,
        }
    )
    return kube.service_account_kubeconfig(namespace, OPERATOR_ACCOUNT), binding


# --- running it ----------------------------------------------------------------------------------


def assert_clean(output: str) -> None:
    """No handler raised, no reconcile failed: the operator's own log says so."""
    bad = [line for line in output.splitlines() if any(word in line for word in FORBIDDEN)]
    assert not bad, (
        "the operator logged failures:\n"
        + "\n".join(bad[:20])
        + ("\n--- full output (tail) ---\n" + output[-6000:])
    )


class LogCollector(logging.Handler):
    """Every log record of the process while the operator runs, tracebacks included.

    KopfRunner's own `output` misses the log when pytest captures logging; a handler on the
    root logger sees everything the operator logs, whoever captures what.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.setFormatter(logging.Formatter("%(asctime)s %(name)s [%(levelname)s] %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@contextmanager
def kopf_operator(namespace: str, kubeconfig: Path) -> Iterator[LogCollector]:
    """The operator in this process (kopf's KopfRunner), as the ServiceAccount, standalone.

    Yields the collector of its log; on exit, asserts that it started, stopped cleanly, and
    logged no traceback and no failed reconciliation.
    """
    previous = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(kubeconfig)
    collector = LogCollector()
    logging.getLogger().addHandler(collector)
    try:
        runner = KopfRunner(
            [
                "run",
                "--standalone",
                "--namespace",
                namespace,
                "-m",
                "trainingbot_operator.handlers",
            ],
            timeout=60,
        )
        with runner:
            yield collector
    finally:
        logging.getLogger().removeHandler(collector)
        if previous is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = previous
    assert runner.exit_code == 0, collector.output[-6000:]
    assert runner.exception is None
    assert_clean(collector.output + "\n" + runner.output)
    assert "Activity 'start' succeeded" in collector.output
    assert "Activity 'stop' succeeded" in collector.output
    assert "Handler 'watch' succeeded" in collector.output  # the TrainingBot watch worked


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OperatorProcess:
    """The `training-bot-operator` command in a process of its own (so that it can be killed)."""

    def __init__(
        self,
        namespace: str,
        kubeconfig: Path,
        log: Path,
        peering: tuple[str, ...] = ("--standalone",),
    ) -> None:
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.log = log
        env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        self._stream = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "trainingbot_operator.main",
                "--namespace",
                namespace,
                *peering,
                "--log-format",
                "text",
                "--metrics-port",
                str(self.metrics_port),
                "--health-port",
                str(self.health_port),
            ],
            stdout=self._stream,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def get(self, port: int, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.read().decode()

    def stop(self) -> None:
        """SIGTERM: the graceful exit (kopf tells its peers that it leaves)."""
        self._end(signal.SIGTERM, timeout=60)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, as a node failure or an OOM kill would do it."""
        self._end(signal.SIGKILL, timeout=30)

    def _end(self, signum: int, timeout: float) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        self.process.wait(timeout=timeout)
        if not self._stream.closed:
            self._stream.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def metric_value(exposition: str, name: str, **labels: str) -> float | None:
    for line in exposition.splitlines():
        if not line.startswith(name):
            continue
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(2))
    return None
