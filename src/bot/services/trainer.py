"""Trainer commands: who may use them, course statistics and the CSV progress report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from trainingbot.content import Catalog, Course
from trainingbot.db.attempts import QuizAttemptRepository
from trainingbot.db.enrollments import EnrollmentRepository
from trainingbot.db.progress import LessonProgressRepository
from trainingbot.db.types import Connection
from trainingbot.db.users import UserRepository
from trainingbot.services.progress import course_progress
from trainingbot.texts.trainer import CourseStats

REPORT_COLUMNS = (
    "user_id",
    "username",
    "first_name",
    "enrolled_at",
    "lessons_done",
    "lessons_total",
    "questions_answered",
    "questions_right",
    "questions_total",
    "score_percent",
    "completed_at",
)


@dataclass(frozen=True)
class Report:
    filename: str
    content: bytes
    trainees: int


def is_trainer(user_id: int | None, admin_ids: Iterable[int]) -> bool:
    return user_id is not None and user_id in set(admin_ids)


def _csv_cell(value: object) -> str:
    """A cell safe to open in a spreadsheet: text starting like a formula is quoted with '."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def average_percent(per_trainee: Iterable[tuple[int, int]]) -> int | None:
    """Mean of each trainee's score percentage, over trainees who answered anything."""
    percents = [100 * right / answered for right, answered in per_trainee if answered]
    return round(sum(percents) / len(percents)) if percents else None


class TrainerService:
    def __init__(self, conn: Connection, catalog: Catalog, admin_ids: Iterable[int]) -> None:
        self.catalog = catalog
        self.admin_ids = frozenset(admin_ids)
        self.users = UserRepository(conn)
        self.enrollments = EnrollmentRepository(conn)
        self.progress = LessonProgressRepository(conn)
        self.attempts = QuizAttemptRepository(conn)

    def is_trainer(self, user_id: int | None) -> bool:
        return is_trainer(user_id, self.admin_ids)

    def course_ids(self) -> list[str]:
        return [course.id for course in self.catalog]

    def course(self, course_id: str) -> Course | None:
        return self.catalog.course(course_id)

    async def stats(self) -> list[CourseStats]:
        counts = await self.enrollments.count_by_course()
        rows = []
        for course in self.catalog:
            enrolled, completed = counts.get(course.id, (0, 0))
            answers = await self.attempts.first_answers_by_user(course.id)
            question_ids = {q.id for q in course.questions}
            per_trainee = [
                (
                    sum(ok for q, ok in a.items() if q in question_ids),
                    sum(1 for q in a if q in question_ids),
                )
                for a in answers.values()
            ]
            rows.append(
                CourseStats(
                    course.id, course.title, enrolled, completed, average_percent(per_trainee)
                )
            )
        return rows

    async def report(self, course: Course) -> Report:
        enrollments = await self.enrollments.for_course(course.id)
        done = await self.progress.completed_by_user(course.id)
        answers = await self.attempts.first_answers_by_user(course.id)
        users = {u.id: u for u in await self.users.many([e.user_id for e in enrollments])}
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(REPORT_COLUMNS)
        for e in enrollments:
            user = users.get(e.user_id)
            p = course_progress(
                course,
                done.get(e.user_id, set()),
                answers.get(e.user_id, {}),
                completed=e.completed_at is not None,
            )
            writer.writerow(
                [
                    _csv_cell(v)
                    for v in (
                        e.user_id,
                        user.username if user else "",
                        user.first_name if user else "",
                        e.enrolled_at.isoformat(),
                        p.lessons_done,
                        p.lessons_total,
                        p.score.answered,
                        p.score.right,
                        p.questions_total,
                        p.score.percent,
                        e.completed_at.isoformat() if e.completed_at else "",
                    )
                ]
            )
        return Report(f"report-{course.id}.csv", out.getvalue().encode("utf-8"), len(enrollments))

    async def recipients(self, course: Course) -> list[int]:
        return [e.user_id for e in await self.enrollments.for_course(course.id)]
