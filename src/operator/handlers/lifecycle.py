"""Operator start-up and shutdown: settings, credentials, the API client, the liveness probe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf
from trainingbot_operator import k8s, metrics, rollout
from trainingbot_operator.reconciler import Reconciler
from trainingbot_operator.runtime import Runtime
from trainingbot_operator.settings import Options, configure


@kopf.on.startup()
def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    configure(settings)
    kube = k8s.Kube.from_configuration(k8s.load_configuration())
    memo.runtime = Runtime(
        reconciler=Reconciler(kube=kube, post_event=post_event),
        options=memo.get("options") or Options(),
    )


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    """The same credentials as the operator's own client (in-cluster, else KUBECONFIG)."""
    return k8s.connection_info(k8s.load_configuration())


@kopf.on.cleanup()
def stop(memo: kopf.Memo, **_: Any) -> None:
    runtime = memo.get("runtime")
    if runtime is not None:
        runtime.reconciler.kube.close()


@kopf.on.probe(id="watchEventAgeSeconds")
def watch_event_age(**_: Any) -> float:
    return round(metrics.WATCH_CLOCK.age(), 1)


def post_event(body: Mapping[str, Any], event: rollout.Event) -> None:
    """A Kubernetes Event about the TrainingBot, posted by kopf in the background."""
    kopf.event(dict(body), type=event.type, reason=event.reason, message=event.message)
