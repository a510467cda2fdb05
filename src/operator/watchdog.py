"""Keeps `trainingbot_operator_watch_event_age_seconds` true on an operator with no TrainingBot.

The age restarts with every TrainingBot watch event, and each bot's resync writes its status
once a minute, so while a bot exists a healthy watch keeps the age under a minute or so. With no
bot there is nothing for the watch to deliver (the API server's bookmarks keep the stream alive,
but kopf consumes them and tells its handlers nothing), and the age would grow on a healthy idle
operator until TrainingBotOperatorWatchStale fired.

So once a resync interval the operator asks the API server whether any TrainingBot exists where
it serves (one list request, `limit=1`, per namespace). When none does, no event was due and the
age restarts: the watch is not stale, it has nothing to say. When one does, only a real watch
event counts, so a watch that died while the operator was idle is reported once the first bot
appears and its events do not arrive (an alert gated on the operator's per-bot series would stay
silent then: the operator that misses the bot never exports them). A failed list proves nothing
and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from trainingbot_operator import k8s
from trainingbot_operator.settings import RESYNC_SECONDS

logger = logging.getLogger(__name__)

#: Characters of kopf's namespace patterns (`team-*`, `!kube-system`): not a namespace to list.
_PATTERN_CHARACTERS = frozenset("*?[]!")

#: `listing_scope`'s answer for "every namespace".
EVERY_NAMESPACE: tuple[str | None, ...] = (None,)


class Lister(Protocol):
    def any_exist(self, kind: k8s.Kind, namespace: str | None) -> bool: ...


class Clock(Protocol):
    def touch(self) -> None: ...


def listing_scope(*, clusterwide: bool, namespaces: Sequence[str]) -> tuple[str | None, ...]:
    """Where to look for TrainingBots: every namespace (`(None,)`), the namespaces served, or
    nowhere (`()`) when the operator's own code cannot tell: no scope given (`kopf run`), or a
    kopf namespace pattern among them."""
    if clusterwide:
        return EVERY_NAMESPACE
    if any(_PATTERN_CHARACTERS & set(ns) for ns in namespaces):
        return ()
    return tuple(dict.fromkeys(namespaces))


def no_trainingbot_exists(kube: Lister, scope: Sequence[str | None]) -> bool:
    """True when the API server says there is no TrainingBot in `scope` (which is not empty)."""
    return not any(kube.any_exist(k8s.TRAINING_BOT, namespace) for namespace in scope)


async def check_idle_watch(kube: Lister, scope: Sequence[str | None], clock: Clock) -> bool:
    """One check: restart the watch event age if no TrainingBot exists; True if it did."""
    try:
        idle = await asyncio.to_thread(no_trainingbot_exists, kube, scope)
    except Exception as exc:  # the API server is away: no proof either way
        logger.debug("Could not list TrainingBots to check an idle watch: %s", exc)
        return False
    if idle:
        clock.touch()
    return idle


async def keep_idle_watch_fresh(
    kube: Lister,
    scope: Sequence[str | None],
    clock: Clock,
    interval: float = RESYNC_SECONDS,
) -> None:
    """`check_idle_watch` every `interval` seconds (the resync's, the heartbeat it stands in
    for), until cancelled."""
    while True:
        await asyncio.sleep(interval)
        await check_idle_watch(kube, scope, clock)
