"""The idle-watch check on a real API server, as the operator's ServiceAccount: it tells a
namespace without TrainingBots from one with a TrainingBot (so that an idle operator's watch
event age stays fresh, and a busy one's only by real events)."""

from __future__ import annotations

import asyncio

import kubernetes
import pytest
from kubernetes.client import ApiException, Configuration

from trainingbot_operator import k8s, metrics, watchdog

from tests.operator.cluster.support import Cluster, fast_spec

pytestmark = pytest.mark.cluster


@pytest.fixture
def operator_kube(operator_kubeconfig):
    configuration = Configuration()
    kubernetes.config.load_kube_config(
        config_file=str(operator_kubeconfig), client_configuration=configuration
    )
    kube = k8s.Kube.from_configuration(configuration)
    yield kube
    kube.close()


def test_an_idle_namespace_restarts_the_age_and_a_trainingbot_stops_that(
    cluster: Cluster, operator_kube
):
    scope = watchdog.listing_scope(clusterwide=False, namespaces=[cluster.namespace])
    clock = metrics._WatchClock()
    clock._last -= 3600  # an hour without a TrainingBot event

    assert asyncio.run(watchdog.check_idle_watch(operator_kube, scope, clock))
    assert clock.age() < 60

    cluster.apply_bot("oncall", fast_spec())  # no operator runs here: nothing reacts to it
    clock._last -= 3600
    assert not asyncio.run(watchdog.check_idle_watch(operator_kube, scope, clock))
    assert clock.age() >= 3600


def test_a_namespaced_operator_may_not_list_every_namespace(cluster: Cluster, operator_kube):
    """Why the scope comes from the command line: the Role is only in the namespaces served."""
    with pytest.raises(ApiException) as denied:
        operator_kube.any_exist(k8s.TRAINING_BOT, None)
    assert denied.value.status == 403
    clock = metrics._WatchClock()
    clock._last -= 3600
    assert not asyncio.run(
        watchdog.check_idle_watch(operator_kube, watchdog.EVERY_NAMESPACE, clock)
    )
    assert clock.age() >= 3600
