"""End-to-end fixtures: the Helm chart installed into a cluster, as a platform engineer would.

Cluster-agnostic: everything goes through `kubectl` and `helm` against the session's cluster
(`KUBECONFIG`, or the local control plane). Where the cluster's nodes are kwok's fakes, no
container really runs, so the operator's own pod cannot act: the operator then runs on this
host with exactly the command line of the chart's Deployment and the credentials of the
chart's ServiceAccount, which proves the chart's RBAC as the pod would have used it. On a
real cluster (`make e2e-kind`) the chart's operator pod does the work.

Images: `E2E_IMAGE` (the chart's image, default `telegram-training-bot:e2e-1`) and
`E2E_IMAGE_NEXT` (a second tag of a working image, for upgrades). Scenarios that need an
image to fail use a tag that does not exist and the kwok hooks together, so that they fail
on both kinds of cluster: a missing image never pulls on kind; a hook fails it on kwok.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from e2e import backing
from e2e.platform import CHART, Platform
from tests.support.cluster import KubeCluster
from tests.support.processes import free_port, stop_process

IMAGE = os.environ.get("E2E_IMAGE", "telegram-training-bot:e2e-1")
IMAGE_NEXT = os.environ.get("E2E_IMAGE_NEXT", "telegram-training-bot:e2e-2")


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


def nodes_are_kwok(kube: KubeCluster) -> bool:
    nodes = kube.kubectl_json("get", "nodes")["items"]
    return bool(nodes) and all(
        n["metadata"].get("annotations", {}).get("kwok.x-k8s.io/node") == "fake" for n in nodes
    )


def split_image(reference: str) -> tuple[str, str]:
    repository, _, tag = reference.rpartition(":")
    if not repository or "/" in tag:
        raise ValueError(f"E2E image {reference!r} must be repository:tag")
    return repository, tag


@pytest.fixture(scope="session")
def platform(kube: KubeCluster, tmp_path_factory) -> Platform:
    """The chart installed in a namespace of its own, watching that namespace, with the
    backing services the bots use; the operator acting (in its pod, or on this host)."""
    namespace = kube.create_namespace("e2e")
    release = f"ttb-{secrets.token_hex(2)}"
    repository, tag = split_image(IMAGE)
    values = tmp_path_factory.mktemp("helm") / "values.yaml"
    values.write_text(
        json.dumps(
            {
                "image": {"repository": repository, "tag": tag, "pullPolicy": "IfNotPresent"},
                "operator": {"verbose": True, "logFormat": "text"},
            }
        )
    )
    kube.helm(
        "install",
        release,
        str(CHART),
        "-n",
        namespace,
        "-f",
        str(values),
        "--wait",
        "--timeout",
        "180s",
    )
    simulated = nodes_are_kwok(kube)
    platform = Platform(kube, namespace, release, IMAGE, IMAGE_NEXT, simulated=simulated)
    backing.install(platform)
    host_operator = start_host_operator(platform) if simulated else None
    yield platform
    # The bots go first, while the operator still runs to release their finalizers; the
    # chart's pre-delete hook would do it on a real cluster, but on kwok its pod is a fake.
    kube.kubectl("delete", "trainingbots", "--all", "-n", namespace, "--timeout=120s", check=False)
    if host_operator is not None:
        stop_process(host_operator, timeout=20)
        platform.operator_log.close()
    kube.helm("uninstall", release, "-n", namespace, "--wait", check=False)
    kube.delete_namespace(namespace)


def start_host_operator(platform: Platform) -> subprocess.Popen:
    """Run the chart's operator command on this host as the chart's ServiceAccount."""
    kube = platform.kube
    deployment = platform.operator_deployment()
    pod = deployment["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "operator")
    args = [
        re.sub(r"^--(metrics|health)-port=\d+$", lambda m: f"--{m[1]}-port={free_port()}", a)
        for a in container.get("args", [])
    ]
    command = container["command"]
    executable = shutil.which(command[0], path=str(Path(sys.executable).parent))
    if executable is None:
        raise RuntimeError(f"{command[0]} is not installed in this virtualenv (make venv)")
    sa_kubeconfig = kube.service_account_kubeconfig(platform.namespace, pod["serviceAccountName"])
    log_path = Path(tempfile.mkdtemp(prefix="ttb-e2e-operator-")) / "operator.log"
    platform.operator_log = open(log_path, "w+")  # noqa: SIM115 - closed by the fixture
    env = {**os.environ, "KUBECONFIG": str(sa_kubeconfig), "POD_NAMESPACE": platform.namespace}
    proc = subprocess.Popen(
        [executable, *command[1:], *args],
        env=env,
        stdout=platform.operator_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    platform.operator_log_path = log_path
    return proc


@pytest.fixture
def bot_name(request) -> str:
    """A TrainingBot name unique to the test (DNS label, short enough for child names)."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:20].strip("-")
    return f"{slug}-{secrets.token_hex(2)}"


@pytest.fixture(autouse=True)
def no_operator_tracebacks(platform: Platform):
    """Whatever a test did, the operator must not have crashed in a handler meanwhile."""
    seen = len(platform.operator_output())
    yield
    output = platform.operator_output()[seen:]
    assert "Traceback (most recent call last)" not in output, output[-6000:]
