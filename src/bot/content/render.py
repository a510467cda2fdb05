"""The texts the bot sends for course content, as pure functions.

The validator measures exactly these strings, so a course that passes `content validate`
never produces a message Telegram refuses. The bot must send lessons through
`lesson_message` (not a format of its own) for that promise to hold.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import TYPE_CHECKING

from .markdown import escape
from .rules import telegram_length

if TYPE_CHECKING:
    from .model import Course, Lesson, Question


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(html: str) -> str:
    """What Telegram shows of an HTML message: the text without tags, entities decoded."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return "".join(collector.parts)


def visible_length(html: str) -> int:
    """The length Telegram checks against its limits: UTF-16 code units of the visible text."""
    return telegram_length(visible_text(html))


def compose_lesson_message(
    course_title: str,
    module_title: str | None,
    lesson_title: str,
    body_html: str,
    position: int,
    total: int,
) -> str:
    """A lesson as sent: its title, where it sits in the course, then the body."""
    place = " · ".join(
        part for part in (course_title, module_title, f"Lesson {position} of {total}") if part
    )
    return f"<b>{escape(lesson_title)}</b>\n<i>{escape(place)}</i>\n\n{body_html}"


def lesson_message(course: Course, lesson: Lesson, position: int, total: int) -> str:
    """The lesson's message; `position` is 1-based over the whole course, `total` its length."""
    module = course.module_of(lesson.id)
    return compose_lesson_message(
        course.title,
        module.title if module else None,
        lesson.title,
        lesson.body_html,
        position,
        total,
    )


def course_lesson_message(course: Course, lesson: Lesson) -> str:
    """`lesson_message` with the lesson's own position in `course`."""
    position = course.lesson_position(lesson.id)
    if position is None:
        raise KeyError(f"lesson {lesson.id!r} is not part of course {course.id!r}")
    return lesson_message(course, lesson, position, len(course.lessons))


def compose_course_card(title: str, description: str, lessons: int, questions: int) -> str:
    counts = f"{lessons} lesson{'s' if lessons != 1 else ''}"
    if questions:
        counts += f" · {questions} question{'s' if questions != 1 else ''}"
    return f"<b>{escape(title)}</b>\n<i>{counts}</i>\n\n{escape(description)}"


def course_card(course: Course) -> str:
    """The course's introduction, shown before a trainee enrolls."""
    return compose_course_card(
        course.title, course.description, len(course.lessons), len(course.questions)
    )


def question_message(question: Question) -> str:
    """The text of an inline-button question (poll questions go to `sendPoll` as plain text)."""
    return escape(question.text)
