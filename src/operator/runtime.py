"""The per-TrainingBot reconciler loops and how watch events wake them.

Each TrainingBot gets one loop (a kopf daemon): the only place its reconciliation runs, so two
rounds for the same bot never overlap. Watch events of the bot, its Deployment and Jobs, and the
Secrets and ConfigMap it references only wake the loop; the periodic timer wakes it for a full
resync. Between wake-ups the loop sleeps for as long as the last decision asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiException

from trainingbot_operator import metrics
from trainingbot_operator.reconciler import Reconciler
from trainingbot_operator.settings import RESYNC_SECONDS, Options

# After a failed round: 1 s, doubling to a minute (the API server may be restarting).
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0


class Wakeup:
    """A wake-up call for one loop; `full` asks for a full resync."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._full = False

    def wake(self, *, full: bool = False) -> None:
        self._full = self._full or full
        self._event.set()

    async def wait(self, seconds: float | None, stopped: Any) -> bool:
        """Sleep until woken, stopped or `seconds` pass; True when a full resync was asked for."""
        waiters = {
            asyncio.ensure_future(self._event.wait()),
            asyncio.ensure_future(_wait_stopped(stopped)),
        }
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
        full, self._full = self._full, False
        self._event.clear()
        return full


async def _wait_stopped(stopped: Any) -> None:
    await stopped.wait()


@dataclass
class Runtime:
    """The operator's state in memory: only the loops' wake-up calls (all else is in the API)."""

    reconciler: Reconciler
    options: Options = field(default_factory=Options)
    wakeups: dict[tuple[str, str], Wakeup] = field(default_factory=dict)

    def wake(self, namespace: str, name: str, *, full: bool = False) -> None:
        wakeup = self.wakeups.get((namespace, name))
        if wakeup is not None:
            wakeup.wake(full=full)

    async def run(self, namespace: str, name: str, stopped: Any, logger: logging.Logger) -> None:
        """The loop of one TrainingBot, until kopf stops it (deletion, exit, peering pause)."""
        wakeup = self.wakeups.setdefault((namespace, name), Wakeup())
        full = True
        failures = 0
        try:
            while not stopped:
                try:
                    delay = await asyncio.to_thread(
                        self.reconciler.reconcile, namespace, name, full=full
                    )
                    metrics.reconciled(namespace, name, ok=True)
                    failures = 0
                    full = False
                except ApiException as exc:
                    failures += 1
                    delay = _retry_delay(failures)
                    metrics.reconciled(namespace, name, ok=False)
                    logger.warning(
                        "Reconciling failed (API %s %s); retrying in %.0f s.",
                        exc.status,
                        exc.reason,
                        delay,
                    )
                except Exception:
                    failures += 1
                    delay = _retry_delay(failures)
                    metrics.reconciled(namespace, name, ok=False)
                    logger.exception("Reconciling failed; retrying in %.0f s.", delay)
                # A failed full round stays due; a wake-up may ask for one too.
                woken_full = await wakeup.wait(RESYNC_SECONDS if delay is None else delay, stopped)
                full = full or woken_full
        finally:
            if self.wakeups.get((namespace, name)) is wakeup:
                del self.wakeups[(namespace, name)]


def _retry_delay(failures: int) -> float:
    return min(RETRY_FIRST_SECONDS * 2 ** (failures - 1), RETRY_MAX_SECONDS)
