"""Will every button of a course pack into Telegram's 64 bytes of callback data?

Measured on `CALLBACK_LAYOUTS`, the shape of each of the bot's callback classes (prefix,
fields in order, the values an action field takes), joined as aiogram packs them. The table
is plain data so that `training-bot content validate` need not import aiogram (seconds of
its run time); tests/bot/content/test_callback_layouts.py checks that it matches
`trainingbot.keyboards.callbacks` field for field, so a change there cannot go unchecked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

Subject = Literal["course", "lesson", "question"]

CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for InlineKeyboardButton.callback_data
SEPARATOR = ":"  # aiogram's CallbackData default


@dataclass(frozen=True)
class CallbackLayout:
    """One callback class of the bot: `prefix`, its fields in order, and the values of its
    `action` field (empty when it has none)."""

    name: str
    prefix: str
    fields: tuple[str, ...]
    actions: tuple[str, ...] = ()


# Mirrors trainingbot.keyboards.callbacks (a test keeps the two equal).
CALLBACK_LAYOUTS = (
    CallbackLayout("CourseCallback", "c", ("action", "course"), ("o", "e", "r", "l")),
    CallbackLayout("LessonCallback", "l", ("action", "course", "lesson"), ("s", "n", "b")),
    CallbackLayout("AnswerCallback", "a", ("course", "question", "option")),
    CallbackLayout("ReviewAnswerCallback", "r", ("course", "question", "option")),
)


@dataclass(frozen=True)
class ButtonProblem:
    subject: Subject  # which id to point at
    id: str
    message: str


def packed_size(layout: CallbackLayout, values: dict[str, object]) -> int:
    """Bytes of the callback data aiogram would pack from `values` (also past the limit)."""
    parts = [layout.prefix, *("" if values[f] is None else str(values[f]) for f in layout.fields)]
    return len(SEPARATOR.join(parts).encode())


def button_problems(
    course_id: str,
    lesson_ids: Iterable[str],
    questions: Iterable[tuple[str, int]],
) -> list[ButtonProblem]:
    """Check every button built for the course; `questions` pairs ids with option counts.

    Every callback layout is packed with every value its fields can take for this course,
    so a class added to `CALLBACK_LAYOUTS` (a review answer, say) is covered without a
    change here.
    """
    lesson_ids, questions = list(lesson_ids), list(questions)
    worst: dict[tuple[Subject, str], int] = {}  # two classes may carry the same id
    for subject, id_, sizes in _sizes(course_id, lesson_ids, questions):
        size = max(sizes)
        worst[subject, id_] = max(size, worst.get((subject, id_), 0))
    return [
        ButtonProblem(subject, id_, _message(subject, id_, course_id, size - CALLBACK_DATA_LIMIT))
        for (subject, id_), size in worst.items()
        if size > CALLBACK_DATA_LIMIT
    ]


def _sizes(
    course_id: str, lesson_ids: list[str], questions: list[tuple[str, int]]
) -> Iterator[tuple[Subject, str, list[int]]]:
    """Per id, the packed size of every callback the bot can build that carries it."""
    for layout in CALLBACK_LAYOUTS:
        fields = set(layout.fields)
        actions = [{"action": a} for a in layout.actions] or [{}]
        if fields == {"action", "course"} or fields == {"course"}:
            yield (
                "course",
                course_id,
                [packed_size(layout, {"course": course_id, **a}) for a in actions],
            )
        elif fields - {"action"} == {"course", "lesson"}:
            for lesson_id in lesson_ids:
                yield (
                    "lesson",
                    lesson_id,
                    [
                        packed_size(layout, {"course": course_id, "lesson": lesson_id, **a})
                        for a in actions
                    ],
                )
        elif fields == {"course", "question", "option"}:
            for question_id, count in questions:
                yield (
                    "question",
                    question_id,
                    [
                        packed_size(
                            layout, {"course": course_id, "question": question_id, "option": i}
                        )
                        for i in range(max(count, 1))
                    ],
                )


_WHAT = {"course": "course buttons", "lesson": "lesson buttons", "question": "answer buttons"}


def _message(subject: Subject, id_: str, course_id: str, excess: int) -> str:
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
