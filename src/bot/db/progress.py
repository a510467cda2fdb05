"""Lessons completed, per trainee and course."""

from __future__ import annotations

from datetime import datetime

from trainingbot.db.types import Connection


class LessonProgressRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def mark_completed(
        self, user_id: int, course_id: str, lesson_id: str, now: datetime
    ) -> bool:
        """True when the lesson was not completed before."""
        status = await self.conn.execute(
            """
            INSERT INTO lesson_progress (user_id, course_id, lesson_id, completed_at)
            VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING
            """,
            user_id,
            course_id,
            lesson_id,
            now,
        )
        return status.endswith(" 1")

    async def completed(self, user_id: int, course_id: str) -> set[str]:
        rows = await self.conn.fetch(
            "SELECT lesson_id FROM lesson_progress WHERE user_id = $1 AND course_id = $2",
            user_id,
            course_id,
        )
        return {r["lesson_id"] for r in rows}

    async def completed_by_user(self, course_id: str) -> dict[int, set[str]]:
        rows = await self.conn.fetch(
            "SELECT user_id, lesson_id FROM lesson_progress WHERE course_id = $1", course_id
        )
        done: dict[int, set[str]] = {}
        for r in rows:
            done.setdefault(r["user_id"], set()).add(r["lesson_id"])
        return done
