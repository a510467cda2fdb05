#!/usr/bin/env python3
"""A local Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, and kwok standing in for nodes and kubelets.

    controlplane.py up   [--dir DIR]   start (or find running) and print KUBECONFIG=<path> last
    controlplane.py down [--dir DIR]   stop every process it started, by PID
    controlplane.py status [--dir DIR]

The binaries come from `build.sh` (pinned in versions.env, cached under the user's cache
directory). Everything listens on 127.0.0.1 with certificates generated for this run, and the
API server is configured as a real cluster's would be: client-certificate and token
authentication, RBAC, the default admission plugins (PodSecurity among them) plus
NodeRestriction, and a service-account signing key, so that the operator's RBAC and the pods'
security context are checked for real.

Only the standard library is used, so that `make cluster-up` works before the virtualenv.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_DIR = Path(os.environ.get("TTB_CLUSTER_DIR", Path(tempfile.gettempdir()) / "ttb-cluster"))
NODE_NAMES = ("kwok-node-0", "kwok-node-1")
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
ISSUER = "https://kubernetes.default.svc.cluster.local"

# Controllers a platform engineer's workflow touches: rollouts and their history (`kubectl
# rollout undo` needs ReplicaSets), Jobs, cascading deletion, namespaces and their default
# ServiceAccount, PDB status, Service endpoints, PVC binding for the backup volume. Node
# lifecycle is left out: kwok's nodes never go away, and without it no taint races the tests.
CONTROLLERS = (
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",  # the e2e suite's Redis and Sentinels
    "job-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "disruption-controller",
    "endpointslice-controller",
    "ttl-after-finished-controller",
    "pod-garbage-collector-controller",
    "persistentvolume-binder-controller",
    "persistentvolumeclaim-protection-controller",
    "clusterrole-aggregation-controller",
)


def read_versions() -> dict[str, str]:
    versions = {}
    for line in (HERE / "versions.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip()
    return versions


def default_bin_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    root = Path(os.environ.get("TTB_CACHE_DIR", cache / "telegram-training-bot"))
    return root / f"kube-{read_versions()['KUBE_VERSION']}" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class ControlPlane:
    """One control plane rooted in a directory: certificates, kubeconfigs, logs, data, PIDs."""

    def __init__(self, root: Path = DEFAULT_DIR, bin_dir: Path | None = None) -> None:
        self.root = Path(root)
        self.bin_dir = Path(bin_dir) if bin_dir else default_bin_dir()
        self.pki = self.root / "pki"
        self.logs = self.root / "logs"
        self.state_file = self.root / "state.json"
        self.kubeconfig = self.root / "admin.kubeconfig"

    # -- state -------------------------------------------------------------------------
    def _state(self) -> dict:
        if self.state_file.exists():
            return json.loads(self.state_file.read_text())
        return {"pids": {}, "ports": {}}

    def _save(self, state: dict) -> None:
        self.state_file.write_text(json.dumps(state, indent=2))

    def running(self) -> bool:
        state = self._state()
        pids = state.get("pids", {})
        return (
            bool(pids)
            and all(_alive(pid) for pid in pids.values())
            and self._readyz(state["ports"]["apiserver"])
        )

    # -- certificates ------------------------------------------------------------------
    def _certificates(self) -> None:
        self.pki.mkdir(parents=True, exist_ok=True)
        p = self.pki
        if (p / "ca.crt").exists():
            return
        openssl("genrsa", "-out", "ca.key", "2048", cwd=p)
        openssl(
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-days",
            "30",
            "-subj",
            "/CN=ttb-local-ca",
            "-out",
            "ca.crt",
            cwd=p,
        )
        sans = (
            "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
            "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
        )
        self._leaf("apiserver", "/CN=kube-apiserver", "serverAuth", sans)
        self._leaf("kwok-serving", "/CN=kwok", "serverAuth", "IP:127.0.0.1,DNS:localhost")
        # Each component authenticates as the identity a kubeadm cluster gives it, so that
        # the bootstrap RBAC roles (not system:masters) govern what it may do.
        self._leaf("admin", "/O=system:masters/CN=kubernetes-admin", "clientAuth")
        self._leaf("controller-manager", "/CN=system:kube-controller-manager", "clientAuth")
        self._leaf("scheduler", "/CN=system:kube-scheduler", "clientAuth")
        self._leaf("kwok", "/O=system:masters/CN=kwok-controller", "clientAuth")
        self._leaf(
            "apiserver-kubelet-client", "/O=system:masters/CN=kube-apiserver-kubelet", "clientAuth"
        )
        self._leaf("front-proxy-client", "/CN=front-proxy-client", "clientAuth")
        openssl("genrsa", "-out", "sa.key", "2048", cwd=p)
        openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=p)

    def _leaf(self, name: str, subject: str, usage: str, sans: str | None = None) -> None:
        p = self.pki
        ext = [f"extendedKeyUsage={usage}", "keyUsage=critical,digitalSignature,keyEncipherment"]
        if sans:
            ext.append(f"subjectAltName={sans}")
        (p / f"{name}.ext").write_text("\n".join(ext) + "\n")
        openssl("genrsa", "-out", f"{name}.key", "2048", cwd=p)
        openssl(
            "req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=p
        )
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.crt",
            cwd=p,
        )

    def _write_kubeconfig(self, path: Path, user: str, port: int) -> None:
        p = self.pki
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "ttb-local",
                    "clusters": [
                        {
                            "name": "ttb-local",
                            "cluster": {
                                "server": f"https://127.0.0.1:{port}",
                                "certificate-authority": str(p / "ca.crt"),
                            },
                        }
                    ],
                    "users": [
                        {
                            "name": user,
                            "user": {
                                "client-certificate": str(p / f"{user}.crt"),
                                "client-key": str(p / f"{user}.key"),
                            },
                        }
                    ],
                    "contexts": [
                        {
                            "name": "ttb-local",
                            "context": {
                                "cluster": "ttb-local",
                                "user": user,
                                "namespace": "default",
                            },
                        }
                    ],
                },
                indent=2,
            )
        )

    # -- processes ---------------------------------------------------------------------
    def _spawn(self, state: dict, name: str, args: list[str]) -> None:
        binary = self.bin_dir / args[0]
        if not binary.exists():
            raise SystemExit(
                f"{binary} is missing: run scripts/cluster/build.sh (make "
                "cluster-binaries) to build the control plane"
            )
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(
            [str(binary), *args[1:]],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        state["pids"][name] = proc.pid
        self._save(state)

    def _readyz(self, port: int) -> bool:
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
        try:
            with urllib.request.urlopen(
                f"https://127.0.0.1:{port}/readyz", context=ctx, timeout=2
            ) as resp:
                return resp.status == 200
        except OSError:
            return False

    def _wait(self, state: dict, what: str, predicate, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, pid in state["pids"].items() if not _alive(pid)]
            if dead:
                tail = (self.logs / f"{dead[0]}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(
                    f"{dead[0]} exited while waiting for {what}; its log ends:\n{tail}"
                )
            if predicate():
                return
            time.sleep(0.2)
        raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}; logs in {self.logs}")

    def kubectl(self, *args: str, input: str | None = None, check: bool = True):
        return subprocess.run(
            [str(self.bin_dir / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            capture_output=True,
            text=True,
            check=check,
        )

    def up(self) -> Path:
        """Start every component (or find them running) and return the admin kubeconfig."""
        if self.running():
            return self.kubeconfig
        self.down(quiet=True)
        try:
            return self._start()
        except BaseException:
            self.down(quiet=True)
            raise

    def _start(self) -> Path:
        started = time.monotonic()
        for d in (self.root, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        self._certificates()
        ports = {
            name: free_port()
            for name in (
                "etcd",
                "etcd_peer",
                "apiserver",
                "controller_manager",
                "scheduler",
                "kwok",
            )
        }
        state = {"pids": {}, "ports": ports}
        self._save(state)
        p, data = self.pki, self.root / "etcd-data"
        shutil.rmtree(data, ignore_errors=True)

        self._spawn(
            state,
            "etcd",
            [
                "etcd",
                "--name=ttb",
                f"--data-dir={data}",
                f"--listen-client-urls=http://127.0.0.1:{ports['etcd']}",
                f"--advertise-client-urls=http://127.0.0.1:{ports['etcd']}",
                f"--listen-peer-urls=http://127.0.0.1:{ports['etcd_peer']}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{ports['etcd_peer']}",
                f"--initial-cluster=ttb=http://127.0.0.1:{ports['etcd_peer']}",
                # A throwaway store: durability across power loss buys nothing here (envtest too).
                "--unsafe-no-fsync=true",
                "--quota-backend-bytes=4294967296",
                "--log-level=warn",
            ],
        )
        self._spawn(
            state,
            "kube-apiserver",
            [
                "kube-apiserver",
                f"--etcd-servers=http://127.0.0.1:{ports['etcd']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={ports['apiserver']}",
                f"--tls-cert-file={p / 'apiserver.crt'}",
                f"--tls-private-key-file={p / 'apiserver.key'}",
                f"--client-ca-file={p / 'ca.crt'}",
                f"--requestheader-client-ca-file={p / 'ca.crt'}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={p / 'front-proxy-client.crt'}",
                f"--proxy-client-key-file={p / 'front-proxy-client.key'}",
                f"--kubelet-client-certificate={p / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={p / 'apiserver-kubelet-client.key'}",
                f"--kubelet-certificate-authority={p / 'ca.crt'}",
                "--kubelet-preferred-address-types=InternalIP",
                f"--service-account-issuer={ISSUER}",
                f"--api-audiences={ISSUER}",
                f"--service-account-key-file={p / 'sa.pub'}",
                f"--service-account-signing-key-file={p / 'sa.key'}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                # The `kubernetes` Service's endpoints may not point at loopback.
                "--endpoint-reconciler-type=none",
                # As kubeadm sets it: privileged pods are a matter for Pod Security admission.
                "--allow-privileged=true",
                "--profiling=false",
                "--enable-priority-and-fairness=false",
            ],
        )
        self._write_kubeconfig(self.kubeconfig, "admin", ports["apiserver"])
        for user in ("controller-manager", "scheduler", "kwok"):
            self._write_kubeconfig(self.root / f"{user}.kubeconfig", user, ports["apiserver"])
        self._wait(state, "kube-apiserver /readyz", lambda: self._readyz(ports["apiserver"]), 60)
        api_ready = time.monotonic() - started

        kcm = self.root / "controller-manager.kubeconfig"
        self._spawn(
            state,
            "kube-controller-manager",
            [
                "kube-controller-manager",
                f"--kubeconfig={kcm}",
                f"--authentication-kubeconfig={kcm}",
                f"--authorization-kubeconfig={kcm}",
                "--bind-address=127.0.0.1",
                f"--secure-port={ports['controller_manager']}",
                "--leader-elect=false",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={p / 'sa.key'}",
                f"--root-ca-file={p / 'ca.crt'}",
                f"--controllers={','.join(CONTROLLERS)}",
                # Rollouts in tests are seconds long; the default 15 s resync would slow them.
                "--concurrent-deployment-syncs=5",
                "--concurrent-job-syncs=5",
            ],
        )
        sched = self.root / "scheduler.kubeconfig"
        self._spawn(
            state,
            "kube-scheduler",
            [
                "kube-scheduler",
                f"--kubeconfig={sched}",
                f"--authentication-kubeconfig={sched}",
                f"--authorization-kubeconfig={sched}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={ports['scheduler']}",
            ],
        )
        self._spawn(
            state,
            "kwok",
            [
                "kwok",
                f"--kubeconfig={self.root / 'kwok.kubeconfig'}",
                "--manage-all-nodes=true",
                f"--config={self._kwok_config()}",
                f"--cidr={POD_CIDR}",
                "--node-ip=127.0.0.1",
                f"--server-address=127.0.0.1:{ports['kwok']}",
                f"--tls-cert-file={p / 'kwok-serving.crt'}",
                f"--tls-private-key-file={p / 'kwok-serving.key'}",
            ],
        )
        for node in NODE_NAMES:
            self.kubectl("apply", "-f", "-", input=json.dumps(_node(node, ports["kwok"])))
        self._wait(state, "nodes to be Ready", self._nodes_ready, 60)
        # The API server taints every new Node not-ready; in a real cluster the node-lifecycle
        # controller lifts it once the kubelet reports Ready. That controller also marks pods
        # not ready whenever a heartbeat is late, which on two busy cores would flake tests,
        # so it does not run and the taint is lifted here, once, as it would have been.
        for node in NODE_NAMES:
            self.kubectl(
                "taint", "nodes", node, "node.kubernetes.io/not-ready:NoSchedule-", check=False
            )
        self._wait(
            state,
            "the default ServiceAccount",
            lambda: (
                self.kubectl(
                    "get", "serviceaccount", "default", "-n", "default", check=False
                ).returncode
                == 0
            ),
            60,
        )
        state["timings"] = {
            "api_ready_seconds": round(api_ready, 1),
            "ready_seconds": round(time.monotonic() - started, 1),
        }
        self._save(state)
        return self.kubeconfig

    def _kwok_config(self) -> Path:
        """The stages file with the absolute path of the simulated containers' log."""
        config = self.root / "kwok-stages.yaml"
        text = (HERE / "kwok-stages.yaml").read_text()
        config.write_text(text.replace("KWOK_CONTAINER_LOG", str(HERE / "kwok-container.log")))
        return config

    def _nodes_ready(self) -> bool:
        out = self.kubectl("get", "nodes", "-o", "json", check=False)
        if out.returncode:
            return False
        nodes = json.loads(out.stdout)["items"]
        ready = [
            n
            for n in nodes
            for c in n.get("status", {}).get("conditions", [])
            if c["type"] == "Ready" and c["status"] == "True"
        ]
        return len(ready) == len(NODE_NAMES)

    def down(self, quiet: bool = False) -> None:
        """Stop every process this control plane started: TERM, then KILL the stragglers."""
        state = self._state()
        pids = state.get("pids", {})
        for pid in reversed(list(pids.values())):
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids.values()):
            time.sleep(0.1)
        for pid in pids.values():
            _signal(pid, signal.SIGKILL)
        state["pids"] = {}
        if self.root.exists():
            self._save(state)
        if not quiet and pids:
            print(f"stopped {', '.join(pids)}", file=sys.stderr)


