"""What a service decides should happen next in the conversation; views turn it into messages.

Services return steps instead of sending, so the rules are tested without Telegram and one
place (`trainingbot.views`) owns how each step looks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from trainingbot.content import Course, Lesson, Question
from trainingbot.services.progress import CourseProgress, Score


@dataclass(frozen=True)
class ShowLesson:
    course: Course
    lesson: Lesson
    quiz_pending: bool
    intro: str | None = None  # a line sent before the lesson (e.g. "You're enrolled")


@dataclass(frozen=True)
class AskQuestion:
    course: Course
    question: Question
    position: int  # 1-based, within the lesson (or the review session)
    total: int
    review: bool = False


@dataclass(frozen=True)
class Answered:
    """Feedback for the answer just given."""

    course: Course
    question: Question
    option: int
    correct: bool
    review: bool = False


@dataclass(frozen=True)
class LessonDone:
    course: Course
    lesson: Lesson
    score: Score
    next_lesson: Lesson | None


@dataclass(frozen=True)
class CourseDone:
    progress: CourseProgress


@dataclass(frozen=True)
class LessonMoved:
    """The lesson a trainee was on (or pressed a button of) is gone from the course."""

    course: Course
    resume: Lesson | None


@dataclass(frozen=True)
class ReviewDone:
    score: Score
    next_due: datetime | None
    now: datetime


@dataclass(frozen=True)
class Say:
    """A plain message (HTML) with no buttons."""

    text: str


@dataclass(frozen=True)
class Refused:
    """Nothing changed; a short answer (a button's toast, or a message for a command)."""

    text: str


Step = (
    ShowLesson
    | AskQuestion
    | Answered
    | LessonDone
    | CourseDone
    | LessonMoved
    | ReviewDone
    | Say
    | Refused
)
