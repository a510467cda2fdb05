"""Flood control and injected failures, as aiogram sees them: TelegramRetryAfter with the
retry_after Telegram sends, TelegramServerError for 5xx."""

from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramRetryAfter, TelegramServerError

from trainingbot.emulator import ApiError, BotApiLimits
from trainingbot.emulator.limits import FloodControl


def test_private_chats_take_one_message_a_second():
    flood = FloodControl(BotApiLimits(flood_control=True))
    flood.admit(1, group=False, now=100.0)
    with pytest.raises(ApiError) as caught:
        flood.admit(1, group=False, now=100.4)
    assert caught.value.error_code == 429
    assert caught.value.description == "Too Many Requests: retry after 1"
    assert caught.value.parameters == {"retry_after": 1}
    flood.admit(2, group=False, now=100.4)  # another chat is not affected
    flood.admit(1, group=False, now=101.0)  # a second later it fits again


def test_groups_take_twenty_a_minute_and_the_bot_thirty_a_second():
    flood = FloodControl(BotApiLimits(flood_control=True))
    for n in range(20):
        flood.admit(-5, group=True, now=float(n))
    with pytest.raises(ApiError) as caught:
        flood.admit(-5, group=True, now=30.0)
    assert caught.value.parameters == {"retry_after": 30}
    flood = FloodControl(BotApiLimits(flood_control=True))
    for chat in range(30):
        flood.admit(chat, group=False, now=0.5)
    with pytest.raises(ApiError) as caught:
        flood.admit(99, group=False, now=0.9)
    assert caught.value.parameters == {"retry_after": 1}


async def test_flood_control_is_off_until_switched_on(emu, bot):
    group = emu.group(-100777, "Ops")
    for _ in range(25):
        await bot.send_message(group.chat_id, "burst")
    emu.limits = BotApiLimits(flood_control=True)
    for _ in range(20):
        await bot.send_message(group.chat_id, "paced")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(group.chat_id, "one too many")
    assert 1 <= caught.value.retry_after <= 60
    # aiogram rewords the message and keeps Telegram's description at its end.
    assert f"Too Many Requests: retry after {caught.value.retry_after}" in caught.value.message


async def test_fail_next_with_retry_after(emu, bot):
    emu.trainee(1001)
    emu.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(1001, "first try")
    assert caught.value.retry_after == 3
    assert caught.value.message.endswith("Original description: Too Many Requests: retry after 3")
    await bot.send_message(1001, "second try")


async def test_fail_next_with_server_errors(emu, bot):
    emu.trainee(1001)
    emu.fail_next("sendmessage", 500)
    emu.fail_next("sendMessage", 502, times=2)
    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await bot.send_message(1001, "a")
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_message(1001, "b")
    await bot.send_message(1001, "c")
    assert [m.text for m in emu.trainee(1001).messages] == ["c"]
    with pytest.raises(ValueError, match="does not serve a method called 'sendSticker'"):
        emu.fail_next("sendSticker")
