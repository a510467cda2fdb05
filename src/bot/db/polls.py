"""Quiz polls sent: a `poll_answer` names the poll and the user only, this maps it back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from trainingbot.db.types import Connection


@dataclass(frozen=True)
class QuizPollRecord:
    poll_id: str
    user_id: int
    chat_id: int
    message_id: int
    course_id: str
    question_id: str
    is_review: bool
    answered_at: datetime | None


class QuizPollRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    async def add(
        self,
        poll_id: str,
        user_id: int,
        chat_id: int,
        message_id: int,
        course_id: str,
        question_id: str,
        is_review: bool,
        now: datetime,
    ) -> None:
        await self.conn.execute(
            """
            INSERT INTO quiz_polls (poll_id, user_id, chat_id, message_id, course_id,
                                    question_id, is_review, sent_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (poll_id) DO NOTHING
            """,
            poll_id,
            user_id,
            chat_id,
            message_id,
            course_id,
            question_id,
            is_review,
            now,
        )

    async def claim(self, poll_id: str, user_id: int, now: datetime) -> QuizPollRecord | None:
        """Mark the poll answered and return it; None if unknown, not theirs, or answered."""
        row = await self.conn.fetchrow(
            """
            UPDATE quiz_polls SET answered_at = $3
             WHERE poll_id = $1 AND user_id = $2 AND answered_at IS NULL
            RETURNING poll_id, user_id, chat_id, message_id, course_id, question_id,
                      is_review, answered_at
            """,
            poll_id,
            user_id,
            now,
        )
        return QuizPollRecord(**dict(row)) if row else None
