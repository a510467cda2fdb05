"""The seam between the bot and whatever runs it: `create_app` builds bot, dispatcher, pool,
state storage and metrics from `Settings`; the runtime, the demo and the tests all use it.

Pipeline of an update (outer middlewares, in order):
  aiogram's errors and user-context middlewares
  → `UpdateMetricsMiddleware` (counts and times everything below)
  → aiogram's FSM middleware (per-chat lock across replicas, taken with one read of the
    chat's state: `trainingbot.state`)
  → `UpdateRecordMiddleware` (connection, transaction, update record, user, services; the
    conversation state the handlers changed is written just before the commit)
  → the routers.

Polling for the demo and the tests is the runtime's: `trainingbot.runtime.polling.run_polling`.

The database pool opens no connection when created: the process starts, `/health` answers
and `/ready` stays false (`check_database`) while PostgreSQL is down; updates that arrive
meanwhile raise `UpdateNotRecorded` and are delivered again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import asyncpg
import redis.asyncio
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation

from trainingbot.config import Settings
from trainingbot.content import Catalog, load_catalog
from trainingbot.db import migrate
from trainingbot.db.pool import create_pool, ping, warm_up
from trainingbot.db.updates import purge_processed_updates
from trainingbot.metrics import BotMetrics
from trainingbot.middlewares import UpdateMetricsMiddleware, UpdateRecordMiddleware
from trainingbot.ratelimit import MemoryRateLimiter, RateLimiter, RateLimits, RedisRateLimiter
from trainingbot.routers import build_routers
from trainingbot.services.broadcast import Broadcaster
from trainingbot.services.clock import Clock, system_clock
from trainingbot.state import ConversationLock, ConversationStorage, build_redis, isolation_for
from trainingbot.state import ping as ping_redis
from trainingbot.telegram_session import build_session

log = logging.getLogger(__name__)


class DependencyNotReady(RuntimeError):
    """A dependency of the bot is not usable; the message is short and names it."""


@dataclass
class BotApp:
    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    pool: asyncpg.Pool
    redis: redis.asyncio.Redis | None  # the master connection (None when FSM is in memory)
    metrics: BotMetrics
    catalog: Catalog
    broadcaster: Broadcaster
    limiter: RateLimiter
    clock: Clock = system_clock
    _closed: bool = field(default=False, repr=False)

    async def check_database(self) -> None:
        """Raise `DependencyNotReady` unless PostgreSQL answers with a schema this bot can use."""
        try:
            await ping(self.pool)
            async with self.pool.acquire() as conn:
                current = await migrate.current_revision(conn)
        except Exception as exc:
            raise DependencyNotReady(f"database unreachable ({type(exc).__name__})") from exc
        problem = migrate.schema_problem(
            current, migrate.head_revision(), migrate.known_revisions()
        )
        if problem:
            raise DependencyNotReady(problem)

    async def check_redis(self) -> None:
        """Raise `DependencyNotReady` unless Redis (the Sentinel master) answers."""
        if self.redis is None:
            return
        try:
            await asyncio.wait_for(ping_redis(self.redis, self.metrics), timeout=5)
        except Exception as exc:
            raise DependencyNotReady(f"redis unreachable ({type(exc).__name__})") from exc

    async def purge_processed_updates(self, older_than: timedelta | None = None) -> int:
        """Forget update records past Telegram's redelivery window (default 48 h)."""
        return await purge_processed_updates(self.pool, older_than)

    async def close(self) -> None:
        """Stop broadcasts, close the Bot API session, the pool and Redis. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self.broadcaster.aclose()
        with contextlib.suppress(Exception):
            await self.bot.session.close()
        try:
            await asyncio.wait_for(self.pool.close(), timeout=10)
        except Exception:
            self.pool.terminate()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()


def load_content(settings: Settings) -> Catalog:
    """The catalog from CONTENT_DIR (the sample course when unset); raises `ContentError`."""
    from trainingbot.content import SAMPLE_CONTENT_DIR

    directory = Path(settings.service.content_dir or SAMPLE_CONTENT_DIR)
    catalog = load_catalog(directory)
    for warning in getattr(catalog, "warnings", ()):
        log.warning("content: %s", warning)
    return catalog


def build_dispatcher(
    *,
    storage: BaseStorage,
    isolation: BaseEventIsolation,
    pool: asyncpg.Pool,
    catalog: Catalog,
    clock: Clock,
    metrics: BotMetrics,
    admin_ids: frozenset[int],
) -> Dispatcher:
    # disable_fsm: aiogram would put its FSM middleware first; here metrics wrap it.
    dispatcher = Dispatcher(storage=storage, events_isolation=isolation, disable_fsm=True)
    dispatcher.update.outer_middleware(UpdateMetricsMiddleware(metrics))
    dispatcher.update.outer_middleware(dispatcher.fsm)
    dispatcher.update.outer_middleware(
        UpdateRecordMiddleware(pool, catalog, clock, metrics, admin_ids)
    )
    dispatcher.include_routers(*build_routers())
    return dispatcher


async def create_app(
    settings: Settings,
    *,
    metrics: BotMetrics | None = None,
    storage: BaseStorage | None = None,
    catalog: Catalog | None = None,
    clock: Clock | None = None,
    rate_limits: RateLimits | None = None,
) -> BotApp:
    """Build the bot. Content is loaded and validated first: invalid content raises
    `ContentError` (its message lists every problem) and nothing else is started."""
    metrics = metrics or BotMetrics()
    catalog = catalog if catalog is not None else load_content(settings)
    clock = clock or system_clock
    rate_limits = rate_limits or RateLimits()

    redis_client = None
    if storage is None:
        redis_client = build_redis(settings.redis)
        if redis_client is not None:
            conversations = ConversationStorage(redis_client, metrics)
            storage = conversations
            isolation: BaseEventIsolation = ConversationLock(conversations, metrics)
        else:
            storage, isolation = MemoryStorage(), SimpleEventIsolation()
    else:
        redis_client = getattr(storage, "redis", None)
        isolation = isolation_for(storage, metrics)

    limiter: RateLimiter = (
        RedisRateLimiter(redis_client, metrics, rate_limits)
        if redis_client is not None
        else MemoryRateLimiter(rate_limits)
    )
    session = build_session(settings.telegram.bot_api_base_url, metrics, limiter)
    bot = Bot(
        settings.telegram.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    try:
        pool = await create_pool(settings.database)
    except BaseException:
        await session.close()
        raise
    await warm_up(pool, settings.database.db_pool_min_size)

    broadcaster = Broadcaster(bot)
    dispatcher = build_dispatcher(
        storage=storage,
        isolation=isolation,
        pool=pool,
        catalog=catalog,
        clock=clock,
        metrics=metrics,
        admin_ids=settings.service.admin_ids,
    )
    dispatcher.workflow_data.update(
        catalog=catalog, clock=clock, metrics=metrics, settings=settings, broadcaster=broadcaster
    )
    metrics.build_info.info({"version": _version()})
    return BotApp(
        settings=settings,
        bot=bot,
        dispatcher=dispatcher,
        pool=pool,
        redis=redis_client,
        metrics=metrics,
        catalog=catalog,
        broadcaster=broadcaster,
        limiter=limiter,
        clock=clock,
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("telegram-training-bot")
    except PackageNotFoundError:
        return "0.0.0"
