"""Keep aiogram's parametrized response models alive.

aiogram validates every Bot API answer with `Response[<the method's result type>]`, a pydantic
generic parametrized on each call. pydantic caches parametrized classes in a weak-value
dictionary, and classes only die in the cyclic garbage collector, so after each collection of
the oldest generation the next call rebuilds the class from its schema: about 7 ms of CPU on
this project's machine, measured as a tenth of the bot's CPU time under load (`bench/`).
Holding one strong reference per result type ends the rebuilds.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response

_PINNED: dict[Any, type] = {}


class PinResponseModels(BaseRequestMiddleware):
    """Request middleware: pins `Response[T]` for the result type of each method called."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Any:
        returning = method.__returning__
        if returning not in _PINNED:
            _PINNED[returning] = Response[returning]
        return await make_request(bot, method)


def pin_response_models(bot: Bot) -> None:
    """Install `PinResponseModels` on the bot's session (once)."""
    if not any(isinstance(m, PinResponseModels) for m in bot.session.middleware):
        bot.session.middleware(PinResponseModels())
