"""Whatever no other router handled: unknown commands and free text get help, and a button
whose data does not parse (tampered, or from an old release) gets a short answer."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from trainingbot.texts import common
from trainingbot.views import answer_press


async def on_anything(message: Message) -> None:
    await message.answer(common.not_understood())


async def on_unknown_button(query: CallbackQuery) -> None:
    await answer_press(query, common.stale_button())


def build() -> Router:
    router = Router(name=__name__)
    router.message.register(on_anything)
    router.callback_query.register(on_unknown_button)
    return router
