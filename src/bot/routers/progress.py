"""/progress: lessons done and score, per course."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from trainingbot.db.users import UserRecord
from trainingbot.services.training import TrainingService
from trainingbot.texts import training as t


async def on_progress(message: Message, user: UserRecord, training: TrainingService) -> None:
    await message.answer(t.progress(await training.progress(user.id)))


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(on_progress, Command("progress"))
    return router
