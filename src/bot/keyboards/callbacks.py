"""Callback data the bot's buttons carry. Telegram allows 64 bytes, so prefixes are one letter
and content ids are short; the content validator packs every answer button of every course
with these classes, so a course that would overflow is refused before the bot starts.

Parsing is strict: anything that does not unpack is a tampered or stale button.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for InlineKeyboardButton.callback_data


class CourseAction(StrEnum):
    OPEN = "o"
    ENROLL = "e"
    RESTART = "r"  # read the course again from its first lesson
    LIST = "l"  # back to the list of courses (the course field is ignored)


class LessonAction(StrEnum):
    SHOW = "s"
    NEXT = "n"
    BACK = "b"


class CourseCallback(CallbackData, prefix="c"):
    action: CourseAction
    course: str


class LessonCallback(CallbackData, prefix="l"):
    action: LessonAction
    course: str
    lesson: str


class AnswerCallback(CallbackData, prefix="a"):
    """An answer to an inline-button question: the option's index in the course file."""

    course: str
    question: str
    option: int


class ReviewAnswerCallback(CallbackData, prefix="r"):
    """An answer to an inline-button question asked again by /review (same fields)."""

    course: str
    question: str
    option: int
