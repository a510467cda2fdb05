"""Webhook mode in this process: secret, limits, exactly-once, smoke updates, metrics."""

from __future__ import annotations

import asyncio
import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from trainingbot.smoke import REQUIRED_METRICS, SMOKE_USER_ID, smoke_update

from tests.runtime.support import (
    COURSE_START,
    SECRET_HEADER,
    bot_environment,
    enroll,
    fetchval,
    new_user_id,
    settle,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.services


def message_update(update_id: int, user_id: int, text: str) -> dict:
    user = {"id": user_id, "is_bot": False, "first_name": "Eve"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "text": text,
            "from": user,
            "chat": {"id": user_id, "type": "private", "first_name": "Eve"},
            **(
                {"entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}
                if text.startswith("/")
                else {}
            ),
        },
    }


@pytest.fixture
async def webhook_bot(emulator, database_url, redis_server, start_bot):
    env = bot_environment(emulator, database_url, REDIS_URL=redis_server.url)
    bot = await start_bot(env)
    await eventually(lambda: emulator.webhook_url == bot.webhook_url, what="setWebhook")
    return bot


async def test_set_webhook_registers_url_secret_update_types_and_connection_limit(
    emulator, webhook_bot
):
    (call,) = emulator.calls("setWebhook")
    assert call["url"] == webhook_bot.webhook_url
    assert call["secret_token"] == webhook_bot.secret
    assert int(call["max_connections"]) == 40
    allowed = call["allowed_updates"]
    allowed = json.loads(allowed) if isinstance(allowed, str) else allowed
    assert {"message", "callback_query", "poll_answer"} <= set(allowed)


async def test_requests_without_the_right_secret_are_refused_and_nothing_is_processed(
    emulator, webhook_bot, http, database_url
):
    user_id = new_user_id()
    trainee = emulator.trainee(user_id, "Eve")
    update = message_update(990_001, user_id, COURSE_START)
    for headers, reason in [
        ({}, "missing_secret"),
        ({SECRET_HEADER: "not-the-secret"}, "wrong_secret"),
        ({SECRET_HEADER: webhook_bot.secret[:-1]}, "wrong_secret"),
    ]:
        async with http.post(webhook_bot.webhook_url, json=update, headers=headers) as resp:
            assert resp.status == 403, reason
    sample = webhook_bot.sample
    assert sample("bot_webhook_rejected_requests_total", reason="missing_secret") == 1
    assert sample("bot_webhook_rejected_requests_total", reason="wrong_secret") == 2
    assert sample("bot_updates_total", type="message") == 0
    assert await fetchval(database_url, "SELECT count(*) FROM processed_updates") == 0
    await trainee.expect_no_message(0.5)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"x" * (1024 * 1024 + 1), "too_large"),
        (b'{"update_id": 1, "padding": "' + b"x" * (1024 * 1024) + b'"}', "too_large"),
        (b"this is not json", "invalid_json"),
        (b"[1, 2, 3]", "invalid_update"),
        (b'{"message": {"text": "no update id"}}', "invalid_update"),
        (b'{"update_id": 5, "message": {"text": "no chat, no date"}}', "invalid_update"),
    ],
)
async def test_bodies_that_are_too_large_or_not_updates_get_400(
    webhook_bot, http, body, reason, database_url
):
    headers = {SECRET_HEADER: webhook_bot.secret, "Content-Type": "application/json"}
    async with http.post(webhook_bot.webhook_url, data=body, headers=headers) as resp:
        assert resp.status == 400
    assert webhook_bot.sample("bot_webhook_rejected_requests_total", reason=reason) == 1
    assert await fetchval(database_url, "SELECT count(*) FROM processed_updates") == 0


async def test_an_update_delivered_twice_is_processed_once(emulator, webhook_bot, database_url):
    trainee = emulator.trainee(new_user_id(), "Ada")
    update_id = await trainee.send(COURSE_START)
    first = await settle(trainee, 1.0)
    assert first, "the bot did not answer"
    await emulator.redeliver(update_id)
    await eventually(
        lambda: webhook_bot.sample("bot_duplicate_updates_total") == 1,
        what="the duplicate to be counted",
    )
    await trainee.expect_no_message(0.5)
    assert (
        await fetchval(
            database_url, "SELECT count(*) FROM processed_updates WHERE update_id = $1", update_id
        )
        == 1
    )
    assert (
        await fetchval(
            database_url, "SELECT count(*) FROM enrollments WHERE user_id = $1", trainee.user_id
        )
        == 1
    )
    await emulator.wait_until_delivered()


