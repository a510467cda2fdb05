"""Initial schema: trainees, enrolments, progress, quiz attempts and polls, reviews, updates.

Revision ID: 0001
Revises:
Create Date: 2024-11-27

Ids of courses, lessons and questions are the content's own string ids: content is code, so
rows may outlive a lesson that a later release removes, and the bot copes with that rather
than the database forbidding it (no foreign keys into content).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def _user_fk() -> sa.ForeignKey:
    return sa.ForeignKey("users.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("first_name", sa.Text, nullable=False, server_default=""),
        sa.Column("username", sa.Text),
        sa.Column("language_code", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_table(
        "enrollments",
        sa.Column("user_id", sa.BigInteger, _user_fk(), primary_key=True),
        sa.Column("course_id", sa.Text, primary_key=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("current_lesson_id", sa.Text),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
    )
    # /stats, /report and /broadcast read a course's enrolments.
    op.create_index("ix_enrollments_course", "enrollments", ["course_id"])

    op.create_table(
        "lesson_progress",
        sa.Column("user_id", sa.BigInteger, _user_fk(), primary_key=True),
        sa.Column("course_id", sa.Text, primary_key=True),
        sa.Column("lesson_id", sa.Text, primary_key=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    op.create_index("ix_lesson_progress_course", "lesson_progress", ["course_id"])

    op.create_table(
        "quiz_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("user_id", sa.BigInteger, _user_fk(), nullable=False),
        sa.Column("course_id", sa.Text, nullable=False),
        sa.Column("question_id", sa.Text, nullable=False),
        sa.Column("option", sa.SmallInteger, nullable=False),
        sa.Column("correct", sa.Boolean, nullable=False),
        sa.Column("is_review", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    # The first answer to a question is the one that scores; a second one is refused by the
    # database too, not only by the service (two replicas, a double tap).
    op.create_index(
        "ux_quiz_attempts_first",
        "quiz_attempts",
        ["user_id", "course_id", "question_id"],
        unique=True,
        postgresql_where=sa.text("NOT is_review"),
    )
    op.create_index("ix_quiz_attempts_course", "quiz_attempts", ["course_id"])

    op.create_table(
        "quiz_polls",
        # A poll_answer names the poll and the user, not the chat: this maps it back.
        sa.Column("poll_id", sa.Text, primary_key=True),
        sa.Column("user_id", sa.BigInteger, _user_fk(), nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
        sa.Column("course_id", sa.Text, nullable=False),
        sa.Column("question_id", sa.Text, nullable=False),
        sa.Column("is_review", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_quiz_polls_user", "quiz_polls", ["user_id"])

    op.create_table(
        "review_schedule",
        sa.Column("user_id", sa.BigInteger, _user_fk(), primary_key=True),
        sa.Column("course_id", sa.Text, primary_key=True),
        sa.Column("question_id", sa.Text, primary_key=True),
        sa.Column("step", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    )
    # /review: "what is due for me now, and when is the next one".
    op.create_index("ix_review_schedule_due", "review_schedule", ["user_id", "due_at"])

    op.create_table(
        "processed_updates",
        sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    )
    # The periodic purge deletes by age.
    op.create_index("ix_processed_updates_at", "processed_updates", ["processed_at"])


def downgrade() -> None:
    for table in (
        "processed_updates",
        "review_schedule",
        "quiz_polls",
        "quiz_attempts",
        "lesson_progress",
        "enrollments",
        "users",
    ):
        op.drop_table(table)
