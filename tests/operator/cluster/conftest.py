"""Fixtures of the operator's cluster tests: CRDs, the operator's account, the operator."""

from __future__ import annotations

import pytest

from tests.operator.cluster import support
from tests.support.cluster import KubeCluster


@pytest.fixture(scope="session")
def crds(kube: KubeCluster) -> None:
    """The project's CRDs, applied from `crds/` (left installed: other tiers use them too)."""
    support.install_crds(kube)


@pytest.fixture(scope="session")
def operator_cluster_role(kube: KubeCluster):
    name = support.create_cluster_role(kube)
    yield name
    kube.kubectl("delete", "clusterrole", name, "--ignore-not-found", check=False)


@pytest.fixture
def operator_kubeconfig(kube: KubeCluster, namespace: str, operator_cluster_role: str, crds):
    """A kubeconfig of a ServiceAccount bound to exactly the operator's RBAC rules."""
    kubeconfig, binding = support.grant_operator(kube, namespace, operator_cluster_role)
    yield kubeconfig
    kube.kubectl("delete", "clusterrolebinding", binding, "--ignore-not-found", check=False)


@pytest.fixture
def cluster(kube: KubeCluster, namespace: str, crds) -> support.Cluster:
    """Admin reads and writes in the test namespace, with the bot's Secret and ConfigMap."""
    helper = support.Cluster(kube, namespace)
    helper.create_references()
    return helper


@pytest.fixture
def operator(kube: KubeCluster, namespace: str, operator_kubeconfig):
    """The operator, watching the test namespace, for the whole test; checked clean after.

    TrainingBots left by the test are deleted while it still runs (it holds their
    finalizer), so that the namespace goes away cleanly.
    """
    with support.kopf_operator(namespace, operator_kubeconfig) as runner:
        yield runner
        kube.kubectl("delete", "trainingbots", "--all", "-n", namespace, "--timeout=60s")
