"""Update delivery: getUpdates long polling and its conflicts, webhooks with the secret
header, retries and pending counts, duplicates, allowed_updates, replies in the webhook's
answer."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Dispatcher
from aiogram.exceptions import TelegramBadRequest, TelegramConflictError
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from trainingbot.emulator import BotApiEmulator

from tests.bot.emulator.conftest import make_bot
from tests.support.waiting import eventually

WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


async def test_get_updates_in_order_and_offset_confirms(emu, bot):
    trainee = emu.trainee(1001)
    ids = [await trainee.send(text) for text in ("/start", "one", "two")]
    assert ids == [1, 2, 3]
    updates = await bot.get_updates()
    assert [u.message.text for u in updates] == ["/start", "one", "two"]
    assert updates[0].message.entities[0].type == "bot_command"
    assert emu.pending_update_count == 3
    # Until confirmed, the same updates come again; an offset confirms those below it.
    assert [u.update_id for u in await bot.get_updates(limit=2)] == [1, 2]
    assert [u.update_id for u in await bot.get_updates(offset=3)] == [3]
    assert emu.pending_update_count == 1
    assert await bot.get_updates(offset=4) == []
    assert emu.pending_update_count == 0


async def test_negative_offset_keeps_only_the_last_updates(emu, bot):
    trainee = emu.trainee(1001)
    for text in ("a", "b", "c"):
        await trainee.send(text)
    assert [u.message.text for u in await bot.get_updates(offset=-1)] == ["c"]


async def test_long_polling_returns_as_soon_as_an_update_arrives(emu, bot):
    trainee = emu.trainee(1001)
    waiting = asyncio.create_task(bot.get_updates(timeout=30, request_timeout=40))
    await eventually(lambda: emu.state.updates._waiter is not None, what="getUpdates to wait")
    await trainee.send("hello")
    (update,) = await asyncio.wait_for(waiting, 5)
    assert update.message.text == "hello"


async def test_a_second_poller_terminates_the_first_with_409(emu, bot):
    other = make_bot(emu)
    try:
        first = asyncio.create_task(bot.get_updates(timeout=30, request_timeout=40))
        await eventually(lambda: emu.state.updates._waiter is not None, what="getUpdates to wait")
        assert await other.get_updates(timeout=0) == []
        with pytest.raises(TelegramConflictError) as caught:
            await first
        assert caught.value.message == (
            "Conflict: terminated by other getUpdates request; "
            "make sure that only one bot instance is running"
        )
    finally:
        await other.session.close()


async def test_no_get_updates_while_a_webhook_is_set(emu, bot, receiver):
    waiting = asyncio.create_task(bot.get_updates(timeout=30, request_timeout=40))
    await eventually(lambda: emu.state.updates._waiter is not None, what="getUpdates to wait")
    assert await bot.set_webhook(receiver.url)
    with pytest.raises(TelegramConflictError) as caught:
        await waiting
    assert caught.value.message == WEBHOOK_ACTIVE
    with pytest.raises(TelegramConflictError) as caught:
        await bot.get_updates()
    assert caught.value.message == WEBHOOK_ACTIVE
    assert await bot.delete_webhook()
    assert await bot.get_updates() == []


async def test_allowed_updates_filter_what_telegram_creates(emu, bot):
    trainee = emu.trainee(1001)
    await bot.get_updates(allowed_updates=["callback_query"])
    assert await trainee.send("ignored") is None
    assert await bot.get_updates() == []
    await bot.get_updates(allowed_updates=[])  # back to Telegram's default set
    assert await trainee.send("seen") is not None


async def test_webhook_delivery_with_secret_header(emu, bot, receiver):
    trainee = emu.trainee(1001, "Ada")
    assert await bot.set_webhook(receiver.url, secret_token="s3cr3t-Token_1", max_connections=5)
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections, info.pending_update_count) == (receiver.url, 5, 0)
    update_id = await trainee.send("/start")
    await eventually(lambda: receiver.received, what="the webhook to receive the update")
    headers, body = receiver.received[0]
    assert headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cr3t-Token_1"
    assert headers["Content-Type"] == "application/json"
    assert body["update_id"] == update_id
    assert body["message"]["text"] == "/start"
    assert body["message"]["from"]["first_name"] == "Ada"
    await emu.wait_until_delivered()
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_webhook_secret_token_is_validated(emu, bot, receiver):
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.set_webhook(receiver.url, secret_token="no spaces allowed")
    assert caught.value.message == "Bad Request: secret token contains unallowed characters"


async def test_failed_deliveries_stay_pending_and_are_retried(emu, bot, receiver):
    trainee = emu.trainee(1001)
    receiver.status = 500
    await bot.set_webhook(receiver.url)
    update_id = await trainee.send("hello")
    await eventually(lambda: len(receiver.received) >= 2, what="a retry after a 500")
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.last_error_date is not None
    receiver.status = 200
    await emu.wait_until_delivered()
    assert set(receiver.update_ids) == {update_id}
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_a_refused_connection_is_a_delivery_error(emu, bot, receiver):
    url = receiver.url
    await receiver.stop()
    await bot.set_webhook(url)
    await emu.trainee(1001).send("anyone there?")
    await eventually(lambda: emu.webhook_last_error is not None, what="a delivery error")
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Connection refused"
    assert info.pending_update_count == 1


async def test_a_slow_webhook_times_out_and_gets_the_update_again(receiver):
    async with BotApiEmulator(webhook_timeout=0.2) as emu:
        bot = make_bot(emu)
        receiver.gate = asyncio.Event()
        await bot.set_webhook(receiver.url)
        await emu.trainee(1001).send("slow")
        await eventually(lambda: emu.webhook_last_error is not None, what="a timeout")
        assert emu.webhook_last_error == "Read timeout expired"
        receiver.gate.set()
        await emu.wait_until_delivered()
        assert len(receiver.update_ids) >= 2
        assert set(receiver.update_ids) == {1}
        await bot.session.close()


async def test_at_most_max_connections_and_one_per_chat(emu, bot, receiver):
    receiver.gate = asyncio.Event()
    await bot.set_webhook(receiver.url, max_connections=2)
    trainees = [emu.trainee(2000 + n) for n in range(4)]
    for trainee in trainees:
        await trainee.send("first")
        await trainee.send("second")
    await eventually(lambda: receiver.in_flight == 2, what="two deliveries in flight")
    receiver.gate.set()
    await emu.wait_until_delivered()
    assert receiver.most_in_flight == 2
    per_chat: dict[int, list[str]] = {}
    for _, body in receiver.received:
        per_chat.setdefault(body["message"]["chat"]["id"], []).append(body["message"]["text"])
    assert per_chat == {t.chat_id: ["first", "second"] for t in trainees}


async def test_duplicate_delivery_by_webhook(emu, bot, receiver):
    await bot.set_webhook(receiver.url)
    update_id = await emu.trainee(1001).send("pay once")
    await emu.wait_until_delivered()
    await emu.redeliver(update_id)
    await eventually(lambda: len(receiver.received) == 2, what="the duplicate")
    first, second = (body for _, body in receiver.received)
    assert first == second


async def test_duplicate_delivery_by_get_updates(emu, bot):
    update_id = await emu.trainee(1001).send("pay once")
    (update,) = await bot.get_updates()
    assert await bot.get_updates(offset=update_id + 1) == []
    await emu.redeliver(update_id)
    (again,) = await bot.get_updates(offset=update_id + 1)
    assert again.update_id == update_id
    assert again.message.text == update.message.text


async def test_pending_updates_move_between_webhook_and_polling(emu, bot, receiver):
    trainee = emu.trainee(1001)
    await trainee.send("before the webhook")
    receiver.status = 503
    await bot.set_webhook(receiver.url)
    await eventually(lambda: receiver.received, what="a failed delivery")
    await bot.delete_webhook()
    assert [u.message.text for u in await bot.get_updates()] == ["before the webhook"]
    await bot.set_webhook(receiver.url, drop_pending_updates=True)
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_a_method_in_the_webhook_answer_is_executed(emu, bot):
    """aiogram's request handler answers with the handler's method call; Telegram runs it."""
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message):
        return message.answer(f"echo: {message.text}")

    app = web.Application()
    handler = SimpleRequestHandler(dispatcher, bot, secret_token="abc", handle_in_background=False)
    handler.register(app, "/hook")
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        await bot.set_webhook(url, secret_token="abc")
        trainee = emu.trainee(1001)
        await trainee.send("ping")
        reply = await trainee.next_message()
        assert reply.text == "echo: ping"
    finally:
        await runner.cleanup()