async def test_the_smoke_update_runs_the_whole_pipeline_without_calling_telegram(
    emulator, webhook_bot, http, database_url
):
    calls_before = sum(emulator.method_counts.values())
    update = smoke_update()
    headers = {SECRET_HEADER: webhook_bot.secret}
    async with http.post(webhook_bot.webhook_url, json=update, headers=headers) as resp:
        assert resp.status == 200
        answer = await resp.json()
    assert answer["smoke"]["outcome"] == "done"
    assert "sendMessage" in answer["smoke"]["calls"]
    assert sum(emulator.method_counts.values()) == calls_before  # nothing reached the Bot API
    assert (
        await fetchval(
            database_url,
            "SELECT count(*) FROM processed_updates WHERE update_id = $1",
            update["update_id"],
        )
        == 1
    )
    assert (
        await fetchval(database_url, "SELECT count(*) FROM users WHERE id = $1", SMOKE_USER_ID) == 1
    )


async def test_metrics_carry_the_designs_names_and_labels(emulator, webhook_bot, http):
    await enroll(emulator)
    async with http.post(webhook_bot.webhook_url, data=b"{}") as resp:  # no secret
        assert resp.status == 403
    async with http.get(f"{webhook_bot.ops_url}/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample.labels)
    families = {f.name for f in text_string_to_metric_families(text)}
    for name in REQUIRED_METRICS:
        assert name in text, name
    assert {"bot_updates", "bot_errors", "bot_update_duration_seconds"} <= families
    assert {"type": "message"} in samples["bot_updates_total"]
    assert {"state": "idle"} in samples["bot_db_pool_connections"]
    assert {"state": "in_use"} in samples["bot_db_pool_connections"]
    assert {"state": "max"} in samples["bot_db_pool_connections"]
    assert {"reason": "missing_secret"} in samples["bot_webhook_rejected_requests_total"]
    assert any(
        labels.get("method") == "sendMessage" and labels.get("status") == "200"
        for labels in samples["bot_telegram_api_requests_total"]
    )
    (build,) = samples["bot_build_info"]
    assert build["mode"] == "webhook" and build["version"]
    buckets = [labels["le"] for labels in samples["bot_update_duration_seconds_bucket"]]
    assert "0.1" in buckets and "1.0" in buckets
    assert samples["bot_memory_usage_bytes"] == [{}]
    assert "_created" not in text
    rss = next(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "bot_memory_usage_bytes"
    )
    assert rss > 10 * 1024 * 1024


async def test_health_answers_and_ready_reports_each_check(webhook_bot, http):
    async with http.get(f"{webhook_bot.ops_url}/health") as resp:
        assert resp.status == 200
    async with http.get(f"{webhook_bot.ops_url}/ready") as resp:
        assert resp.status == 200
        report = await resp.json()
    assert report["ready"] is True
    assert report["checks"] == {"database": "ok", "redis": "ok"}


async def test_updates_of_many_trainees_at_once_are_all_answered(emulator, webhook_bot):
    trainees = [emulator.trainee(new_user_id(), f"T{i}") for i in range(20)]
    await asyncio.gather(*(t.send(COURSE_START) for t in trainees))
    for trainee in trainees:
        await trainee.next_message(15)
    await emulator.wait_until_delivered(10)


async def test_bot_api_errors_are_counted_and_logged_and_the_bot_carries_on(
    emulator, webhook_bot, caplog
):
    trainee = await enroll(emulator)
    emulator.fail_next("sendMessage", 500, times=3)
    emulator.fail_next("editMessageText", 400, "Bad Request: message to edit not found")
    await trainee.send("/progress")
    await settle(trainee, 1.5)
    await trainee.send("/help")
    assert (await trainee.next_message(15)).text
    assert (
        webhook_bot.sample("bot_telegram_api_requests_total", method="sendMessage", status="500")
        >= 1
    )
    assert any(r.levelname in {"WARNING", "ERROR"} for r in caplog.records)
    assert not webhook_bot.task.done()
