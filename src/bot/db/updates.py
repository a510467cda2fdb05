"""Processed updates: the record that makes each update's effects happen once."""

from __future__ import annotations

from datetime import datetime, timedelta

from trainingbot.db.types import Connection


class ProcessedUpdateRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def begin_and_record(self, update_id: int) -> bool:
        """Open a transaction and insert the update id in it, in one round trip; False when
        the id was there already. The caller commits or rolls back (`COMMIT`/`ROLLBACK`).

        Both statements go as one simple query, the only way PostgreSQL takes two in one
        message. That protocol has no parameters, so the id is written into the text, as an
        integer: `:d` formats nothing but one.
        """
        status = await self.conn.execute(
            "BEGIN; INSERT INTO processed_updates (update_id) "
            f"VALUES ({int(update_id):d}) ON CONFLICT DO NOTHING"
        )
        return status.endswith(" 1")

    async def record(self, update_id: int) -> bool:
        """Insert the update id; False when it was there already (a duplicate delivery).

        A second transaction inserting the same id waits for the first one to finish and
        then sees the conflict, so two replicas given the same update cannot both run it.
        """
        status = await self.conn.execute(
            "INSERT INTO processed_updates (update_id) VALUES ($1) ON CONFLICT DO NOTHING",
            update_id,
        )
        return status.endswith(" 1")

    async def purge_before(self, cutoff: datetime) -> int:
        status = await self.conn.execute(
            "DELETE FROM processed_updates WHERE processed_at < $1", cutoff
        )
        return int(status.split()[-1])


# Telegram keeps an undelivered update for 24 hours; a record older than twice that can no
# longer meet its duplicate.
DEFAULT_RETENTION_HOURS = 48


async def purge_processed_updates(pool: Connection, older_than: timedelta | None = None) -> int:
    """Delete update records older than `older_than` (default 48 h); returns how many."""
    if older_than is None:
        older_than = timedelta(hours=DEFAULT_RETENTION_HOURS)
    status = await pool.execute(
        "DELETE FROM processed_updates WHERE processed_at < now() - $1::interval", older_than
    )
    return int(status.split()[-1])
