"""Enrolments: who takes which course, where they are, and when they finished."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from trainingbot.db.types import Connection


@dataclass(frozen=True)
class EnrollmentRecord:
    user_id: int
    course_id: str
    enrolled_at: datetime
    current_lesson_id: str | None
    completed_at: datetime | None


_COLUMNS = "user_id, course_id, enrolled_at, current_lesson_id, completed_at"


def _record(row) -> EnrollmentRecord:
    return EnrollmentRecord(
        row["user_id"],
        row["course_id"],
        row["enrolled_at"],
        row["current_lesson_id"],
        row["completed_at"],
    )


class EnrollmentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def create(
        self, user_id: int, course_id: str, lesson_id: str | None, now: datetime
    ) -> bool:
        """Enroll; False when already enrolled (nothing changes then)."""
        status = await self.conn.execute(
            """
            INSERT INTO enrollments (user_id, course_id, enrolled_at, current_lesson_id)
            VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING
            """,
            user_id,
            course_id,
            now,
            lesson_id,
        )
        return status.endswith(" 1")

    async def get(self, user_id: int, course_id: str) -> EnrollmentRecord | None:
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM enrollments WHERE user_id = $1 AND course_id = $2",
            user_id,
            course_id,
        )
        return _record(row) if row else None

    async def get_with_answers(
        self, user_id: int, course_id: str
    ) -> tuple[EnrollmentRecord | None, dict[str, bool]]:
        """The enrolment (None if not enrolled) and the scoring answers (question id ->
        answered right) of a trainee in a course, in one round trip: nearly every step of a
        course needs both."""
        row = await self.conn.fetchrow(
            """
            SELECT e.user_id, e.course_id, e.enrolled_at, e.current_lesson_id, e.completed_at,
                   a.question_ids, a.corrects
              FROM (SELECT $1::bigint AS user_id, $2::text AS course_id) AS k
              LEFT JOIN enrollments e
                     ON e.user_id = k.user_id AND e.course_id = k.course_id
             CROSS JOIN LATERAL (
                   SELECT array_agg(q.question_id) AS question_ids,
                          array_agg(q.correct) AS corrects
                     FROM quiz_attempts q
                    WHERE q.user_id = k.user_id AND q.course_id = k.course_id
                      AND NOT q.is_review) AS a
            """,
            user_id,
            course_id,
        )
        enrollment = _record(row) if row["user_id"] is not None else None
        answers = dict(zip(row["question_ids"] or (), row["corrects"] or (), strict=True))
        return enrollment, answers

    async def for_user(self, user_id: int) -> list[EnrollmentRecord]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM enrollments WHERE user_id = $1 ORDER BY enrolled_at",
            user_id,
        )
        return [_record(r) for r in rows]

    async def latest_for_user(self, user_id: int) -> EnrollmentRecord | None:
        """The enrolment the trainee worked on last (unfinished ones first)."""
        row = await self.conn.fetchrow(
            f"""
            SELECT {_COLUMNS} FROM enrollments e WHERE user_id = $1
            ORDER BY completed_at IS NOT NULL,
                     GREATEST(enrolled_at, (SELECT max(completed_at) FROM lesson_progress p
                                            WHERE p.user_id = e.user_id
                                              AND p.course_id = e.course_id)) DESC NULLS LAST
            LIMIT 1
            """,
            user_id,
        )
        return _record(row) if row else None

    async def set_current_lesson(self, user_id: int, course_id: str, lesson_id: str) -> None:
        await self.conn.execute(
            "UPDATE enrollments SET current_lesson_id = $3 WHERE user_id = $1 AND course_id = $2",
            user_id,
            course_id,
            lesson_id,
        )

    async def mark_completed(self, user_id: int, course_id: str, now: datetime) -> bool:
        """True only the first time: the congratulation is sent once."""
        status = await self.conn.execute(
            """
            UPDATE enrollments SET completed_at = $3
             WHERE user_id = $1 AND course_id = $2 AND completed_at IS NULL
            """,
            user_id,
            course_id,
            now,
        )
        return status.endswith(" 1")

    async def reopen(self, user_id: int, course_id: str, lesson_id: str) -> None:
        await self.conn.execute(
            """
            UPDATE enrollments SET current_lesson_id = $3
             WHERE user_id = $1 AND course_id = $2
            """,
            user_id,
            course_id,
            lesson_id,
        )

    async def for_course(self, course_id: str) -> list[EnrollmentRecord]:
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM enrollments WHERE course_id = $1 ORDER BY enrolled_at",
            course_id,
        )
        return [_record(r) for r in rows]

    async def count_by_course(self) -> dict[str, tuple[int, int]]:
        """course id -> (enrolled, completed)."""
        rows = await self.conn.fetch(
            """
            SELECT course_id, count(*) AS enrolled, count(completed_at) AS completed
              FROM enrollments GROUP BY course_id
            """
        )
        return {r["course_id"]: (r["enrolled"], r["completed"]) for r in rows}
