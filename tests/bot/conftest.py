"""Fixtures of the bot's service tests: a migrated database per test (cloned from a template
migrated once per session), and a harness running the whole bot — `create_app`, the
runtime's polling loop — against the local Bot API emulator, with a clock the test moves.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from trainingbot.config import (
    DatabaseSettings,
    RedisSettings,
    ServiceSettings,
    Settings,
    TelegramSettings,
)
from trainingbot.content import SAMPLE_CONTENT_DIR
from trainingbot.emulator import BotApiEmulator
from trainingbot.emulator.models import EmulatedMessage
from trainingbot.emulator.trainee import Trainee
from trainingbot.factory import BotApp, create_app
from trainingbot.metrics import BotMetrics
from trainingbot.ratelimit import Rate, RateLimits
from trainingbot.runtime.polling import run_polling
from trainingbot.services.clock import FakeClock

from tests.support.waiting import eventually

TOKEN = "424242:TRAINING-BOT-TEST-TOKEN"
ADMIN_ID = 900_001

# The conversation tests drive a trainee as fast as the bot answers, dozens of messages a
# second into one chat; with Telegram's 1/s per chat they would take minutes. The limiter's
# pacing has tests of its own (test_ratelimit*, the broadcast test with real limits).
CONVERSATION_LIMITS = RateLimits(
    overall=Rate(1000, burst=1000), private_chat=Rate(1000, burst=1000)
)

_user_ids = itertools.count(100_000 + secrets.randbelow(10_000) * 100)


# Update ids grow across bots of a test, as Telegram's do for one bot: a second emulator on
# the same database must not reuse ids the first one's updates were recorded under.
_first_update_ids = itertools.count(1, 1_000_000)


def new_user_id() -> int:
    """A user id no other test of this session uses (Redis state is shared)."""
    return next(_user_ids)


def bot_settings(
    base_url: str,
    database_url: str,
    *,
    redis: dict[str, str] | None = None,
    content_dir: Path | None = None,
    admin_ids: frozenset[int] = frozenset({ADMIN_ID}),
) -> Settings:
    return Settings(
        telegram=TelegramSettings(BOT_TOKEN=TOKEN, BOT_API_BASE_URL=base_url, BOT_MODE="polling"),
        database=DatabaseSettings(
            DATABASE_URL=database_url, DB_POOL_MIN_SIZE=1, DB_POOL_MAX_SIZE=5
        ),
        redis=RedisSettings(**(redis or {})),
        service=ServiceSettings(
            CONTENT_DIR=content_dir or SAMPLE_CONTENT_DIR,
            ADMIN_IDS=",".join(map(str, admin_ids)),
            LOG_FORMAT="text",
        ),
    )


@dataclass
class BotHarness:
    emulator: BotApiEmulator
    app: BotApp
    clock: FakeClock
    trainees: dict[int, Trainee] = field(default_factory=dict)

    @property
    def metrics(self) -> BotMetrics:
        return self.app.metrics

    def trainee(
        self, user_id: int | None = None, first_name: str = "Ada", username: str | None = None
    ) -> Trainee:
        user_id = user_id or new_user_id()
        return self.emulator.trainee(user_id, first_name, username=username)

    def trainer(self) -> Trainee:
        return self.emulator.trainee(ADMIN_ID, "Grace", username="trainer")

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        await self.settle()
        async with self.app.pool.acquire() as conn:
            return await conn.fetch(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self.settle()
        async with self.app.pool.acquire() as conn:
            return await conn.fetchval(sql, *args)

    def in_flight(self) -> float:
        """Updates received whose handling (and commit) has not finished yet."""
        received = sum(
            s.value
            for metric in self.metrics.updates.collect()
            for s in metric.samples
            if s.name == "bot_updates_total"
        )
        finished = self.metric("bot_update_duration_seconds_count")
        return received - finished

    async def settle(self) -> None:
        """Wait until every update received so far is committed (replies go out before the
        commit, so a test that saw the reply may otherwise read the database too early)."""
        await eventually(lambda: self.in_flight() == 0)

    async def counts(self) -> dict[str, int]:
        """Rows per table: the trainee-visible state of the database (after `settle`)."""
        await self.settle()
        tables = (
            "users",
            "enrollments",
            "lesson_progress",
            "quiz_attempts",
            "quiz_polls",
            "review_schedule",
        )
        return {t: await self.fetchval(f"SELECT count(*) FROM {t}") for t in tables}

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels or None) or 0.0


@contextlib.asynccontextmanager
async def running_bot(
    database_url: str,
    *,
    redis: dict[str, str] | None = None,
    content_dir: Path | None = None,
    storage=None,
    rate_limits: RateLimits | None = CONVERSATION_LIMITS,
    clock: FakeClock | None = None,
) -> AsyncIterator[BotHarness]:
    clock = clock or FakeClock(datetime.now(UTC).replace(microsecond=0))
    async with BotApiEmulator(token=TOKEN, first_update_id=next(_first_update_ids)) as emulator:
        settings = bot_settings(
            emulator.base_url, database_url, redis=redis, content_dir=content_dir
        )
        app = await create_app(settings, storage=storage, clock=clock, rate_limits=rate_limits)
        try:
            async with run_polling(app, poll_timeout=1):
                yield BotHarness(emulator, app, clock)
                await app.broadcaster.wait()
        finally:
            await app.close()


@pytest.fixture
async def harness(database_url, redis_server) -> AsyncIterator[BotHarness]:
    """The bot on the sample course, with plain Redis for conversation state."""
    async with running_bot(database_url, redis={"REDIS_URL": redis_server.url}) as h:
        yield h


@pytest.fixture
def make_bot(database_url, redis_server) -> Callable[..., Any]:
    """`async with make_bot(content_dir=…, redis=…) as h:` for tests that need their own."""

    def factory(**kwargs: Any):
        kwargs.setdefault("redis", {"REDIS_URL": redis_server.url})
        return running_bot(database_url, **kwargs)

    return factory


# -- driving a trainee ---------------------------------------------------------------------


async def next_matching(
    trainee: Trainee,
    predicate: Callable[[EmulatedMessage], bool],
    what: str,
    wait: float = 5.0,
    skip: int = 5,
) -> EmulatedMessage:
    """The next message (or edit) for which `predicate` holds, skipping up to `skip` others
    (e.g. the edit that removes a lesson's buttons when its quiz starts)."""
    seen = []
    for _ in range(skip + 1):
        message = await trainee.next_message(wait)
        if predicate(message):
            return message
        seen.append(message)
    raise AssertionError(f"expected {what}; got {seen!r}")


async def next_containing(trainee: Trainee, text: str, **kwargs: Any) -> EmulatedMessage:
    return await next_matching(trainee, lambda m: text in m.text, repr(text), **kwargs)
