"""Webhook mode is ready only once `setWebhook` has succeeded: before that Telegram sends the
instance nothing, so it must not count as serving."""

from __future__ import annotations

import pytest

from tests.runtime.support import bot_environment, enroll
from tests.support.waiting import eventually

pytestmark = pytest.mark.services


async def _readiness(http, bot) -> tuple[int, dict]:
    async with http.get(f"{bot.ops_url}/ready") as resp:
        return resp.status, await resp.json()


async def test_not_ready_until_the_webhook_is_registered(
    emulator, database_url, redis_server, start_bot, http
):
    # setWebhook is retried after 1, 2 and 4 s: readiness has seven seconds to say why.
    emulator.fail_next("setWebhook", 502, times=3)
    bot = await start_bot(bot_environment(emulator, database_url, REDIS_URL=redis_server.url))

    async def refused():
        status, report = await _readiness(http, bot)
        failed = "setWebhook failed" in report["checks"].get("webhook", "")
        return (status, report) if failed else None

    status, report = await eventually(refused, 15, "readiness to name the failed setWebhook")
    assert status == 503 and report["ready"] is False
    assert report["checks"]["database"] == "ok" and report["checks"]["redis"] == "ok"
    assert "Bad Gateway" in report["checks"]["webhook"]
    assert bot.secret not in str(report)
    assert emulator.webhook_url is None

    async def ready():
        status, report = await _readiness(http, bot)
        return report if status == 200 else None

    report = await eventually(ready, 30, "readiness once the webhook is registered")
    assert emulator.webhook_url == bot.webhook_url  # ready means Telegram can deliver now
    assert report["checks"] == {"database": "ok", "redis": "ok"}
    assert (await enroll(emulator)).messages


async def test_polling_mode_has_no_webhook_check(
    emulator, database_url, redis_server, start_bot, http
):
    bot = await start_bot(
        bot_environment(emulator, database_url, mode="polling", REDIS_URL=redis_server.url)
    )
    status, report = await eventually(
        lambda: _ready_report(http, bot), 30, "readiness in polling mode"
    )
    assert status == 200 and "webhook" not in report["checks"]


async def _ready_report(http, bot):
    status, report = await _readiness(http, bot)
    return (status, report) if status == 200 else None
