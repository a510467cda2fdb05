"""Exponential back-off for retries against dependencies that are away."""

from __future__ import annotations

import asyncio
import contextlib


class Backoff:
    """`first`, `first * factor`, … up to `maximum` seconds; `reset()` after a success."""

    def __init__(self, first: float = 1.0, maximum: float = 30.0, factor: float = 2.0) -> None:
        self.first = first
        self.maximum = maximum
        self.factor = factor
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * self.factor, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.first


async def sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds`, or less when `stop` is set; True when it was set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
