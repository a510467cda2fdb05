"""Answers to lesson questions: inline buttons and native quiz polls (`poll_answer`)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, PollAnswer

from trainingbot.db.users import UserRecord
from trainingbot.keyboards.callbacks import AnswerCallback
from trainingbot.routers.review import current_session, save_session
from trainingbot.services.review import ReviewService
from trainingbot.services.steps import Refused
from trainingbot.services.training import TrainingService
from trainingbot.texts import common
from trainingbot.views import Conversation, Quiz


async def on_answer(
    query: CallbackQuery,
    callback_data: AnswerCallback,
    user: UserRecord,
    training: TrainingService,
    conversation: Conversation,
) -> None:
    await conversation.reply_to_press(
        query,
        await training.answer(
            user.id, callback_data.course, callback_data.question, callback_data.option
        ),
    )


async def on_poll_answer(
    poll_answer: PollAnswer,
    user: UserRecord,
    training: TrainingService,
    reviews: ReviewService,
    state: FSMContext,
    conversation: Conversation,
) -> None:
    if not poll_answer.option_ids:
        return  # a retracted vote; quiz polls do not allow it, nothing to do
    poll = await training.claim_poll(poll_answer.poll_id, user.id)
    if poll is None:
        return  # not a poll of ours, or answered already: Telegram shows the result itself
    option = poll_answer.option_ids[0]
    if poll.is_review:
        outcome = await reviews.answer(
            user.id, poll.course_id, poll.question_id, option, await current_session(state)
        )
        await save_session(state, outcome)
        steps = outcome.steps
    else:
        steps = await training.answer(user.id, poll.course_id, poll.question_id, option)
    # Telegram shows a quiz poll's result itself; a refusal has nothing to add.
    await conversation.present([s for s in steps if not isinstance(s, Refused)])


async def on_text_while_answering(message: Message) -> None:
    await message.answer(common.answer_in_quiz())


def build() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(on_answer, AnswerCallback.filter())
    router.poll_answer.register(on_poll_answer)
    router.message.register(
        on_text_while_answering, Quiz.answering, F.text & ~F.text.startswith("/")
    )
    return router
