"""Outgoing rate limits, shared by every replica through Redis.

Telegram's limits for a bot: about 30 messages a second overall, one a second in a chat
("we may allow short bursts that go over this limit, but eventually you'll begin receiving
429 errors"), and 20 a minute in a group. Each is a GCRA bucket (a token bucket kept as one
timestamp, the "theoretical arrival time"): `rate` messages a second sustained, with up to
`burst` at once. A message must fit the overall bucket and its chat's bucket together; if
one is full, none is charged and the sender waits the time the fuller one needs.

With Redis the buckets live there and one Lua script checks and charges them atomically
on Redis' own clock, so replicas share one budget and need no synchronised clocks. Without
Redis (the demo) the same algorithm runs in memory. If Redis fails, messages go out
unlimited rather than not at all (counted and logged): a 429 is then handled by the retry.

`RateLimitMiddleware` applies the limits to every Bot API call that sends a message and
retries any call Telegram answers with 429 after its `retry_after`, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from redis.asyncio import Redis
from redis.exceptions import RedisError

from trainingbot.metrics import BotMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int = 1

    @property
    def interval(self) -> float:
        """Seconds between messages at the sustained rate."""
        return 1.0 / self.per_second

    @property
    def tolerance(self) -> float:
        """How far ahead of now the bucket may run: `burst - 1` intervals."""
        return self.interval * (self.burst - 1)


@dataclass(frozen=True)
class RateLimits:
    overall: Rate = Rate(30, burst=30)
    # One a second sustained; a reply of a few messages (feedback, next question) goes out
    # at once, a longer stream is held to the rate.
    private_chat: Rate = Rate(1, burst=5)
    group_chat: Rate = Rate(20 / 60, burst=3)
    # A 429 is retried at most this often, and only when Telegram asks for a wait that an
    # update can afford; otherwise the error goes to the caller.
    max_retries: int = 3
    max_retry_after: float = 30.0
    enabled: bool = True

    @classmethod
    def disabled(cls) -> RateLimits:
        """No pacing (429s are still retried): for benchmarks against the emulator."""
        return cls(enabled=False)

    def buckets_for(self, chat_id: int | str) -> list[tuple[str, Rate]]:
        return [("all", self.overall), chat_bucket(chat_id, self)]


def chat_bucket(chat_id: int | str, limits: RateLimits) -> tuple[str, Rate]:
    """Private chats have positive ids; groups, supergroups and channels negative ones (or
    an @username for a channel)."""
    try:
        private = int(chat_id) > 0
    except (TypeError, ValueError):
        private = False
    return (f"chat:{chat_id}", limits.private_chat if private else limits.group_chat)


class GcraBuckets:
    """In-memory GCRA buckets; `try_acquire` returns 0 when granted, else seconds to wait."""

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}

    def try_acquire(self, buckets: list[tuple[str, Rate]], now: float) -> float:
        wait = 0.0
        new: list[tuple[str, float]] = []
        for key, rate in buckets:
            tat = max(self._tat.get(key, now), now)
            allow_at = tat - rate.tolerance
            if allow_at > now:
                wait = max(wait, allow_at - now)
            new.append((key, tat + rate.interval))
        if wait > 0:
            return wait
        self._tat.update(new)
        if len(self._tat) > 100_000:  # forget idle chats, keep memory bounded
            self._tat = {k: v for k, v in self._tat.items() if v > now}
        return 0.0


# KEYS: bucket keys. ARGV: per key, interval and tolerance in microseconds (integers).
# Returns 0 when every bucket accepted the message (and charges them all), else the
# microseconds to wait (and charges none). Time is Redis' own: replicas need no clock sync.
GCRA_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
local new = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]))
  if not tat or tat < now then tat = now end
  local allow_at = tat - tolerance
  if allow_at > now and allow_at - now > wait then wait = allow_at - now end
  new[i] = tat + interval
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], string.format('%d', new[i]), 'PX',
             math.ceil((new[i] - now) / 1000) + 1000)
end
return 0
"""


