"""The baseline: a bare aiogram echo bot, run the way aiogram's own examples run one.

Polling: `Dispatcher.start_polling`. Webhook: aiogram's `SimpleRequestHandler` (which answers
Telegram at once and handles the update in the background) on aiohttp. No database, no
Redis, no middlewares, no logging per update. Reads the same environment as the bot.
"""

from __future__ import annotations

import asyncio
import logging
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

dispatcher = Dispatcher()


@dispatcher.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "?")


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["BOT_API_BASE_URL"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    if os.environ.get("BOT_MODE", "polling") == "polling":
        await bot.delete_webhook()
        await dispatcher.start_polling(bot, handle_signals=True)
        return
    app = web.Application()
    secret = os.environ["WEBHOOK_SECRET"]
    SimpleRequestHandler(dispatcher, bot, secret_token=secret).register(
        app, path="/telegram/webhook"
    )
    setup_application(app, dispatcher, bot=bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(os.environ["WEBHOOK_PORT"])).start()
    await bot.set_webhook(os.environ["WEBHOOK_URL"], secret_token=secret)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
