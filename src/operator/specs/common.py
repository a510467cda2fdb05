"""Pieces every builder shares: owner references, metadata, pod security, Secret env, digests."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from trainingbot_operator import naming
from trainingbot_operator.models import SecretKeyRef

#: The bot image's fixed non-root user and group (the Dockerfile creates the same ids).
BOT_UID = 10001
BOT_GID = 10001

HTTP_PORT = 8080
WEBHOOK_PORT = 8081
CONTENT_DIR = "/etc/trainingbot/content"
BACKUP_DIR = "/backups"
# The bot writes nothing but temporary files; 64 MiB bounds a runaway writer on the node's disk.
TMP_SIZE_LIMIT = "64Mi"


@dataclass(frozen=True)
class Owner:
    """The TrainingBot that owns a child: deleting it deletes the child (garbage collection)."""

    api_version: str
    kind: str
    name: str
    uid: str
    namespace: str

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Owner:
        meta = body["metadata"]
        return cls(
            api_version=body["apiVersion"],
            kind=body["kind"],
            name=meta["name"],
            uid=meta["uid"],
            namespace=meta["namespace"],
        )

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


def metadata(
    name: str,
    owner: Owner,
    labels: Mapping[str, str],
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": owner.namespace,
        "labels": dict(labels),
        "ownerReferences": [owner.reference()],
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def pod_security_context() -> dict[str, Any]:
    """The pod half of the `restricted` Pod Security Standard, with fixed ids."""
    return {
        "runAsNonRoot": True,
        "runAsUser": BOT_UID,
        "runAsGroup": BOT_GID,
        "fsGroup": BOT_GID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """The container half of `restricted`, plus a read-only root filesystem."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": BOT_UID,
        "runAsGroup": BOT_GID,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def tmp_volume() -> dict[str, Any]:
    return {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}}


def tmp_mount() -> dict[str, Any]:
    return {"name": "tmp", "mountPath": "/tmp"}


def env_value(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value}


def env_secret(name: str, ref: SecretKeyRef) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def digest(value: Any) -> str:
    """A stable sha256 of any JSON-serialisable value (sorted keys)."""
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def config_checksum(
    secrets: Mapping[tuple[str, str], str | None],
    config_maps: Mapping[str, Mapping[str, str] | None],
) -> str:
    """Digest of what the pods read from Secrets (per referenced key) and the content ConfigMap.

    `secrets` maps (secret name, key) to the base64 value as the API returns it (None when
    missing); `config_maps` maps a name to its `data` (None when missing). Any change of a value
    changes the digest, so the pod template changes and the pods roll.
    """
    return digest(
        {
            "secrets": {f"{name}/{key}": value for (name, key), value in sorted(secrets.items())},
            "configMaps": {
                name: dict(data) if data is not None else None
                for name, data in sorted(config_maps.items())
            },
        }
    )


def pod_annotations(user: Mapping[str, str], operator: Mapping[str, str]) -> dict[str, str]:
    """User annotations first; the operator's own keys win (a user cannot fake a checksum)."""
    merged = dict(user)
    merged.update(operator)
    return merged


def job_labels(bot: str, component: str, image: str) -> dict[str, str]:
    labels = naming.common_labels(bot, component)
    version = naming.image_version(image)
    if version:
        labels[naming.LABEL_VERSION] = version
    return labels


_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([KMGTPE]i|[kMGTPE]|m)?$")
_FACTORS = {
    None: 1,
    "m": Decimal("0.001"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def quantity_bytes(value: str | int | None) -> int | None:
    """A Kubernetes quantity (`256Mi`, `1G`, `1e9`) in bytes; None when absent or unparsable."""
    if value is None:
        return None
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return None
    number, suffix = match.groups()
    return int(Decimal(number) * _FACTORS[suffix])
