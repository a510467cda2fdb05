"""The Redis rate limiter: one budget shared by every replica, and open when Redis fails."""

from __future__ import annotations

import secrets

import pytest
from redis.asyncio import Redis

from trainingbot.metrics import BotMetrics
from trainingbot.ratelimit import Rate, RateLimits, RedisRateLimiter

from tests.support.processes import free_port

pytestmark = pytest.mark.services

LIMITS = RateLimits(overall=Rate(30, burst=30), private_chat=Rate(1, burst=2))


async def test_replicas_share_one_budget_per_chat(redis_server):
    prefix = f"rl-test-{secrets.token_hex(4)}"
    clients = [Redis.from_url(redis_server.url) for _ in range(2)]
    try:
        a, b = (RedisRateLimiter(c, BotMetrics(), LIMITS, prefix=prefix) for c in clients)
        buckets = LIMITS.buckets_for(42)
        assert await a._try(buckets) == 0
        assert await b._try(buckets) == 0  # the burst of 2 is used up, across replicas
        wait = await a._try(buckets)
        assert 0.5 < wait <= 1.0  # one second per message, sustained
        assert await b._try(LIMITS.buckets_for(43)) == 0  # another chat is free
    finally:
        for client in clients:
            await client.aclose()


async def test_the_overall_budget_is_shared_too(redis_server):
    prefix = f"rl-test-{secrets.token_hex(4)}"
    limits = RateLimits(overall=Rate(30, burst=3), private_chat=Rate(1, burst=5))
    client = Redis.from_url(redis_server.url)
    try:
        replicas = [RedisRateLimiter(client, BotMetrics(), limits, prefix=prefix) for _ in range(3)]
        grants = [await r._try(limits.buckets_for(100 + i)) for i, r in enumerate(replicas)]
        assert grants == [0, 0, 0]
        assert await replicas[0]._try(limits.buckets_for(999)) > 0
    finally:
        await client.aclose()


async def test_sends_go_out_unlimited_when_redis_is_down():
    metrics = BotMetrics()
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        limiter = RedisRateLimiter(client, metrics, LIMITS)
        assert await limiter.acquire(42) == 0
        assert (
            metrics.registry.get_sample_value("bot_redis_operations_total", {"result": "error"})
            == 1
        )
        assert metrics.registry.get_sample_value("bot_redis_connected") == 0
    finally:
        await client.aclose()
