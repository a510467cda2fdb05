"""Conversation state in Redis: plain (`REDIS_URL`) or through Sentinel (`REDIS_SENTINELS`).

Each chat's FSM state and data are kept under aiogram's `RedisStorage` keys, and a per-chat
lock in the same Redis makes sure that two replicas never handle the same chat at once
(`ConversationLock`, aiogram's event isolation). An update costs three round trips at most:

1. the lock is taken and, in the same Lua script, the chat's state and data are read; the
   handlers then read them from that snapshot (`ConversationStorage`), not from Redis;
2. what the handlers changed is kept in the snapshot and written in one script when the
   update's database transaction is about to commit (`save_conversation`, called by
   `trainingbot.middlewares.records`); a handler that fails leaves nothing behind
   (`discard_conversation`), and an update that changed nothing writes nothing;
3. the lock is released (compare-and-delete, so a lock that expired and was taken by another
   replica is not released by mistake).

Reading under the lock is what makes the snapshot safe: while the lock is held no other
replica handles this chat, so nobody else writes its state. Outside a lock (no chat in the
update, or code that reads another chat's state) every call goes to Redis directly.

With Sentinel the client is `Sentinel(...).master_for(name)`: after a failover its next
connection asks the sentinels for the new master, and retries with backoff bridge the
seconds a failover takes. Every round trip is counted in `bot_redis_operations_total{result}`
and its outcome kept in `bot_redis_connected`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import secrets
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, StateType, StorageKey
from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisEventIsolation, RedisStorage
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, RedisError, TryAgainError
from redis.exceptions import TimeoutError as RedisTimeoutError

from trainingbot.causes import caused_by
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

# Errors that mean Redis is away for now, not that a command is wrong: connection refused or
# lost (a failover too, "no master"), timeouts, a write that reached a master just demoted.
REDIS_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    TryAgainError,
)


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
        self.connected = metrics.redis_connected
        self.ok = metrics.redis_operations.labels(result="ok")
        self.error = metrics.redis_operations.labels(result="error")

    @contextlib.contextmanager
    def operation(self):
        try:
            yield
        except RedisError:
            self.error.inc()
            self.connected.set(0)
            raise
        self.ok.inc()
        self.connected.set(1)


# The lock outlives any update: Telegram gives a webhook about 60 s, and shutdown waits 20 s
# for the updates in flight. A replica that dies holding it blocks its chat for this long.
LOCK_TIMEOUT = timedelta(seconds=60)
# How often a busy lock is tried again (a second update of the same chat, e.g. a double tap).
LOCK_RETRY_INTERVAL = 0.05
# After an update failed because Redis stayed unreachable through every retry (about 9 s),
# releasing its lock is tried this long only, so that the update's "deliver it again" answer
# is not held back; a lock that could not be released expires after LOCK_TIMEOUT.
RELEASE_WAIT_WHEN_AWAY = 1.0

# KEYS: the chat's lock, state and data. ARGV: a token of this holder, the lock's TTL in ms.
# Takes the lock and returns {state, data} (nil when absent), or 0 when another holder has it.
# A retry of a call whose reply was lost finds its own token and is granted too.
ACQUIRE_SCRIPT = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
end
return redis.call('MGET', KEYS[2], KEYS[3])
"""
# KEYS: the chat's state and data. ARGV: per key, "set" (then the value), "del" or "" (keep
# as it is, then ""), and last the TTL in seconds. One command, applied as a whole.
SAVE_SCRIPT = """
for i = 1, 2 do
  local op = ARGV[2 * i - 1]
  if op == 'set' then
    redis.call('SET', KEYS[i], ARGV[2 * i], 'EX', ARGV[5])
  elseif op == 'del' then
    redis.call('DEL', KEYS[i])
  end
end
return 1
"""
# KEYS: the lock. ARGV: the holder's token. Deletes the lock only if it is still this holder's.
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass
class _Snapshot:
    """A chat's state and data as read when its lock was taken, and what changed since."""

    state: str | None
    data: str | bytes | None  # JSON, as stored
    state_changed: bool = False
    data_changed: bool = False

    @property
    def dirty(self) -> bool:
        return self.state_changed or self.data_changed

    def discard(self) -> None:
        self.state_changed = self.data_changed = False


# The snapshots of the chats whose lock the current task holds (one, in practice).
_held: contextvars.ContextVar[dict[StorageKey, _Snapshot] | None] = contextvars.ContextVar(
    "trainingbot_conversation_snapshots", default=None
)


def _held_snapshot(key: StorageKey) -> _Snapshot | None:
    held = _held.get()
    return held.get(key) if held else None


def _text(value: str | bytes | None) -> str | None:
    return value.decode("utf-8") if isinstance(value, bytes) else value


