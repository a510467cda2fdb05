"""Keyboards under a lesson and after its quiz."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from trainingbot.content import Course, Lesson
from trainingbot.keyboards import labels
from trainingbot.keyboards.callbacks import LessonAction, LessonCallback
from trainingbot.keyboards.courses import _button


def lesson(course: Course, lesson: Lesson, quiz_pending: bool) -> InlineKeyboardMarkup:
    """◀ Back (not on the first lesson) and a forward button that says what comes next:
    the lesson's quiz, the next lesson, or the end of the course."""
    row = []
    if course.previous_lesson(lesson.id) is not None:
        row.append(
            _button(
                labels.BACK,
                LessonCallback(action=LessonAction.BACK, course=course.id, lesson=lesson.id),
            )
        )
    if quiz_pending:
        forward = labels.QUIZ
    elif course.next_lesson(lesson.id) is None:
        forward = labels.FINISH
    else:
        forward = labels.NEXT
    row.append(
        _button(
            forward, LessonCallback(action=LessonAction.NEXT, course=course.id, lesson=lesson.id)
        )
    )
    return InlineKeyboardMarkup(inline_keyboard=[row])


def lesson_done(course: Course, next_lesson: Lesson | None) -> InlineKeyboardMarkup | None:
    if next_lesson is None:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(
                    labels.NEXT_LESSON,
                    LessonCallback(
                        action=LessonAction.SHOW, course=course.id, lesson=next_lesson.id
                    ),
                )
            ]
        ]
    )
