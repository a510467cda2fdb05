"""/review and the answers given in it (buttons and quiz polls)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery

from trainingbot.db.users import UserRecord
from trainingbot.keyboards.callbacks import ReviewAnswerCallback
from trainingbot.services.review import ReviewOutcome, ReviewService, ReviewSession
from trainingbot.views import Conversation


async def save_session(state: FSMContext, outcome: ReviewOutcome) -> None:
    """The session goes to the FSM storage before the next question is shown."""
    await state.update_data(review=outcome.session.to_data() if outcome.session else None)


async def current_session(state: FSMContext) -> ReviewSession | None:
    return ReviewSession.from_data((await state.get_data()).get("review"))


async def on_review(
    _, user: UserRecord, reviews: ReviewService, state: FSMContext, conversation: Conversation
) -> None:
    await state.clear()
    outcome = await reviews.start(user.id)
    await save_session(state, outcome)
    await conversation.present(outcome.steps)


async def on_review_answer(
    query: CallbackQuery,
    callback_data: ReviewAnswerCallback,
    user: UserRecord,
    reviews: ReviewService,
    state: FSMContext,
    conversation: Conversation,
) -> None:
    outcome = await reviews.answer(
        user.id,
        callback_data.course,
        callback_data.question,
        callback_data.option,
        await current_session(state),
    )
    await save_session(state, outcome)
    await conversation.reply_to_press(query, outcome.steps)


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(on_review, Command("review"))
    router.callback_query.register(on_review_answer, ReviewAnswerCallback.filter())
    return router
