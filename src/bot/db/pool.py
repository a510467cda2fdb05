"""The asyncpg pool.

It is created with no connection at all (`min_size=0`), so the process starts and answers
`/health` while PostgreSQL is down; `/ready` stays false until `BotApp.check_database`
succeeds, and each update takes a connection when it needs one. asyncpg replaces connections
that broke (a database restart) on the next acquire. `warm_up` then opens up to
`DB_POOL_MIN_SIZE` connections when the database is reachable, best effort.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from trainingbot.config import DatabaseSettings
from trainingbot.db.errors import DATABASE_UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)

# Seconds. A connect that hangs (a dropped SYN) must not hold an update for asyncpg's default
# minute; a query that hangs longer than this is treated as the database being unavailable.
CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 30.0
# Idle connections are closed after this long, so that a pool recovers quickly from a
# database restart without testing every connection on each acquire.
MAX_INACTIVE_LIFETIME = 60.0


async def create_pool(settings: DatabaseSettings) -> asyncpg.Pool:
    pool = asyncpg.create_pool(
        dsn=settings.database_url.get_secret_value(),
        min_size=0,
        max_size=settings.db_pool_max_size,
        timeout=CONNECT_TIMEOUT,
        command_timeout=COMMAND_TIMEOUT,
        max_inactive_connection_lifetime=MAX_INACTIVE_LIFETIME,
        reset=keep_session,
    )
    await pool  # with min_size=0 this connects nothing
    return pool


async def keep_session(conn: asyncpg.Connection) -> None:
    """What a connection goes through on its way back to the pool, after asyncpg has rolled
    back any transaction left open: nothing more.

    asyncpg's default also sends `RESET ALL; UNLISTEN *; CLOSE ALL; SELECT
    pg_advisory_unlock_all()`: a round trip on every update, for session state this bot never
    creates (no SET, LISTEN, cursors held across transactions or advisory locks).
    """


async def warm_up(pool: asyncpg.Pool, size: int) -> None:
    """Open up to `size` connections now, if the database is there; never raise."""
    held = []
    try:
        for _ in range(min(size, pool.get_max_size())):
            held.append(await pool.acquire(timeout=CONNECT_TIMEOUT))
    except DATABASE_UNAVAILABLE_ERRORS as exc:
        log.warning(
            "database not reachable at start (%s); will connect on demand", type(exc).__name__
        )
    finally:
        for conn in held:
            with contextlib.suppress(Exception):
                await pool.release(conn)


async def ping(pool: asyncpg.Pool) -> None:
    """One round trip, bounded; raises what the database raised."""
    async with asyncio.timeout(CONNECT_TIMEOUT + 1):
        async with pool.acquire(timeout=CONNECT_TIMEOUT) as conn:
            await conn.fetchval("SELECT 1")
