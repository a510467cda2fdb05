"""Will every button of a course pack into Telegram's 64 bytes of callback data?

Measured with the bot's own callback classes, so a change to their prefixes or fields is
checked too. aiogram refuses to pack data over the limit; the size is then computed the same
way aiogram joins the parts, to tell the trainer by how much the ids have to shrink.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Literal

Subject = Literal["course", "lesson", "question"]


@dataclass(frozen=True)
class ButtonProblem:
    subject: Subject  # which id to point at
    id: str
    message: str


def packed_size(callback) -> int:
    """Bytes of `callback.pack()`, also when aiogram refuses to pack it for being too long."""
    try:
        return len(callback.pack().encode())
    except ValueError:
        values = callback.model_dump(mode="python").values()
        parts = [callback.__prefix__, *(_encode(value) for value in values)]
        return len(callback.__separator__.join(parts).encode())


def _encode(value: object) -> str:
    return "" if value is None else str(value.value if isinstance(value, Enum) else value)


def button_problems(
    course_id: str,
    lesson_ids: Iterable[str],
    questions: Iterable[tuple[str, int]],
) -> list[ButtonProblem]:
    """Check every button built for the course; `questions` pairs ids with option counts.

    Every callback class of `trainingbot.keyboards.callbacks` is packed with every value its
    fields can take for this course, so a class added there (a review answer, say) is
    covered without a change here.
    """
    from trainingbot.keyboards.callbacks import CALLBACK_DATA_LIMIT

    lesson_ids, questions = list(lesson_ids), list(questions)
    worst: dict[tuple[Subject, str], int] = {}  # two classes may carry the same id
    for subject, id_, callbacks in _callbacks(course_id, lesson_ids, questions):
        size = max(packed_size(cb) for cb in callbacks)
        worst[subject, id_] = max(size, worst.get((subject, id_), 0))
    return [
        ButtonProblem(subject, id_, _message(subject, id_, course_id, size - CALLBACK_DATA_LIMIT))
        for (subject, id_), size in worst.items()
        if size > CALLBACK_DATA_LIMIT
    ]


def _callbacks(
    course_id: str, lesson_ids: list[str], questions: list[tuple[str, int]]
) -> Iterator[tuple[Subject, str, list]]:
    """Per id, every callback the bot can build that carries it (the longest decides)."""
    for cls in _callback_classes():
        fields = set(cls.model_fields)
        actions = _actions(cls)
        if fields == {"action", "course"} or fields == {"course"}:
            yield "course", course_id, [cls(course=course_id, **a) for a in actions]
        elif fields - {"action"} == {"course", "lesson"}:
            for lesson_id in lesson_ids:
                yield (
                    "lesson",
                    lesson_id,
                    [cls(course=course_id, lesson=lesson_id, **a) for a in actions],
                )
        elif fields == {"course", "question", "option"}:
            for question_id, count in questions:
                yield (
                    "question",
                    question_id,
                    [
                        cls(course=course_id, question=question_id, option=i)
                        for i in range(max(count, 1))
                    ],
                )


def _callback_classes() -> list[type]:
    from aiogram.filters.callback_data import CallbackData

    from trainingbot.keyboards import callbacks

    return [
        value
        for value in vars(callbacks).values()
        if isinstance(value, type) and issubclass(value, CallbackData) and value is not CallbackData
    ]


def _actions(cls: type) -> list[dict[str, object]]:
    field = cls.model_fields.get("action")
    if field is None:
        return [{}]
    return [{"action": action} for action in field.annotation]


_WHAT = {"course": "course buttons", "lesson": "lesson buttons", "question": "answer buttons"}


def _message(subject: Subject, id_: str, course_id: str, excess: int) -> str:
    from trainingbot.keyboards.callbacks import CALLBACK_DATA_LIMIT

    size = CALLBACK_DATA_LIMIT + excess
    if subject == "course":
        who, fix = f"course id `{id_}`", "the id"
    else:
        who, fix = (
            f"{subject} id `{id_}` with course id `{course_id}`",
            (f"the {subject} id (or the course id)"),
        )
    return (
        f"{who} is too long for the {_WHAT[subject]}: their data would be {size} bytes, "
        f"Telegram allows {CALLBACK_DATA_LIMIT} — shorten {fix} by {excess} "
        f"byte{'s' if excess != 1 else ''}"
    )
