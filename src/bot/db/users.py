"""Trainees (Telegram users who wrote to the bot)."""

from __future__ import annotations

from dataclasses import dataclass

from trainingbot.db.types import Connection


@dataclass(frozen=True)
class UserRecord:
    id: int
    first_name: str
    username: str | None


class UserRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def upsert(
        self, user_id: int, first_name: str, username: str | None, language_code: str | None
    ) -> UserRecord:
        await self.conn.execute(
            """
            INSERT INTO users (id, first_name, username, language_code)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (id) DO UPDATE
               SET first_name = EXCLUDED.first_name, username = EXCLUDED.username,
                   language_code = EXCLUDED.language_code, last_seen_at = now()
            """,
            user_id,
            first_name or "",
            username,
            language_code,
        )
        return UserRecord(user_id, first_name or "", username)

    async def get(self, user_id: int) -> UserRecord | None:
        row = await self.conn.fetchrow(
            "SELECT id, first_name, username FROM users WHERE id = $1", user_id
        )
        return UserRecord(row["id"], row["first_name"], row["username"]) if row else None

    async def many(self, user_ids: list[int]) -> list[UserRecord]:
        rows = await self.conn.fetch(
            "SELECT id, first_name, username FROM users WHERE id = ANY($1::bigint[])", user_ids
        )
        return [UserRecord(r["id"], r["first_name"], r["username"]) for r in rows]
