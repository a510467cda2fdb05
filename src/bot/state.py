"""Conversation state in Redis: plain (`REDIS_URL`) or through Sentinel (`REDIS_SENTINELS`).

aiogram's `RedisStorage` keeps each chat's FSM state and data; `RedisEventIsolation` holds a
per-chat lock in the same Redis so that two replicas never handle the same chat at once.
With Sentinel the client is `Sentinel(...).master_for(name)`: after a failover its next
connection asks the sentinels for the new master, and retries with backoff bridge the
seconds a failover takes. Every operation is counted in `bot_redis_operations_total{result}`
and its outcome kept in `bot_redis_connected`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisEventIsolation, RedisStorage
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from trainingbot.config import RedisSettings
from trainingbot.metrics import BotMetrics

# A failover takes the sentinels' down-after time plus an election (about 2 s with 1 s
# down-after; 30 s is Sentinel's default). 20 retries with backoff capped at 0.5 s wait about
# 9 s in all, enough for a fast failover; a slower one surfaces as an error and the update
# is delivered again.
RETRIES = 20
BACKOFF_BASE, BACKOFF_CAP = 0.05, 0.5
SOCKET_TIMEOUT = 2.0
# State of a conversation nobody touched for a month is dropped (Redis memory stays bounded).
STATE_TTL = timedelta(days=30)
KEY_PREFIX = "fsm"


def _connection_kwargs(password: str | None) -> dict[str, Any]:
    return {
        "password": password,
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": SOCKET_TIMEOUT,
        "retry": Retry(ExponentialBackoff(cap=BACKOFF_CAP, base=BACKOFF_BASE), RETRIES),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 15,
    }


def build_redis(settings: RedisSettings) -> Redis | None:
    """The master connection, or None when no Redis is configured (in-memory state)."""
    password = settings.redis_password.get_secret_value() if settings.redis_password else None
    if settings.redis_url:
        kwargs = _connection_kwargs(password)
        if password is None:
            kwargs.pop("password")  # keep a password given in the URL
        return Redis.from_url(settings.redis_url.get_secret_value(), **kwargs)
    if settings.redis_sentinels:
        sentinel_password = (
            settings.redis_sentinel_password.get_secret_value()
            if settings.redis_sentinel_password
            else None
        )
        sentinel = Sentinel(
            settings.redis_sentinels,
            sentinel_kwargs={
                "password": sentinel_password,
                "socket_timeout": SOCKET_TIMEOUT,
                "socket_connect_timeout": SOCKET_TIMEOUT,
            },
            **_connection_kwargs(password),
        )
        return sentinel.master_for(settings.redis_master_name)
    return None


class _Meter:
    def __init__(self, metrics: BotMetrics) -> None:
        self.metrics = metrics

    @contextlib.contextmanager
    def operation(self):
        try:
            yield
        except RedisError:
            self.metrics.redis_operations.labels(result="error").inc()
            self.metrics.redis_connected.set(0)
            raise
        self.metrics.redis_operations.labels(result="ok").inc()
        self.metrics.redis_connected.set(1)


class MeteredRedisStorage(RedisStorage):
    """`RedisStorage` that counts its operations."""

    def __init__(self, redis: Redis, metrics: BotMetrics) -> None:
        super().__init__(
            redis,
            key_builder=DefaultKeyBuilder(prefix=KEY_PREFIX),
            state_ttl=STATE_TTL,
            data_ttl=STATE_TTL,
        )
        self._meter = _Meter(metrics)

    async def set_state(self, key: StorageKey, state=None) -> None:
        with self._meter.operation():
            await super().set_state(key, state)

    async def get_state(self, key: StorageKey) -> str | None:
        with self._meter.operation():
            return await super().get_state(key)

    async def set_data(self, key: StorageKey, data) -> None:
        with self._meter.operation():
            await super().set_data(key, data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        with self._meter.operation():
            return await super().get_data(key)

    async def close(self) -> None:
        """The Redis connection belongs to the BotApp, which closes it once."""


class MeteredRedisEventIsolation(RedisEventIsolation):
    """The per-chat lock, counted."""

    def __init__(self, redis: Redis, metrics: BotMetrics) -> None:
        super().__init__(redis, key_builder=DefaultKeyBuilder(prefix=KEY_PREFIX))
        self._meter = _Meter(metrics)

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        redis_key = self.key_builder.build(key, "lock")
        lock = self.redis.lock(name=redis_key, **self.lock_kwargs)
        with self._meter.operation():
            await lock.acquire()
        try:
            yield None
        finally:
            with contextlib.suppress(RedisError):
                await lock.release()


async def ping(redis: Redis, metrics: BotMetrics) -> None:
    with _Meter(metrics).operation():
        await redis.ping()


def isolation_for(storage: Any, metrics: BotMetrics) -> BaseEventIsolation:
    """The event isolation that matches a storage given from outside (tests, demo)."""
    from aiogram.fsm.storage.memory import SimpleEventIsolation

    if isinstance(storage, RedisStorage):
        return MeteredRedisEventIsolation(storage.redis, metrics)
    return SimpleEventIsolation()
