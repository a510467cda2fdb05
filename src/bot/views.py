"""How each conversation step looks in Telegram, and the only module that sends them.

Lessons read like a book: Next and Back edit the lesson's message in place, so the chat does
not fill up with pages; the questions at the end of a lesson are new messages below it (a
quiz poll cannot replace a text message). Whenever an edit is not possible (the message is
too old or gone) a new message is sent instead. A button press is always answered (it stops
the client's spinner), after the update's effects are committed (`answer_press`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import unescape
from re import sub
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from trainingbot.content import Course, Lesson, Question, QuestionKind, render
from trainingbot.keyboards import courses as course_kb
from trainingbot.keyboards import lessons as lesson_kb
from trainingbot.keyboards import quiz as quiz_kb
from trainingbot.services.steps import (
    Answered,
    AskQuestion,
    CourseDone,
    LessonDone,
    LessonMoved,
    Refused,
    ReviewDone,
    Say,
    ShowLesson,
    Step,
)
from trainingbot.services.training import TrainingService
from trainingbot.telegram_session import defer
from trainingbot.texts import training as t
from trainingbot.texts.limits import CALLBACK_ANSWER_LIMIT, clip

log = logging.getLogger(__name__)


class _ContentViews:
    """What content looks like in a chat (lesson texts, keyboards), built once per piece.

    Content does not change while the bot runs, and building a lesson's text and buttons
    (pydantic models, packed callback data) is work every press would otherwise repeat.
    Keyed by the course object itself (held here, so that its id stays its own), so a
    different catalog, as tests load, never gets another's views.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._views: dict[tuple[Any, ...], tuple[Course, Any]] = {}

    def get(self, course: Course, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        full_key = (id(course), *key)
        hit = self._views.get(full_key)
        if hit is None or hit[0] is not course:
            if len(self._views) >= self.size:
                self._views.clear()
            hit = self._views[full_key] = (course, build())
        return hit[1]


_content_views = _ContentViews()


def lesson_view(
    course: Course, lesson: Lesson, quiz_pending: bool
) -> tuple[str, InlineKeyboardMarkup]:
    """A lesson's message and its buttons."""
    return _content_views.get(
        course,
        ("lesson", lesson.id, quiz_pending),
        lambda: (
            render.course_lesson_message(course, lesson),
            lesson_kb.lesson(course, lesson, quiz_pending),
        ),
    )


def answers_keyboard(course: Course, question: Question, review: bool) -> InlineKeyboardMarkup:
    """The answer buttons of an inline question (in a lesson's quiz, or in /review)."""
    return _content_views.get(
        course,
        ("answers", question.id, review),
        lambda: quiz_kb.answers(course, question, review=review),
    )


class Quiz(StatesGroup):
    """A question is waiting for an answer (data: `pending`, and `review` in /review)."""

    answering = State()


def plain(html: str) -> str:
    """HTML as plain text, for a button's toast."""
    return unescape(sub(r"<[^>]+>", "", html))


async def answer_press(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the client's spinner on the pressed button, with `text` as a toast.

    The answer is left for after the update (`telegram_session.defer`): it goes out once the
    update's effects are committed, in webhook mode on the webhook's own answer. A few
    milliseconds later than first, and one request less.

    Telegram takes an answer only in the first seconds after a press. A press delivered again
    after an outage (the update was not recorded the first time) is past that: it still takes
    effect, only its toast is lost, so "query is too old" is no reason to fail the update.
    """
    method = query.answer(text)
    if defer(method):
        return
    try:
        await method
    except TelegramBadRequest as exc:
        if "query is too old" not in exc.message and "query ID is invalid" not in exc.message:
            raise
        log.info("answered the press of a button too late (%s); handling it anyway", exc.message)


def toast_of(steps: list[Step]) -> str | None:
    for step in steps:
        if isinstance(step, Refused):
            return clip(plain(step.text), CALLBACK_ANSWER_LIMIT)
        if isinstance(step, Answered):
            return t.callback_right() if step.correct else t.callback_wrong()
    return None


class Conversation:
    """Presents steps in one private chat."""

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        user_id: int,
        training: TrainingService,
        state: FSMContext | None,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.user_id = user_id
        self.training = training
        self.state = state

    async def reply_to_press(self, query: CallbackQuery, steps: list[Step]) -> None:
        """Answer the button press (a toast when refused), then present the steps."""
        await answer_press(query, toast_of(steps))
        message = query.message if isinstance(query.message, Message) else None
        await self.present(steps, pressed=message)

    async def present(self, steps: list[Step], pressed: Message | None = None) -> None:
        """Send (or edit `pressed` into) each step. Refusals were already shown as toasts
        when there is a pressed button; otherwise they are sent as messages."""
        editable = pressed
        for step in steps:
            match step:
                case Refused(text=text):
                    if pressed is None:
                        await self._send(text)
                case Say(text=text):
                    await self._send(text)
                case ShowLesson():
                    if step.intro:
                        await self._send(step.intro)
                        editable = None
                    await self._show_lesson(step, editable)
                    editable = None
                case AskQuestion():
                    # The lesson keeps its buttons: pressing Quiz again re-asks the pending
                    # question, which is what a trainee who scrolled back wants.
                    editable = None
                    await self._ask(step)
                case Answered():
                    await self._feedback(step, pressed)
                    editable = None
                case LessonDone():
                    await self._clear_quiz()
                    await self._send(
                        t.lesson_done(step.lesson, step.score, step.next_lesson is not None),
                        lesson_kb.lesson_done(step.course, step.next_lesson),
                    )
                case CourseDone():
                    await self._clear_quiz()
                    await self._send(
                        t.course_done(step.progress), course_kb.course_done(step.progress.course)
                    )
                case LessonMoved():
                    await self._send(
                        t.lesson_moved(step.resume),
                        course_kb.moved_lesson(
                            step.course, step.resume.id if step.resume else None
                        ),
                    )
                case ReviewDone():
                    await self._clear_quiz()
                    await self._send(t.review_done(step.score, step.next_due, step.now))

    # -- the pieces ------------------------------------------------------------------------

    async def _send(self, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
        return await self.bot.send_message(self.chat_id, text, reply_markup=markup)

    async def replace(
        self, query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        """Answer the press and show `text` in place of the pressed message (or below it,
        when that message can no longer be edited)."""
        await answer_press(query)
        message = query.message if isinstance(query.message, Message) else None
        await self._edit_or_send(message, text, markup)

    async def _edit_or_send(
        self, message: Message | None, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        if message is not None:
            try:
                await self.bot.edit_message_text(
                    text=text,
                    chat_id=self.chat_id,
                    message_id=message.message_id,
                    reply_markup=markup,
                )
                return
            except TelegramBadRequest as exc:
                if "not modified" in exc.message:
                    return
                log.info(
                    "could not edit message %s (%s); sending a new one",
                    message.message_id,
                    exc.message,
                )
        await self._send(text, markup)

    async def _show_lesson(self, step: ShowLesson, editable: Message | None) -> None:
        text, markup = lesson_view(step.course, step.lesson, step.quiz_pending)
        await self._edit_or_send(editable, text, markup)

    async def _ask(self, step: AskQuestion) -> None:
        q = step.question
        if q.kind is QuestionKind.POLL:
            # Not anonymous: only then does Telegram send the answer (poll_answer) to the bot.
            message = await self.bot.send_poll(
                self.chat_id,
                question=q.text,
                options=list(q.options),
                type="quiz",
                correct_option_id=q.correct,
                is_anonymous=False,
                explanation=q.explanation or None,
                explanation_parse_mode=None,
                question_parse_mode=None,
            )
            await self.training.remember_poll(
                message.poll.id,
                self.user_id,
                self.chat_id,
                message.message_id,
                step.course.id,
                q.id,
                step.review,
            )
        else:
            header = t.question_header(step.position, step.total, step.review)
            await self._send(
                f"{header}\n\n{render.question_message(q)}",
                answers_keyboard(step.course, q, step.review),
            )
        if self.state is not None:
            await self.state.set_state(Quiz.answering)
            await self.state.update_data(pending=[step.course.id, q.id])

    async def _feedback(self, step: Answered, pressed: Message | None) -> None:
        if pressed is not None and step.question.kind is QuestionKind.BUTTONS:
            await self._edit_or_send(
                pressed, t.answered_question(step.question, step.correct, step.option), None
            )
        else:
            await self._send(t.feedback(step.question, step.correct))

    async def _clear_quiz(self) -> None:
        if self.state is not None:
            await self.state.clear()
