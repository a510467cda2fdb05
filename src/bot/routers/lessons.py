"""Lesson navigation (Next, Back, a lesson by id) and /continue."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery

from trainingbot.db.users import UserRecord
from trainingbot.keyboards.callbacks import LessonAction, LessonCallback
from trainingbot.services.training import TrainingService
from trainingbot.views import Conversation


async def on_next(
    query: CallbackQuery,
    callback_data: LessonCallback,
    user: UserRecord,
    training: TrainingService,
    conversation: Conversation,
) -> None:
    await conversation.reply_to_press(
        query, await training.next(user.id, callback_data.course, callback_data.lesson)
    )


async def on_back(
    query: CallbackQuery,
    callback_data: LessonCallback,
    user: UserRecord,
    training: TrainingService,
    conversation: Conversation,
) -> None:
    await conversation.reply_to_press(
        query, await training.back(user.id, callback_data.course, callback_data.lesson)
    )


async def on_show(
    query: CallbackQuery,
    callback_data: LessonCallback,
    user: UserRecord,
    training: TrainingService,
    conversation: Conversation,
) -> None:
    await conversation.reply_to_press(
        query, await training.open_lesson(user.id, callback_data.course, callback_data.lesson)
    )


async def on_continue(
    _, user: UserRecord, training: TrainingService, conversation: Conversation
) -> None:
    await conversation.present(await training.resume(user.id))


def build() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(on_next, LessonCallback.filter(F.action == LessonAction.NEXT))
    router.callback_query.register(on_back, LessonCallback.filter(F.action == LessonAction.BACK))
    router.callback_query.register(on_show, LessonCallback.filter(F.action == LessonAction.SHOW))
    router.message.register(on_continue, Command("continue"))
    return router
