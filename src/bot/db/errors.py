"""What "the database is not there" looks like, and the exception that tells callers so."""

from __future__ import annotations

import asyncio

import asyncpg

# Errors that mean the database could not be reached or dropped the connection (restart,
# failover, network), as opposed to a bug in a query. Such an update must be delivered again.
DATABASE_UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # connection refused, reset, unreachable host
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,  # includes ConnectionDoesNotExistError
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.InterfaceError,  # the connection was closed under us
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)


def is_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, DATABASE_UNAVAILABLE_ERRORS)


class UpdateNotRecorded(Exception):
    """The update could not be recorded (the database or Redis was away): nothing of it was
    kept.

    The webhook answers 503 and the polling loop does not confirm the update, so Telegram
    delivers it again once the database is back: no update is lost.
    """

    def __init__(self, update_id: int, reason: str, dependency: str = "database") -> None:
        super().__init__(f"update {update_id} not recorded: {reason}")
        self.update_id = update_id
        self.reason = reason
        self.dependency = dependency  # what was away: "database" or "redis"
