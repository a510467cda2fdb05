"""Operator start-up and shutdown: settings, credentials, the API client, the liveness probe,
and the idle-watch check (`watchdog`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import kopf

from trainingbot_operator import k8s, metrics, rollout, watchdog
from trainingbot_operator.reconciler import Reconciler
from trainingbot_operator.runtime import Runtime
from trainingbot_operator.settings import Options, configure


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    configure(settings)
    kube = k8s.Kube.from_configuration(k8s.load_configuration())
    options = memo.get("options") or Options()
    memo.runtime = Runtime(
        reconciler=Reconciler(kube=kube, post_event=post_event),
        options=options,
    )
    scope = watchdog.listing_scope(clusterwide=options.clusterwide, namespaces=options.namespaces)
    if scope:
        memo.idle_watch = asyncio.create_task(
            watchdog.keep_idle_watch_fresh(kube, scope, metrics.WATCH_CLOCK)
        )


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    """The same credentials as the operator's own client (in-cluster, else KUBECONFIG)."""
    return k8s.connection_info(k8s.load_configuration())


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    idle_watch = memo.get("idle_watch")
    if idle_watch is not None:
        idle_watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await idle_watch
    runtime = memo.get("runtime")
    if runtime is not None:
        runtime.reconciler.kube.close()


@kopf.on.probe(id="watchEventAgeSeconds")
def watch_event_age(**_: Any) -> float:
    return round(metrics.WATCH_CLOCK.age(), 1)


def post_event(body: Mapping[str, Any], event: rollout.Event) -> None:
    """A Kubernetes Event about the TrainingBot, posted by kopf in the background."""
    kopf.event(dict(body), type=event.type, reason=event.reason, message=event.message)
