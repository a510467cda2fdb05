"""Progress and score of a trainee in a course, and where to resume: pure functions of the
course content and the trainee's records.

Only lessons and questions that still exist in the content count, so a course edited after a
trainee started it never shows "12 of 9 lessons".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from trainingbot.content import Course, Lesson, Question


@dataclass(frozen=True)
class Score:
    right: int
    answered: int

    @property
    def percent(self) -> int:
        return round(100 * self.right / self.answered) if self.answered else 0


@dataclass(frozen=True)
class CourseProgress:
    course: Course
    lessons_done: int
    lessons_total: int
    score: Score
    questions_total: int
    completed: bool

    @property
    def started(self) -> bool:
        return self.lessons_done > 0 or self.score.answered > 0


def score_of(questions: Iterable[Question], answers: Mapping[str, bool]) -> Score:
    """Right and answered among `questions`, from question id -> answered right."""
    results = [answers[q.id] for q in questions if q.id in answers]
    return Score(sum(results), len(results))


def course_progress(
    course: Course,
    completed_lessons: set[str],
    answers: Mapping[str, bool],
    completed: bool = False,
) -> CourseProgress:
    done = sum(1 for lesson in course.lessons if lesson.id in completed_lessons)
    return CourseProgress(
        course=course,
        lessons_done=done,
        lessons_total=len(course.lessons),
        score=score_of(course.questions, answers),
        questions_total=len(course.questions),
        completed=completed or done == len(course.lessons),
    )


def unanswered(lesson: Lesson, answers: Mapping[str, bool]) -> list[Question]:
    return [q for q in lesson.questions if q.id not in answers]


@dataclass(frozen=True)
class Resume:
    lesson: Lesson | None  # None: every lesson is done
    moved: bool  # the lesson the trainee was on is gone from the course


def resolve_resume(
    course: Course, current_lesson_id: str | None, completed_lessons: set[str]
) -> Resume:
    """Where a trainee continues: the lesson they were on while it exists and is unfinished,
    otherwise the first lesson of the course they have not finished."""
    current = course.lesson(current_lesson_id) if current_lesson_id else None
    if current is not None and current.id not in completed_lessons:
        return Resume(current, moved=False)
    moved = current_lesson_id is not None and current is None
    for lesson in course.lessons:
        if lesson.id not in completed_lessons:
            return Resume(lesson, moved=moved)
    return Resume(None, moved=moved)
