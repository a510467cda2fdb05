"""Fixtures of the emulator's tests: a started emulator, an aiogram `Bot` pointed at it the
way the project's bot points at any Bot API server, and a webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from trainingbot.emulator import BotApiEmulator

TOKEN = "123456:TEST"


class LoopbackSession(AiohttpSession):
    """aiogram's session without the 250 ms pause it takes on close for TLS connections to
    wind down: the emulator speaks plain HTTP, and the pause would dominate the suite."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(emulator: BotApiEmulator, token: str | None = None) -> Bot:
    session = LoopbackSession(api=TelegramAPIServer.from_base(emulator.base_url))
    return Bot(token or emulator.token, session=session)


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN) as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: BotApiEmulator) -> AsyncIterator[Bot]:
    bot = make_bot(emu)
    yield bot
    await bot.session.close()


@contextlib.asynccontextmanager
async def polling(dispatcher: Dispatcher, bot: Bot, **kwargs: Any) -> AsyncIterator[None]:
    """Run the dispatcher's long-polling loop for the duration of the block."""
    task = asyncio.create_task(
        dispatcher.start_polling(
            bot, polling_timeout=1, handle_signals=False, close_bot_session=False, **kwargs
        )
    )
    try:
        yield
    finally:
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        await asyncio.wait_for(task, 5)


class WebhookReceiver:
    """A stand-in for a bot's webhook listener that records what Telegram POSTs to it.

    `status` is what it answers; `gate`, when set, holds every request until it is opened,
    so that a test can see how many deliveries run at once."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.status = 200
        self.reply: dict[str, Any] | None = None
        self.gate: asyncio.Event | None = None
        self.in_flight = 0
        self.most_in_flight = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def update_ids(self) -> list[int]:
        return [body["update_id"] for _, body in self.received]

    async def _handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            body = await request.json()
            self.received.append((dict(request.headers), body))
            if self.gate is not None:
                await self.gate.wait()
            if self.reply is not None and self.status == 200:
                return web.json_response(self.reply)
            return web.Response(status=self.status, text="{}")
        finally:
            self.in_flight -= 1

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/telegram/webhook", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/telegram/webhook"
        return self

    async def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = await WebhookReceiver().start()
    yield receiver
    await receiver.stop()
