"""The options of an inline-button question, one button each."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from trainingbot.content import Course, Question
from trainingbot.keyboards.callbacks import AnswerCallback, ReviewAnswerCallback
from trainingbot.keyboards.courses import _button


def answers(course: Course, question: Question, review: bool = False) -> InlineKeyboardMarkup:
    factory = ReviewAnswerCallback if review else AnswerCallback
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(option, factory(course=course.id, question=question.id, option=index))]
            for index, option in enumerate(question.options)
        ]
    )