class ConversationStorage(RedisStorage):
    """aiogram's `RedisStorage` that reads a locked chat's snapshot, buffers its writes until
    `flush`, and counts its round trips."""

    def __init__(self, redis: Redis, metrics: BotMetrics) -> None:
        super().__init__(
            redis,
            key_builder=DefaultKeyBuilder(prefix=KEY_PREFIX),
            state_ttl=STATE_TTL,
            data_ttl=STATE_TTL,
        )
        self._meter = _Meter(metrics)
        self._save = redis.register_script(SAVE_SCRIPT)

    async def get_state(self, key: StorageKey) -> str | None:
        snapshot = _held_snapshot(key)
        if snapshot is not None:
            return snapshot.state
        with self._meter.operation():
            return await super().get_state(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        snapshot = _held_snapshot(key)
        if snapshot is None:
            with self._meter.operation():
                await super().set_state(key, state)
            return
        snapshot.state = state.state if isinstance(state, State) else state
        snapshot.state_changed = True

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        snapshot = _held_snapshot(key)
        if snapshot is None:
            with self._meter.operation():
                return await super().get_data(key)
        # A fresh dict each time, as from Redis: a handler may change what it was given.
        return self.json_loads(snapshot.data) if snapshot.data else {}

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        snapshot = _held_snapshot(key)
        if snapshot is None:
            with self._meter.operation():
                await super().set_data(key, data)
            return
        if not isinstance(data, dict):
            raise DataNotDictLikeError(
                f"Data must be a dict or dict-like object, got {type(data).__name__}"
            )
        snapshot.data = self.json_dumps(data) if data else None
        snapshot.data_changed = True

    async def flush(self, key: StorageKey) -> None:
        """Write what changed in the chat's snapshot, in one command; nothing if nothing
        changed. Raises what Redis raised (the changes stay pending then)."""
        snapshot = _held_snapshot(key)
        if snapshot is None or not snapshot.dirty:
            return
        args: list[Any] = []
        for changed, value in (
            (snapshot.state_changed, snapshot.state),
            (snapshot.data_changed, snapshot.data),
        ):
            if not changed:
                args += ["", ""]
            elif value is None:
                args += ["del", ""]
            else:
                args += ["set", value]
        args.append(int(STATE_TTL.total_seconds()))
        keys = [self.key_builder.build(key, "state"), self.key_builder.build(key, "data")]
        with self._meter.operation():
            await self._save(keys=keys, args=args)
        snapshot.discard()

    def discard(self, key: StorageKey) -> None:
        """Forget what the handlers changed in the chat's snapshot (their update failed)."""
        snapshot = _held_snapshot(key)
        if snapshot is not None:
            snapshot.discard()

    async def close(self) -> None:
        """The Redis connection belongs to the BotApp, which closes it once."""


class ConversationLock(BaseEventIsolation):
    """The per-chat lock across replicas; taking it also reads the chat's state and data."""

    def __init__(self, storage: ConversationStorage, metrics: BotMetrics) -> None:
        self.storage = storage
        self.redis = storage.redis
        self.key_builder = storage.key_builder
        self._meter = _Meter(metrics)
        self._acquire = self.redis.register_script(ACQUIRE_SCRIPT)
        self._release = self.redis.register_script(RELEASE_SCRIPT)
        self._ttl_ms = int(LOCK_TIMEOUT.total_seconds() * 1000)

    @contextlib.asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        build = self.key_builder.build
        keys = [build(key, "lock"), build(key, "state"), build(key, "data")]
        token = secrets.token_hex(16)
        while True:
            with self._meter.operation():
                found = await self._acquire(keys=keys, args=[token, self._ttl_ms])
            if isinstance(found, list):
                break
            await asyncio.sleep(LOCK_RETRY_INTERVAL)
        snapshot = _Snapshot(_text(found[0]), found[1])
        held = _held.get()
        reset = None
        if held is None:
            held = {}
            reset = _held.set(held)
        held[key] = snapshot
        redis_away = False
        try:
            yield None
            if snapshot.dirty:  # changed after the update's commit: write it now
                await self.storage.flush(key)
        except BaseException as exc:
            redis_away = redis_unavailable(exc)
            raise
        finally:
            held.pop(key, None)
            if reset is not None:
                _held.reset(reset)
            release = self._release(keys=keys[:1], args=[token])
            with contextlib.suppress(RedisError, TimeoutError), self._meter.operation():
                if redis_away:
                    await asyncio.wait_for(release, RELEASE_WAIT_WHEN_AWAY)
                else:
                    await release

    async def close(self) -> None:
        """The Redis connection belongs to the BotApp."""


def redis_unavailable(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, says Redis is away."""
    return caused_by(exc, REDIS_UNAVAILABLE_ERRORS)


async def save_conversation(state: FSMContext | None) -> None:
    """Write the conversation state the update's handlers changed (before its commit)."""
    if state is not None and isinstance(state.storage, ConversationStorage):
        await state.storage.flush(state.key)


def discard_conversation(state: FSMContext | None) -> None:
    """Drop the conversation state changes of an update that failed."""
    if state is not None and isinstance(state.storage, ConversationStorage):
        state.storage.discard(state.key)


async def ping(redis: Redis, metrics: BotMetrics) -> None:
    with _Meter(metrics).operation():
        await redis.ping()


def isolation_for(storage: Any, metrics: BotMetrics) -> BaseEventIsolation:
    """The event isolation that matches a storage given from outside (tests, demo)."""
    from aiogram.fsm.storage.memory import SimpleEventIsolation

    if isinstance(storage, ConversationStorage):
        return ConversationLock(storage, metrics)
    if isinstance(storage, RedisStorage):
        return RedisEventIsolation(storage.redis, key_builder=storage.key_builder)
    return SimpleEventIsolation()
