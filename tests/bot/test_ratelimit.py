"""The rate limiter's logic, in memory and with a fake clock: no waiting in real time."""

from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, SendMessage

from trainingbot.ratelimit import (
    GcraBuckets,
    MemoryRateLimiter,
    Rate,
    RateLimiter,
    RateLimitMiddleware,
    RateLimits,
    chat_bucket,
)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_gcra_allows_the_burst_then_the_sustained_rate():
    buckets = GcraBuckets()
    rate = Rate(1, burst=3)
    grants = [buckets.try_acquire([("k", rate)], 0.0) for _ in range(3)]
    assert grants == [0, 0, 0]
    assert buckets.try_acquire([("k", rate)], 0.0) == pytest.approx(1.0)
    assert buckets.try_acquire([("k", rate)], 1.0) == 0


def test_a_refused_message_charges_no_bucket():
    buckets = GcraBuckets()
    tight, loose = Rate(1, burst=1), Rate(100, burst=100)
    assert buckets.try_acquire([("all", loose), ("chat", tight)], 0.0) == 0
    # The chat is full: the overall bucket must not be charged for the refusal.
    for _ in range(50):
        assert buckets.try_acquire([("all", loose), ("chat", tight)], 0.0) > 0
    assert buckets.try_acquire([("all", loose), ("other", tight)], 0.0) == 0


def test_private_chats_and_groups_get_their_own_limits():
    limits = RateLimits()
    assert chat_bucket(42, limits)[1] == limits.private_chat
    assert chat_bucket(-100123, limits)[1] == limits.group_chat
    assert chat_bucket("@channel", limits)[1] == limits.group_chat


async def test_one_chat_is_held_to_one_message_a_second_after_its_burst():
    clock = FakeTime()
    limiter = MemoryRateLimiter(RateLimits(), clock=clock, sleep=clock.sleep)
    for _ in range(RateLimits().private_chat.burst + 10):
        await limiter.acquire(7)
    assert sum(clock.slept) == pytest.approx(10.0)


async def test_the_bot_overall_is_held_to_thirty_a_second():
    clock = FakeTime()
    limits = RateLimits()
    limiter = MemoryRateLimiter(limits, clock=clock, sleep=clock.sleep)
    start = clock.now
    # 90 messages to 90 different chats: the overall bucket is the only limit.
    for chat_id in range(1, 91):
        await limiter.acquire(chat_id)
    elapsed = clock.now - start
    assert elapsed == pytest.approx((90 - limits.overall.burst) / 30, abs=0.05)


async def test_a_group_gets_twenty_a_minute():
    clock = FakeTime()
    limits = RateLimits()
    limiter = MemoryRateLimiter(limits, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(limits.group_chat.burst + 20):
        await limiter.acquire(-42)
    assert clock.now - start == pytest.approx(60.0, abs=0.1)


async def test_disabled_limits_never_wait():
    clock = FakeTime()
    limiter = MemoryRateLimiter(RateLimits.disabled(), clock=clock, sleep=clock.sleep)
    for _ in range(100):
        await limiter.acquire(1)
    assert clock.slept == []


class CountingLimiter(RateLimiter):
    def __init__(self) -> None:
        super().__init__(RateLimits())
        self.chats: list[int] = []

    async def acquire(self, chat_id):
        self.chats.append(chat_id)
        return 0.0


def retry_after(seconds: int) -> TelegramRetryAfter:
    return TelegramRetryAfter(
        method=SendMessage(chat_id=1, text="x"), message="Too Many Requests", retry_after=seconds
    )


async def test_middleware_paces_sends_and_retries_429_after_retry_after():
    clock = FakeTime()
    limiter = CountingLimiter()
    middleware = RateLimitMiddleware(limiter, sleep=clock.sleep)
    failures = [retry_after(2), retry_after(3)]

    async def make_request(bot, method):
        if failures:
            raise failures.pop(0)
        return "ok"

    assert await middleware(make_request, None, SendMessage(chat_id=5, text="hi")) == "ok"
    assert clock.slept == [2, 3]
    assert limiter.chats == [5, 5, 5]  # every attempt is paced


async def test_middleware_gives_up_after_bounded_retries():
    clock = FakeTime()
    middleware = RateLimitMiddleware(CountingLimiter(), sleep=clock.sleep)

    async def always_429(bot, method):
        raise retry_after(1)

    with pytest.raises(TelegramRetryAfter):
        await middleware(always_429, None, SendMessage(chat_id=5, text="hi"))
    assert len(clock.slept) == RateLimits().max_retries


async def test_middleware_does_not_pace_what_is_not_a_message():
    limiter = CountingLimiter()
    middleware = RateLimitMiddleware(limiter)

    async def ok(bot, method):
        return True

    await middleware(ok, None, AnswerCallbackQuery(callback_query_id="1"))
    assert limiter.chats == []
