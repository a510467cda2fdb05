"""Waiting in tests for something that happens in another task, process or container."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(
    predicate: Callable[[], Any | Awaitable[Any]],
    within: float = 15,
    what: str = "condition",
    *,
    interval: float = 0.05,
) -> Any:
    """Poll `predicate` (sync or async) until it returns something truthy; return that.

    Only the outcome is asserted, never how long it took: `within` is a generous bound that
    turns a hang into a failure naming `what`."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:g}s waiting for {what}")
        await asyncio.sleep(interval)
