"""The idle-watch check: an operator with no TrainingBot keeps its watch event age fresh, one
with a TrainingBot only by real watch events."""

from __future__ import annotations

import asyncio

import pytest
from kubernetes.client import ApiException

from trainingbot_operator import k8s, metrics, watchdog
from trainingbot_operator.main import build_parser
from trainingbot_operator.settings import Options


class FakeKube:
    """`any_exist` answered from a set of namespaces that hold a TrainingBot."""

    def __init__(self, occupied=(), error: Exception | None = None) -> None:
        self.occupied = set(occupied)
        self.error = error
        self.asked: list[str | None] = []

    def any_exist(self, kind: k8s.Kind, namespace: str | None) -> bool:
        assert kind is k8s.TRAINING_BOT
        self.asked.append(namespace)
        if self.error is not None:
            raise self.error
        return bool(self.occupied) if namespace is None else namespace in self.occupied


class CountingClock:
    def __init__(self, until: int = 1) -> None:
        self.touches = 0
        self.until = until
        self.reached = asyncio.Event()

    def touch(self) -> None:
        self.touches += 1
        if self.touches >= self.until:
            self.reached.set()


def test_the_scope_is_every_namespace_the_namespaces_served_or_unknown():
    assert watchdog.listing_scope(clusterwide=True, namespaces=()) == (None,)
    assert watchdog.listing_scope(clusterwide=False, namespaces=("a", "b", "a")) == ("a", "b")
    assert watchdog.listing_scope(clusterwide=False, namespaces=()) == ()
    assert watchdog.listing_scope(clusterwide=False, namespaces=("a", "team-*")) == ()
    assert watchdog.listing_scope(clusterwide=False, namespaces=("!kube-system",)) == ()


def test_the_command_line_scope_reaches_the_options():
    args = build_parser().parse_args(["-n", "team-a", "-n", "team-b"])
    assert (args.all_namespaces, tuple(args.namespaces)) == (False, ("team-a", "team-b"))
    assert Options().clusterwide is False and Options().namespaces == ()


async def test_no_trainingbot_anywhere_restarts_the_age():
    kube, clock = FakeKube(), CountingClock()
    assert await watchdog.check_idle_watch(kube, ("a", "b"), clock)
    assert clock.touches == 1 and kube.asked == ["a", "b"]


@pytest.mark.parametrize("scope", [("a", "b"), (None,)])
async def test_a_trainingbot_leaves_the_age_to_real_watch_events(scope):
    kube, clock = FakeKube(occupied={"b"}), CountingClock()
    assert not await watchdog.check_idle_watch(kube, scope, clock)
    assert clock.touches == 0


@pytest.mark.parametrize(
    "error", [ApiException(status=403, reason="Forbidden"), ConnectionRefusedError()]
)
async def test_a_failed_list_proves_nothing(error):
    clock = CountingClock()
    assert not await watchdog.check_idle_watch(FakeKube(error=error), ("a",), clock)
    assert clock.touches == 0


async def test_the_loop_checks_every_interval_until_cancelled():
    kube, clock = FakeKube(), CountingClock(until=3)
    task = asyncio.ensure_future(watchdog.keep_idle_watch_fresh(kube, ("a",), clock, interval=0))
    await clock.reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_idle_operator_exports_a_fresh_age():
    """The metric the alert reads: the real clock, restarted by the check."""
    clock = metrics._WatchClock()
    clock._last -= 3600  # an hour without a TrainingBot event
    assert clock.age() >= 3600
    await watchdog.check_idle_watch(FakeKube(), ("a",), clock)
    assert clock.age() < 60
