"""Access to a Kubernetes cluster for the cluster and e2e tiers.

`connect_cluster()` gives the cluster the tests run against:
- `KUBECONFIG` set: that cluster (e2e on kind, or a `make cluster-up` control plane). As a
  guard against creating test namespaces in a real cluster by accident, its API server must
  be on loopback unless `TTB_ALLOW_REMOTE_CLUSTER=1`.
- otherwise the local control plane of `scripts/cluster/controlplane.py`: reused when one is
  already running in its directory (and then left running), else built if needed, started,
  and stopped when the test session ends.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import yaml

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPTS = REPO / "scripts" / "cluster"


def _load_controlplane():
    spec = importlib.util.spec_from_file_location(
        "ttb_controlplane", CLUSTER_SCRIPTS / "controlplane.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("ttb_controlplane", module)
    spec.loader.exec_module(module)
    return module


controlplane = _load_controlplane()


class KubeCluster:
    """A kubeconfig plus the pinned `kubectl` and `helm`, with small helpers around them."""

    def __init__(self, kubeconfig: Path, bin_dir: Path | None, started: bool = False) -> None:
        self.kubeconfig = Path(kubeconfig)
        self.bin_dir = bin_dir
        self.started = started
        path = os.environ.get("PATH", "")
        if bin_dir and bin_dir.exists():
            path = f"{bin_dir}{os.pathsep}{path}"
        self.env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "PATH": path}

    def _tool(self, name: str) -> str:
        if self.bin_dir and (self.bin_dir / name).exists():
            return str(self.bin_dir / name)
        return name

    def run(
        self,
        tool: str,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [self._tool(tool), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )
        if check and proc.returncode:
            raise AssertionError(
                f"{tool} {' '.join(args)} exited {proc.returncode}:\n{proc.stderr or proc.stdout}"
            )
        return proc

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        return self.run("kubectl", *args, input=input, check=check, timeout=timeout)

    def kubectl_json(self, *args: str) -> dict:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def apply(
        self, manifest: dict | list[dict] | str, namespace: str | None = None
    ) -> subprocess.CompletedProcess:
        """`kubectl apply` a manifest given as a dict, a list of dicts or YAML text."""
        if not isinstance(manifest, str):
            docs = manifest if isinstance(manifest, list) else [manifest]
            manifest = yaml.safe_dump_all(docs)
        ns = ["-n", namespace] if namespace else []
        return self.kubectl("apply", *ns, "-f", "-", input=manifest)

    def helm(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        return self.run("helm", *args, check=check, timeout=timeout)

    def api_client(self):
        """A `kubernetes` ApiClient for this cluster."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def wait_for(
        self, predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.25
    ):
        """Poll until `predicate()` returns something truthy and return it."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")

    def service_account_kubeconfig(self, namespace: str, name: str, duration: str = "2h") -> Path:
        """A kubeconfig that authenticates as ServiceAccount `namespace/name` (by token)."""
        token = self.kubectl(
            "create", "token", name, "-n", namespace, f"--duration={duration}"
        ).stdout.strip()
        config = yaml.safe_load(self.kubectl("config", "view", "--raw", "--minify").stdout)
        cluster = config["clusters"][0]["cluster"]
        ca = cluster.get("certificate-authority-data")
        if ca is None and cluster.get("certificate-authority"):
            ca = base64.b64encode(Path(cluster["certificate-authority"]).read_bytes()).decode()
        user = f"system:serviceaccount:{namespace}:{name}"
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "sa",
            "clusters": [
                {
                    "name": "c",
                    "cluster": {"server": cluster["server"], "certificate-authority-data": ca},
                }
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [
                {"name": "sa", "context": {"cluster": "c", "user": user, "namespace": namespace}}
            ],
        }
        path = Path(tempfile.mkdtemp(prefix="ttb-sa-")) / "kubeconfig"
        path.write_text(yaml.safe_dump(kubeconfig))
        path.chmod(0o600)
        return path

    def create_namespace(self, hint: str = "t") -> str:
        """A fresh namespace that enforces the `restricted` Pod Security Standard."""
        slug = re.sub(r"[^a-z0-9-]+", "-", hint.lower()).strip("-")[:40].strip("-") or "t"
        name = f"{slug}-{secrets.token_hex(3)}"
        self.apply(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": name,
                    "labels": {
                        "pod-security.kubernetes.io/enforce": "restricted",
                        "pod-security.kubernetes.io/warn": "restricted",
                        "pod-security.kubernetes.io/audit": "restricted",
                        "trainingbot.dev/test": "true",
                    },
                },
            }
        )
        return name

    def delete_namespace(self, name: str) -> None:
        self.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


def _server_of(kubeconfig: Path) -> str:
    config = yaml.safe_load(Path(kubeconfig).read_text())
    current = config.get("current-context")
    context = next(c["context"] for c in config["contexts"] if c["name"] == current)
    return next(
        c["cluster"]["server"] for c in config["clusters"] if c["name"] == context["cluster"]
    )


def connect_cluster() -> KubeCluster:
    """The cluster of this test session (see the module docstring). Never skips: failing to
    build or start the control plane is an error with its reason."""
    bin_dir = controlplane.default_bin_dir()
    external = os.environ.get("KUBECONFIG")
    if external:
        kubeconfig = Path(external.split(os.pathsep)[0])
        host = urlparse(_server_of(kubeconfig)).hostname
        if host not in ("127.0.0.1", "localhost", "::1") and not os.environ.get(
            "TTB_ALLOW_REMOTE_CLUSTER"
        ):
            raise RuntimeError(
                f"KUBECONFIG points at {host}, which is not on this machine: the tests create "
                "and delete namespaces there. Unset KUBECONFIG to use the local control plane, "
                "or set TTB_ALLOW_REMOTE_CLUSTER=1 if that cluster is meant for tests."
            )
        return KubeCluster(kubeconfig, bin_dir)
    if not (bin_dir / "kube-apiserver").exists() or not (bin_dir / "helm").exists():
        build = subprocess.run([str(CLUSTER_SCRIPTS / "build.sh")], capture_output=True, text=True)
        if build.returncode:
            raise RuntimeError(f"building the control plane failed:\n{build.stderr[-4000:]}")
    plane = controlplane.ControlPlane(controlplane.DEFAULT_DIR, bin_dir)
    reused = plane.running()
    kubeconfig = plane.up()
    cluster = KubeCluster(kubeconfig, bin_dir, started=not reused)
    cluster.plane = plane
    return cluster
