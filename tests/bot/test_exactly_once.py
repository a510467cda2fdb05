"""Each update's effects happen once: duplicates are skipped, failures roll back, and an
update that cannot be recorded is refused so that Telegram delivers it again."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiogram.types import Update

from trainingbot.db import UpdateNotRecorded
from trainingbot.emulator import BotApiEmulator
from trainingbot.factory import DependencyNotReady, create_app
from trainingbot.metrics import BotMetrics

from tests.bot.conftest import TOKEN, bot_settings, next_containing
from tests.bot.driving import lesson_shown
from tests.support.processes import free_port

pytestmark = pytest.mark.services

COURSE = "on-call-101"


async def test_an_update_delivered_twice_is_processed_once(harness):
    ada = harness.trainee()
    update_id = await ada.send(f"/start course_{COURSE}")
    await next_containing(ada, "You're enrolled")
    await lesson_shown(ada, harness.app.catalog.course(COURSE).lessons[0])
    before = await harness.counts()

    await harness.emulator.redeliver(update_id)
    await ada.expect_no_message(0.5)
    await harness.settle()
    assert harness.metric("bot_duplicate_updates_total") == 1
    assert await harness.counts() == before
    assert harness.metric("bot_enrollments_total", course=COURSE) == 1
    assert (
        await harness.fetchval(
            "SELECT count(*) FROM processed_updates WHERE update_id = $1", update_id
        )
        == 1
    )


async def test_two_replicas_given_the_same_update_process_it_once(database_url, redis_server):
    """Both feed the update at the same moment; the second insert of its id waits for the
    first transaction and then sees the conflict."""
    async with BotApiEmulator(token=TOKEN) as emulator:
        settings = bot_settings(
            emulator.base_url, database_url, redis={"REDIS_URL": redis_server.url}
        )
        replicas = [await create_app(settings, metrics=BotMetrics()) for _ in range(2)]
        try:
            ada = emulator.trainee(4_242_000, "Ada")
            update = Update.model_validate(
                {
                    "update_id": 777_000_001,
                    "message": {
                        "message_id": 1,
                        "date": 0,
                        "text": f"/start course_{COURSE}",
                        "chat": {"id": ada.user_id, "type": "private"},
                        "from": ada.user,
                        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                    },
                }
            )
            await asyncio.gather(*(app.dispatcher.feed_update(app.bot, update) for app in replicas))
            duplicates = [
                app.metrics.registry.get_sample_value("bot_duplicate_updates_total")
                for app in replicas
            ]
            assert sorted(duplicates) == [0, 1]
            async with replicas[0].pool.acquire() as conn:
                assert await conn.fetchval("SELECT count(*) FROM enrollments") == 1
            enrolled = [m for m in ada.messages if "You're enrolled" in m.text]
            assert len(enrolled) == 1
        finally:
            for app in replicas:
                await app.close()


async def test_a_failing_handler_rolls_back_apologizes_and_counts(harness, caplog):
    ada = harness.trainee()
    # The bot enrolls Ada, then Telegram refuses its first message: the handler fails.
    harness.emulator.fail_next("sendMessage", 400, "Bad Request: chat not found")
    with caplog.at_level(logging.ERROR, logger="trainingbot.middlewares.records"):
        update_id = await ada.send(f"/start course_{COURSE}")
        apology = await next_containing(ada, "Sorry, something went wrong")
    assert "try again" in apology.text
    await harness.settle()
    assert harness.metric("bot_errors_total", type="TelegramBadRequest") == 1
    assert (await harness.counts())["enrollments"] == 0  # rolled back with the failure
    assert any(getattr(r, "update_id", None) == update_id for r in caplog.records)

    # The bot keeps going: the trainee simply tries again.
    await ada.send(f"/start course_{COURSE}")
    await next_containing(ada, "You're enrolled")
    assert (await harness.counts())["enrollments"] == 1


async def test_without_a_database_updates_are_refused_not_lost(tmp_path):
    """The app starts while PostgreSQL is down; updates raise UpdateNotRecorded, which
    makes the webhook answer 503 and the polling loop leave them unconfirmed."""
    down = f"postgresql://bot:pw@127.0.0.1:{free_port()}/bot"
    async with BotApiEmulator(token=TOKEN) as emulator:
        app = await create_app(bot_settings(emulator.base_url, down))
        try:
            with pytest.raises(DependencyNotReady, match="database unreachable"):
                await app.check_database()
            ada = emulator.trainee(5_000_001, "Ada")
            update = Update.model_validate(
                {
                    "update_id": 1,
                    "message": {
                        "message_id": 1,
                        "date": 0,
                        "text": "/help",
                        "chat": {"id": ada.user_id, "type": "private"},
                        "from": ada.user,
                    },
                }
            )
            with pytest.raises(UpdateNotRecorded):
                await app.dispatcher.feed_update(app.bot, update)
            assert ada.messages == []
            assert (
                app.metrics.registry.get_sample_value(
                    "bot_errors_total", {"type": "database_unavailable"}
                )
                == 1
            )
        finally:
            await app.close()
            await app.close()  # idempotent


async def test_readiness_names_both_revisions_when_not_migrated(postgres_server):
    empty = postgres_server.create_database()
    async with BotApiEmulator(token=TOKEN) as emulator:
        app = await create_app(bot_settings(emulator.base_url, empty))
        try:
            with pytest.raises(DependencyNotReady) as not_ready:
                await app.check_database()
            assert "no revision" in str(not_ready.value) and "0001" in str(not_ready.value)
            await app.check_redis()  # in-memory state: nothing to check
        finally:
            await app.close()


async def test_ready_on_a_newer_schema_not_on_an_unmigrated_one(harness):
    """After a rollback the older release serves on the schema the newer one migrated to
    (migrations expand first); a database never migrated is a reason not to serve (a schema
    behind this build, too: see test_migrate_messages)."""
    await harness.fetchval("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    await harness.app.check_database()

    await harness.fetchval("DELETE FROM alembic_version")
    with pytest.raises(DependencyNotReady, match="no revision"):
        await harness.app.check_database()


async def test_ready_and_purge(harness):
    await harness.app.check_database()
    await harness.app.check_redis()
    ada = harness.trainee()
    await ada.send("/help")
    await next_containing(ada, "How this works")
    await harness.settle()
    from datetime import timedelta

    assert await harness.app.purge_processed_updates(timedelta(hours=48)) == 0
    assert await harness.app.purge_processed_updates(timedelta(0)) >= 1
