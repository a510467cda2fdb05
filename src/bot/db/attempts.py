"""Quiz attempts. The first answer to a question scores; review answers are kept apart."""

from __future__ import annotations

from datetime import datetime

from trainingbot.db.types import Connection


class QuizAttemptRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def record_first(
        self,
        user_id: int,
        course_id: str,
        question_id: str,
        option: int,
        correct: bool,
        now: datetime,
    ) -> bool:
        """Record the scoring answer; False when the question had been answered already."""
        status = await self.conn.execute(
            """
            INSERT INTO quiz_attempts
                   (user_id, course_id, question_id, option, correct, is_review, answered_at)
            VALUES ($1, $2, $3, $4, $5, false, $6)
            ON CONFLICT (user_id, course_id, question_id) WHERE NOT is_review DO NOTHING
            """,
            user_id,
            course_id,
            question_id,
            option,
            correct,
            now,
        )
        return status.endswith(" 1")

    async def record_review(
        self,
        user_id: int,
        course_id: str,
        question_id: str,
        option: int,
        correct: bool,
        now: datetime,
    ) -> None:
        await self.conn.execute(
            """
            INSERT INTO quiz_attempts
                   (user_id, course_id, question_id, option, correct, is_review, answered_at)
            VALUES ($1, $2, $3, $4, $5, true, $6)
            """,
            user_id,
            course_id,
            question_id,
            option,
            correct,
            now,
        )

    async def first_answers(self, user_id: int, course_id: str) -> dict[str, bool]:
        """question id -> answered right, for the scoring answers of one trainee."""
        rows = await self.conn.fetch(
            """
            SELECT question_id, correct FROM quiz_attempts
             WHERE user_id = $1 AND course_id = $2 AND NOT is_review
            """,
            user_id,
            course_id,
        )
        return {r["question_id"]: r["correct"] for r in rows}

    async def first_answers_by_user(self, course_id: str) -> dict[int, dict[str, bool]]:
        rows = await self.conn.fetch(
            """
            SELECT user_id, question_id, correct FROM quiz_attempts
             WHERE course_id = $1 AND NOT is_review
            """,
            course_id,
        )
        answers: dict[int, dict[str, bool]] = {}
        for r in rows:
            answers.setdefault(r["user_id"], {})[r["question_id"]] = r["correct"]
        return answers
