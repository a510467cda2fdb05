"""Acting as a trainee through the emulator: take a lesson, answer its questions."""

from __future__ import annotations

from collections.abc import Callable

from trainingbot.content import Course, Lesson, Question, QuestionKind
from trainingbot.emulator.models import EmulatedMessage
from trainingbot.emulator.trainee import Trainee
from trainingbot.keyboards import labels

from tests.bot.conftest import next_matching

Choose = Callable[[Question], int]


def right(question: Question) -> int:
    return question.correct


def wrong(question: Question) -> int:
    return (question.correct + 1) % len(question.options)


def is_feedback(message: EmulatedMessage) -> bool:
    return "Right!" in message.text or "Not quite." in message.text


async def lesson_shown(trainee: Trainee, lesson: Lesson) -> EmulatedMessage:
    return await next_matching(
        trainee, lambda m: m.text.startswith(lesson.title), f"lesson {lesson.title!r}"
    )


async def answer_question(trainee: Trainee, question: Question, option: int) -> EmulatedMessage:
    """Wait for the question, answer it; returns the feedback (message or edited question)."""
    if question.kind is QuestionKind.POLL:
        poll = await next_matching(
            trainee,
            lambda m: m.poll is not None and m.poll.question == question.text,
            f"poll {question.id}",
        )
        assert poll.poll.is_quiz and not poll.poll.is_anonymous
        await trainee.answer_poll([option], message=poll)
        return await next_matching(trainee, is_feedback, f"feedback on {question.id}")
    asked = await next_matching(
        trainee,
        lambda m: m.has_button(question.options[0]) and question.text in m.text,
        f"question {question.id}",
    )
    toast = await trainee.press(question.options[option], message=asked)
    assert toast in ("✅ Right!", "❌ Not quite."), toast
    return await next_matching(
        trainee,
        lambda m: m.message_id == asked.message_id and m.edited,
        f"feedback on {question.id}",
    )


async def take_lesson(
    trainee: Trainee, course: Course, lesson: Lesson, choose: Choose = right
) -> EmulatedMessage | None:
    """With the lesson on screen: go through its quiz (or past it). Returns the "lesson
    done" message (None for a lesson without questions, which moves straight on)."""
    if not lesson.questions:
        last = course.next_lesson(lesson.id) is None
        await trainee.press(labels.FINISH if last else labels.NEXT)
        return None
    await trainee.press(labels.QUIZ)
    for question in lesson.questions:
        await answer_question(trainee, question, choose(question))
    return await next_matching(trainee, lambda m: "done." in m.text, f"{lesson.id} done")
