"""Times and counts every update: `bot_updates_total{type}`, `bot_update_duration_seconds`,
and `bot_errors_total{type}` for failures that escape the handlers (Redis, the database)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Update

from trainingbot.db.errors import UpdateNotRecorded
from trainingbot.metrics import BotMetrics


def update_type(update: Update) -> str:
    try:
        return update.event_type
    except Exception:
        return "unknown"


class UpdateMetricsMiddleware(BaseMiddleware):
    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics
        self._received: dict[str, Any] = {}  # update type -> its bot_updates_total counter

    async def __call__(
        self,
        handler: Callable[[Update, dict[str, Any]], Awaitable[Any]],
        event: Update,
        data: dict[str, Any],
    ) -> Any:
        kind = update_type(event)
        received = self._received.get(kind)
        if received is None:
            received = self._received[kind] = self.metrics.updates.labels(type=kind)
        received.inc()
        started = time.perf_counter()
        try:
            return await handler(event, data)
        except UpdateNotRecorded as exc:
            self.metrics.errors.labels(type=f"{exc.dependency}_unavailable").inc()
            raise
        except Exception as exc:
            self.metrics.errors.labels(type=type(exc).__name__).inc()
            raise
        finally:
            self.metrics.update_duration.observe(time.perf_counter() - started)
