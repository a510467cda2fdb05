"""Redis going away while an update is being handled is an outage, not a bug: the update is not
recorded, Telegram is told to deliver it again (webhook: 503; polling: the offset stays), and
once Redis is back the redelivery takes effect once."""

from __future__ import annotations

import asyncio

import pytest

from trainingbot.emulator import BotApiEmulator
from trainingbot.texts import common

from tests.runtime.support import (
    TOKEN,
    RunningBot,
    bot_environment,
    enroll,
    fetchval,
    settle,
)
from tests.support.services import RedisServer
from tests.support.waiting import eventually

pytestmark = pytest.mark.services


@pytest.fixture
def own_redis():
    """A Redis this test may kill and start again without disturbing other tests."""
    server = RedisServer().start()
    yield server
    server.destroy()


class HoldCall:
    """Bot API request middleware: holds the first call of any of `methods` until
    `release()`."""

    def __init__(self, *methods: str) -> None:
        self.methods = set(methods)
        self.held = asyncio.Event()
        self._released = asyncio.Event()
        self._armed = True

    def release(self) -> None:
        self._released.set()

    async def __call__(self, make_request, bot, method):
        if self._armed and method.__api_method__ in self.methods:
            self._armed = False
            self.held.set()
            await self._released.wait()
        return await make_request(bot, method)


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_redis_lost_mid_update_it_is_delivered_again_and_takes_effect_once(
    database_url, own_redis, mode
):
    # Telegram gives a webhook far longer than the emulator's default 10 s to answer; the
    # bot's Redis client bridges about 9 s of outage (a Sentinel failover) before giving up.
    async with BotApiEmulator(TOKEN, webhook_timeout=60, webhook_max_retry_delay=0.5) as emulator:
        env = bot_environment(emulator, database_url, mode=mode, REDIS_URL=own_redis.url)
        bot = await RunningBot.start(env)
        try:
            trainee = await enroll(emulator)
            recorded = await fetchval(database_url, "SELECT count(*) FROM processed_updates")

            # The press is being handled (the chat's lock is taken, the question is on its
            # way) when Redis dies: the question's conversation state cannot be saved.
            hold = HoldCall("sendMessage", "sendPoll")
            bot.runtime.app.bot.session.middleware(hold)
            pressing = asyncio.ensure_future(trainee.press("Quiz ▶", timeout=90))
            await asyncio.wait_for(hold.held.wait(), 15)
            await asyncio.to_thread(own_redis.kill)
            hold.release()
            await eventually(
                lambda: bot.sample("bot_errors_total", type="redis_unavailable") >= 1,
                60,
                "the update to be refused as not recorded",
            )
            if mode == "webhook":
                assert "503" in (emulator.webhook_last_error or "")
            else:
                assert bot.runtime.poller.offset is not None
            assert emulator.pending_update_count == 1
            assert (
                await fetchval(database_url, "SELECT count(*) FROM processed_updates") == recorded
            )

            await asyncio.to_thread(own_redis.start)
            await pressing
            await emulator.wait_until_delivered(60)
            await settle(trainee, 0.5)
            question = trainee.messages[-1]
            # The redelivered update saved its conversation state: text now gets the reminder
            # to answer the question.
            await trainee.send("what now?")
            assert (await trainee.next_message(15)).text == common.answer_in_quiz()
        finally:
            assert await bot.stop() == 0

    # Recorded once; nothing of the failed attempt was kept, and no apology for an outage.
    assert await fetchval(database_url, "SELECT count(*) FROM processed_updates") == recorded + 2
    assert not any("Sorry" in (m.text or "") for m in trainee.messages)
    if question.poll is not None:  # one quiz poll recorded: the one sent by the redelivery
        assert await fetchval(database_url, "SELECT count(*) FROM quiz_polls") == 1
    else:
        assert "Question 1" in question.text
