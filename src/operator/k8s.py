"""The thin layer between the operator and the API server (kubernetes' Python client, sync).

Every write is idempotent: children are server-side applied under one field manager (create or
update in one request; fields the operator stopped setting are removed), a create that meets an
existing object returns it, and a 404 on read or delete is an answer, not an error. Other API
errors propagate as `kubernetes.client.ApiException`; the reconciler retries with back-off.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import urllib3
from kubernetes.client import ApiClient, ApiException, Configuration

from trainingbot_operator import models, naming

logger = logging.getLogger(__name__)

#: Server-side apply's field manager; `rollout.DeploymentView` reads ownership by this name.
FIELD_MANAGER = naming.MANAGED_BY
# Short requests only (no watches here): a stuck API server must not stall a reconcile forever.
REQUEST_TIMEOUT = (10, 30)
# A log goes through the node's kubelet, which may be the very thing that is down.
LOG_REQUEST_TIMEOUT = (5, 10)
SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


@dataclass(frozen=True)
class Kind:
    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        base = (
            f"/api/{self.api_version}"
            if "/" not in self.api_version
            else f"/apis/{self.api_version}"
        )
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
        return base


_KINDS = [
    Kind("v1", "ServiceAccount", "serviceaccounts"),
    Kind("v1", "Service", "services"),
    Kind("v1", "Secret", "secrets"),
    Kind("v1", "ConfigMap", "configmaps"),
    Kind("v1", "Pod", "pods"),
    Kind("apps/v1", "Deployment", "deployments"),
    Kind("batch/v1", "Job", "jobs"),
    Kind("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    Kind("monitoring.coreos.com/v1", "ServiceMonitor", "servicemonitors"),
    Kind("monitoring.coreos.com/v1", "PrometheusRule", "prometheusrules"),
    Kind(models.API_VERSION, models.KIND, models.PLURAL),
]
KINDS: Mapping[tuple[str, str], Kind] = {(k.api_version, k.kind): k for k in _KINDS}


def kind_of(api_version: str, kind: str) -> Kind:
    return KINDS[(api_version, kind)]


SERVICE_ACCOUNT = kind_of("v1", "ServiceAccount")
SERVICE = kind_of("v1", "Service")
SECRET = kind_of("v1", "Secret")
CONFIG_MAP = kind_of("v1", "ConfigMap")
POD = kind_of("v1", "Pod")
DEPLOYMENT = kind_of("apps/v1", "Deployment")
JOB = kind_of("batch/v1", "Job")
POD_DISRUPTION_BUDGET = kind_of("policy/v1", "PodDisruptionBudget")
SERVICE_MONITOR = kind_of("monitoring.coreos.com/v1", "ServiceMonitor")
PROMETHEUS_RULE = kind_of("monitoring.coreos.com/v1", "PrometheusRule")
TRAINING_BOT = kind_of(models.API_VERSION, models.KIND)


def load_configuration() -> Configuration:
    """The client configuration: in-cluster when a ServiceAccount token is mounted, else KUBECONFIG.

    Loaded into a fresh object, never into the client library's process-wide default, so that
    the operator's credentials do not leak into other code of the same process (tests).
    """
    configuration = Configuration()
    if SERVICE_ACCOUNT_TOKEN.exists() and "KUBERNETES_SERVICE_HOST" in os.environ:
        kubernetes.config.load_incluster_config(client_configuration=configuration)
    else:
        kubernetes.config.load_kube_config(
            config_file=os.environ.get("KUBECONFIG") or None,
            client_configuration=configuration,
        )
    return configuration


class Kube:
    """Get, list, apply, create, delete, patch status, discover and read logs."""

    def __init__(self, api_client: ApiClient) -> None:
        self.api_client = api_client

    @classmethod
    def from_configuration(cls, configuration: Configuration) -> Kube:
        return cls(ApiClient(configuration))

    def close(self) -> None:
        self.api_client.close()

    # -- raw ----------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        raw: bool = False,
        timeout: tuple[float, float] = REQUEST_TIMEOUT,
    ) -> Any:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        method, url, headers, body, _ = self.api_client.param_serialize(
            method=method,
            resource_path=path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self.api_client.call_api(
            method, url, header_params=headers, body=body, _request_timeout=timeout
        )
        response.read()
        if not 200 <= response.status <= 299:
            raise ApiException(status=response.status, reason=response.reason, http_resp=response)
        text = response.data.decode("utf-8") if response.data else ""
        if raw:
            return text
        return json.loads(text) if text else {}

    # -- reads ----------------------------------------------------------------------------------

    def get(self, kind: Kind, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return self._request("GET", kind.path(namespace, name))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, kind: Kind, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        result = self._request(
            "GET", kind.path(namespace), query=[("labelSelector", label_selector)]
        )
        return list(result.get("items", []))

    def any_exist(self, kind: Kind, namespace: str | None) -> bool:
        """Whether `namespace` (every namespace: None) holds at least one object of `kind`."""
        result = self._request("GET", kind.path(namespace), query=[("limit", "1")])
        return bool(result.get("items"))

    def served(self, kind: Kind) -> bool:
        """Whether the API server serves this kind now (discovery; no RBAC needed)."""
        group_path = (
            f"/apis/{kind.api_version}" if "/" in kind.api_version else f"/api/{kind.api_version}"
        )
        try:
            resources = self._request("GET", group_path).get("resources", [])
        except ApiException as exc:
            if exc.status in (404, 503):
                return False
            raise
        return any(r.get("name") == kind.plural for r in resources)

    def pod_logs_tail(
        self, namespace: str, pod: str, container: str | None, lines: int
    ) -> str | None:
        query = [("tailLines", str(lines))]
        if container:
            query.append(("container", container))
        try:
            text = self._request(
                "GET",
                POD.path(namespace, pod, "log"),
                query=query,
                raw=True,
                timeout=LOG_REQUEST_TIMEOUT,
            )
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            # Best effort: no such pod, a container that never started, or a node whose kubelet
            # does not answer. The failure is reported without its log rather than not at all.
            logger.debug("No log of pod %s/%s: %s", namespace, pod, exc)
            return None
        return str(text).rstrip() or None

    # -- writes ---------------------------------------------------------------------------------

    def apply(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply: create or update, taking ownership of every field it sets."""
        kind = kind_of(manifest["apiVersion"], manifest["kind"])
        meta = manifest["metadata"]
        return self._request(
            "PATCH",
            kind.path(meta.get("namespace"), meta["name"]),
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
            body=json.dumps(manifest),
            content_type="application/apply-patch+yaml",
        )

    def create(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Create; when the object exists already (409), return the existing one."""
        kind = kind_of(manifest["apiVersion"], manifest["kind"])
        meta = manifest["metadata"]
        try:
            return self._request(
                "POST",
                kind.path(meta.get("namespace")),
                query=[("fieldManager", FIELD_MANAGER)],
                body=dict(manifest),
            )
        except ApiException as exc:
            if exc.status != 409:
                raise
        existing = self.get(kind, meta.get("namespace"), meta["name"])
        if existing is None:  # deleted in between: the caller will see it next round
            raise ApiException(status=409, reason="created and deleted concurrently")
        return existing

    def delete(self, kind: Kind, namespace: str, name: str) -> bool:
        """Delete in the background (dependents go too); False when it was not there."""
        try:
            self._request(
                "DELETE",
                kind.path(namespace, name),
                body={"propagationPolicy": "Background"},
            )
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def patch_status(
        self, kind: Kind, namespace: str, name: str, status: Mapping[str, Any]
    ) -> dict[str, Any]:
        """JSON merge patch of the status subresource (None values delete keys)."""
        return self._request(
            "PATCH",
            kind.path(namespace, name, "status"),
            body={"status": dict(status)},
            content_type="application/merge-patch+json",
        )


def connection_info(configuration: Configuration) -> Any:
    """kopf's credentials from the client configuration (as kopf's own client login does)."""
    import kopf

    header = configuration.get_api_key_with_prefix(
        "BearerToken"
    ) or configuration.get_api_key_with_prefix("authorization")
    parts = header.split(" ", 1) if header else []
    scheme, token = (
        (None, None)
        if not parts
        else ((None, parts[0]) if len(parts) == 1 else (parts[0], parts[1]))
    )
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme,
        token=token,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )
