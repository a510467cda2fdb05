"""Keyboards of the course list and the course card."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from trainingbot.content import Catalog, Course
from trainingbot.keyboards import labels
from trainingbot.keyboards.callbacks import (
    CourseAction,
    CourseCallback,
    LessonAction,
    LessonCallback,
)
from trainingbot.texts.limits import clip

# Telegram documents no limit for a button's text; clients cut long labels anyway. Quiz
# options (at most 100 characters, the poll option limit) are never cut.
BUTTON_TEXT_LIMIT = 100


def _button(text: str, data) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=clip(text, BUTTON_TEXT_LIMIT), callback_data=data.pack())


def course_list(catalog: Catalog, enrolled: dict[str, bool]) -> InlineKeyboardMarkup:
    """One button per course; enrolled courses marked 📘, finished ones ✅.

    `enrolled` maps course id -> completed.
    """
    rows = []
    for course in catalog:
        mark = ("✅ " if enrolled[course.id] else "📘 ") if course.id in enrolled else ""
        rows.append(
            [
                _button(
                    f"{mark}{course.title}",
                    CourseCallback(action=CourseAction.OPEN, course=course.id),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def course_card(course: Course, enrolled: bool, completed: bool) -> InlineKeyboardMarkup:
    if not enrolled:
        first = [
            _button(labels.ENROLL, CourseCallback(action=CourseAction.ENROLL, course=course.id))
        ]
    elif completed:
        first = [
            _button(labels.RESTART, CourseCallback(action=CourseAction.RESTART, course=course.id))
        ]
    else:
        first = [
            _button(labels.CONTINUE, CourseCallback(action=CourseAction.ENROLL, course=course.id))
        ]
    back = [_button(labels.ALL_COURSES, CourseCallback(action=CourseAction.LIST, course=""))]
    return InlineKeyboardMarkup(inline_keyboard=[first, back])


def course_done(course: Course) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(
                    labels.RESTART, CourseCallback(action=CourseAction.RESTART, course=course.id)
                )
            ],
            [_button(labels.ALL_COURSES, CourseCallback(action=CourseAction.LIST, course=""))],
        ]
    )


def moved_lesson(course: Course, resume_lesson_id: str | None) -> InlineKeyboardMarkup:
    """Offered when the lesson a trainee was on has been removed from the course."""
    rows = []
    if resume_lesson_id:
        rows.append(
            [
                _button(
                    labels.CONTINUE,
                    LessonCallback(
                        action=LessonAction.SHOW, course=course.id, lesson=resume_lesson_id
                    ),
                )
            ]
        )
    rows.append(
        [_button(labels.RESTART, CourseCallback(action=CourseAction.RESTART, course=course.id))]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)
