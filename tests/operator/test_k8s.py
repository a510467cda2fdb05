"""The thin API layer's pure parts: paths, credentials for kopf, best-effort logs."""

from __future__ import annotations

from kubernetes.client import ApiException, Configuration

from trainingbot_operator import k8s


def test_paths_follow_the_api_layout():
    assert k8s.DEPLOYMENT.path("team-a", "oncall") == (
        "/apis/apps/v1/namespaces/team-a/deployments/oncall"
    )
    assert k8s.POD.path("team-a", "p", "log") == "/api/v1/namespaces/team-a/pods/p/log"
    assert k8s.TRAINING_BOT.path("team-a", "oncall", "status") == (
        "/apis/trainingbot.dev/v1alpha1/namespaces/team-a/trainingbots/oncall/status"
    )
    assert k8s.SERVICE_MONITOR.path("team-a") == (
        "/apis/monitoring.coreos.com/v1/namespaces/team-a/servicemonitors"
    )


def test_every_kind_the_builders_make_is_known():
    kinds = {(k.api_version, k.kind) for k in k8s.KINDS.values()}
    for expected in [
        ("v1", "ServiceAccount"),
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "Job"),
        ("policy/v1", "PodDisruptionBudget"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
        ("monitoring.coreos.com/v1", "PrometheusRule"),
    ]:
        assert expected in kinds


def test_kopf_gets_the_same_credentials_as_the_client():
    configuration = Configuration(host="https://127.0.0.1:6443")
    configuration.api_key = {"BearerToken": "abc"}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    configuration.ssl_ca_cert = "/tmp/ca.crt"
    info = k8s.connection_info(configuration)
    assert info.server == "https://127.0.0.1:6443"
    assert (info.scheme, info.token) == ("Bearer", "abc")
    assert info.ca_path == "/tmp/ca.crt" and info.insecure is False


def test_a_pod_log_that_cannot_be_read_is_no_log():
    class Failing(k8s.Kube):
        def _request(self, *args, **kwargs):
            raise ApiException(status=500, reason="kubelet unreachable")

    assert Failing(api_client=None).pod_logs_tail("ns", "pod", "migrate", 20) is None  # type: ignore[arg-type]