def _node(name: str, kwok_port: int) -> dict:
    """A fake Node that kwok manages; its kubelet endpoint is kwok's server (logs, exec)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
            "annotations": {"kwok.x-k8s.io/node": "fake"},
        },
        "spec": {},
        "status": {
            "daemonEndpoints": {"kubeletEndpoint": {"Port": kwok_port}},
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": name},
            ],
        },
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not reaped by a parent that is still alive) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _signal(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument(
        "--dir",
        type=Path,
        default=DEFAULT_DIR,
        help=f"state directory (default {DEFAULT_DIR}; env TTB_CLUSTER_DIR)",
    )
    parser.add_argument(
        "--bin-dir",
        type=Path,
        default=None,
        help="where build.sh put the binaries (default: the versioned cache)",
    )
    args = parser.parse_args(argv)
    plane = ControlPlane(args.dir, args.bin_dir)
    if args.action == "up":
        kubeconfig = plane.up()
        timings = plane._state().get("timings", {})
        if timings:
            print(
                f"API server ready in {timings['api_ready_seconds']} s, cluster ready in "
                f"{timings['ready_seconds']} s; logs in {plane.logs}",
                file=sys.stderr,
            )
        print(
            f"export PATH={plane.bin_dir}:$PATH  # kubectl and helm of this control plane",
            file=sys.stderr,
        )
        print(f"KUBECONFIG={kubeconfig}")
    elif args.action == "down":
        plane.down()
    else:
        print("running" if plane.running() else "stopped")
        return 0 if plane.running() else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
