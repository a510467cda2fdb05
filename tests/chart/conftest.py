"""Helpers of the chart tests: the pinned `helm`, rendering the chart, reading what it made."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cluster import CLUSTER_SCRIPTS, controlplane
from tests.support.specs import webhook_connections

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "telegram-training-bot"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
# `helm template` has no cluster to ask; the pinned control plane's version.
KUBE_VERSION = "1.36.0"
RELEASE = "ttb"
NAMESPACE = "training"


def helm_binary() -> Path:
    """The pinned helm of the local control plane, built by scripts/cluster/build.sh if missing
    (that is what `make bootstrap` does); never a helm that happens to be on PATH."""
    helm = controlplane.default_bin_dir() / "helm"
    if not helm.exists():
        build = subprocess.run([str(CLUSTER_SCRIPTS / "build.sh")], capture_output=True, text=True)
        if build.returncode or not helm.exists():
            raise RuntimeError(
                f"helm is missing and scripts/cluster/build.sh failed:\n{build.stderr[-4000:]}"
            )
    return helm


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(helm_binary()), *args], capture_output=True, text=True, timeout=120
    )
    if check and result.returncode:
        raise AssertionError(
            f"helm {' '.join(args)} exited {result.returncode}:\n{result.stderr or result.stdout}"
        )
    return result


def _values_args(values: dict[str, Any] | None, files: Iterable[Path], tmp: Path) -> list[str]:
    args = []
    for path in files:
        args += ["-f", str(path)]
    if values is not None:
        path = tmp / "values.json"
        path.write_text(json.dumps(values))
        args += ["-f", str(path)]
    return args


def template(
    values: dict[str, Any] | None = None,
    files: Iterable[Path] = (),
    namespace: str = NAMESPACE,
    release: str = RELEASE,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """`helm template` of the chart with these values (files first, then the dict)."""
    with tempfile.TemporaryDirectory() as tmp:
        return helm(
            "template",
            release,
            str(CHART),
            "--namespace",
            namespace,
            "--kube-version",
            KUBE_VERSION,
            *_values_args(values, files, Path(tmp)),
            check=check,
        )


def render(
    values: dict[str, Any] | None = None,
    files: Iterable[Path] = (),
    namespace: str = NAMESPACE,
    release: str = RELEASE,
) -> list[dict[str, Any]]:
    """The rendered manifests, parsed (the CRDs of crds/ are not rendered by `template`)."""
    out = template(values, files, namespace, release).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def render_error(values: dict[str, Any] | None = None, files: Iterable[Path] = ()) -> str:
    """The error of a render that must fail."""
    result = template(values, files, check=False)
    assert result.returncode != 0, "the render was expected to fail"
    return result.stderr


def find(
    docs: list[dict[str, Any]], kind: str, name: str | None = None, namespace: str | None = None
) -> list[dict[str, Any]]:
    return [
        d
        for d in docs
        if d["kind"] == kind
        and (name is None or d["metadata"]["name"] == name)
        and (namespace is None or d["metadata"].get("namespace") == namespace)
    ]


def one(
    docs: list[dict[str, Any]], kind: str, name: str | None = None, namespace: str | None = None
) -> dict[str, Any]:
    found = find(docs, kind, name, namespace)
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def load_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def bot_values(name: str = "oncall", **spec: Any) -> dict[str, Any]:
    """A valid bot for `bots:`: webhook mode, Secrets by reference, courses from values."""
    base: dict[str, Any] = {
        **webhook_connections(),
    }
    base.update(spec)
    return {"name": name, "courses": {"c.course.yaml": "id: c\n"}, "spec": base}


@pytest.fixture(scope="session")
def default_docs() -> list[dict[str, Any]]:
    return render()