class RateLimiter:
    """Waits until a message to `chat_id` fits the limits."""

    def __init__(
        self, limits: RateLimits, sleep: Callable[[float], Awaitable[None]] | None = None
    ) -> None:
        self.limits = limits
        self._sleep = sleep or asyncio.sleep

    async def acquire(self, chat_id: int | str) -> float:
        """Returns the seconds waited."""
        if not self.limits.enabled:
            return 0.0
        buckets = self.limits.buckets_for(chat_id)
        waited = 0.0
        while (wait := await self._try(buckets)) > 0:
            await self._sleep(wait)
            waited += wait
        return waited

    async def _try(self, buckets: list[tuple[str, Rate]]) -> float:
        raise NotImplementedError


class MemoryRateLimiter(RateLimiter):
    """For one process (the demo): the same buckets, in memory."""

    def __init__(
        self,
        limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(limits or RateLimits(), sleep)
        self._clock = clock
        self.buckets = GcraBuckets()

    async def _try(self, buckets: list[tuple[str, Rate]]) -> float:
        return self.buckets.try_acquire(buckets, self._clock())


class RedisRateLimiter(RateLimiter):
    """Buckets in Redis, shared by every replica of the bot."""

    def __init__(
        self,
        redis: Redis,
        metrics: BotMetrics,
        limits: RateLimits | None = None,
        prefix: str = "ratelimit",
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(limits or RateLimits(), sleep)
        self.redis = redis
        self.metrics = metrics
        self.prefix = prefix
        self._script = redis.register_script(GCRA_SCRIPT)
        self._failing = False

    async def _try(self, buckets: list[tuple[str, Rate]]) -> float:
        keys = [f"{self.prefix}:{key}" for key, _ in buckets]
        args: list[int] = []
        for _, rate in buckets:
            args += [round(rate.interval * 1_000_000), round(rate.tolerance * 1_000_000)]
        try:
            wait_us = await self._script(keys=keys, args=args)
        except RedisError as exc:
            self.metrics.redis_operations.labels(result="error").inc()
            self.metrics.redis_connected.set(0)
            if not self._failing:
                log.warning(
                    "rate limiter cannot reach Redis (%s); sending without limits",
                    type(exc).__name__,
                )
            self._failing = True
            return 0.0
        self._failing = False
        self.metrics.redis_operations.labels(result="ok").inc()
        self.metrics.redis_connected.set(1)
        return int(wait_us) / 1_000_000


# Methods that put a new message into a chat. Edits, callback answers and chat actions are
# not messages and are not paced (Telegram limits them separately and loosely).
SENDING_METHODS = frozenset(
    {
        "sendMessage",
        "sendPoll",
        "sendDocument",
        "sendPhoto",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendDice",
        "sendSticker",
        "sendInvoice",
        "sendPaidMedia",
        "sendChecklist",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    }
)


class RateLimitMiddleware(BaseRequestMiddleware):
    """Paces sends through the limiter and retries 429 answers after `retry_after`."""

    def __init__(
        self, limiter: RateLimiter, sleep: Callable[[float], Awaitable[None]] | None = None
    ) -> None:
        self.limiter = limiter
        self.limits = limiter.limits
        self._sleep = sleep or asyncio.sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat_id = getattr(method, "chat_id", None)
        paced = method.__api_method__ in SENDING_METHODS and chat_id is not None
        attempt = 0
        while True:
            if paced:
                await self.limiter.acquire(chat_id)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                attempt += 1
                if (
                    attempt > self.limits.max_retries
                    or exc.retry_after > self.limits.max_retry_after
                ):
                    raise
                log.warning(
                    "Telegram asked to retry %s after %s s (attempt %s of %s)",
                    method.__api_method__,
                    exc.retry_after,
                    attempt,
                    self.limits.max_retries,
                )
                await self._sleep(exc.retry_after)
