"""The TrainingBot's reconciler loop, what wakes it, and the periodic resync (the backstop)."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from trainingbot_operator import metrics
from trainingbot_operator.models import GROUP, PLURAL, VERSION
from trainingbot_operator.settings import RESYNC_SECONDS


@kopf.daemon(GROUP, VERSION, PLURAL, id="reconciler", cancellation_timeout=5.0)
async def reconcile_trainingbot(
    namespace: str,
    name: str,
    memo: kopf.Memo,
    stopped: kopf.DaemonStopped,
    logger: logging.Logger,
    **_: Any,
) -> None:
    await memo.runtime.run(namespace, name, stopped, logger)


@kopf.on.event(GROUP, VERSION, PLURAL, id="watch")
async def on_trainingbot_event(namespace: str, name: str, memo: kopf.Memo, **_: Any) -> None:
    metrics.WATCH_CLOCK.touch()
    memo.runtime.wake(namespace, name)


@kopf.timer(
    GROUP, VERSION, PLURAL, id="resync", interval=RESYNC_SECONDS, initial_delay=RESYNC_SECONDS
)
async def resync_trainingbot(namespace: str, name: str, memo: kopf.Memo, **_: Any) -> None:
    """A backstop to events: whatever was missed, every bot is fully reconciled this often."""
    memo.runtime.wake(namespace, name, full=True)


@kopf.on.delete(GROUP, VERSION, PLURAL, id="forget", optional=True)
async def forget_trainingbot(namespace: str, name: str, **_: Any) -> None:
    """Children go by garbage collection (owner references); only our metrics forget the bot."""
    metrics.forget(namespace, name)
