"""The spaced-repetition schedule: which question a trainee should see again, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from trainingbot.db.types import Connection


@dataclass(frozen=True)
class ReviewItem:
    course_id: str
    question_id: str
    step: int
    due_at: datetime


class ReviewRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def put(
        self, user_id: int, course_id: str, question_id: str, step: int, due_at: datetime
    ) -> None:
        await self.conn.execute(
            """
            INSERT INTO review_schedule (user_id, course_id, question_id, step, due_at)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (user_id, course_id, question_id)
            DO UPDATE SET step = EXCLUDED.step, due_at = EXCLUDED.due_at
            """,
            user_id,
            course_id,
            question_id,
            step,
            due_at,
        )

    async def remove(self, user_id: int, course_id: str, question_id: str) -> None:
        await self.conn.execute(
            """
            DELETE FROM review_schedule
             WHERE user_id = $1 AND course_id = $2 AND question_id = $3
            """,
            user_id,
            course_id,
            question_id,
        )

    async def get(self, user_id: int, course_id: str, question_id: str) -> ReviewItem | None:
        row = await self.conn.fetchrow(
            """
            SELECT course_id, question_id, step, due_at FROM review_schedule
             WHERE user_id = $1 AND course_id = $2 AND question_id = $3
            """,
            user_id,
            course_id,
            question_id,
        )
        return ReviewItem(**dict(row)) if row else None

    async def due(self, user_id: int, now: datetime, limit: int) -> list[ReviewItem]:
        rows = await self.conn.fetch(
            """
            SELECT course_id, question_id, step, due_at FROM review_schedule
             WHERE user_id = $1 AND due_at <= $2 ORDER BY due_at, course_id, question_id
             LIMIT $3
            """,
            user_id,
            now,
            limit,
        )
        return [ReviewItem(**dict(r)) for r in rows]

    async def next_due(self, user_id: int) -> datetime | None:
        return await self.conn.fetchval(
            "SELECT min(due_at) FROM review_schedule WHERE user_id = $1", user_id
        )
