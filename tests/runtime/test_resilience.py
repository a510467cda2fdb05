"""Dependencies going away and coming back: PostgreSQL stopped and restarted, a Redis master
killed under Sentinel, the same update given to two bot processes at once."""

from __future__ import annotations

import asyncio

import pytest

from trainingbot.db import migrate

from tests.runtime.support import (
    COURSE_START,
    SECRET_HEADER,
    advance,
    bot_environment,
    enroll,
    fetchval,
    new_user_id,
    settle,
)
from tests.runtime.test_webhook import message_update
from tests.support.services import PostgresServer
from tests.support.waiting import eventually

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def own_postgres():
    """A PostgreSQL these tests may stop and restart without disturbing other tests."""
    server = PostgresServer().init().start()
    template = "rt_resilience_template"
    migrate.upgrade(server.create_database(template))
    server.template = template
    yield server
    server.destroy()


async def readiness(http, bot) -> tuple[int, dict]:
    async with http.get(f"{bot.ops_url}/ready") as resp:
        return resp.status, await resp.json()


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_database_down_then_back_loses_no_update_and_applies_each_once(
    emulator, own_postgres, redis_server, start_bot, http, mode
):
    database_url = own_postgres.create_database(template=own_postgres.template)
    bot = await start_bot(
        bot_environment(emulator, database_url, mode=mode, REDIS_URL=redis_server.url)
    )
    trainees = [await enroll(emulator) for _ in range(3)]

    await asyncio.to_thread(own_postgres.stop, "fast")
    try:
        status, report = await eventually(
            lambda: _not_ready(http, bot), what="readiness to turn false"
        )
        assert status == 503 and report["checks"]["database"] != "ok"
        assert report["checks"]["redis"] == "ok"

        sent = [await trainee.send("/progress") for trainee in trainees]
        if mode == "webhook":  # Telegram is told to come back later, and does
            await eventually(
                lambda: "503" in (emulator.webhook_last_error or ""),
                what="the webhook to answer 503",
            )
        else:  # the poller keeps the offset at the first update it could not record
            await eventually(
                lambda: (
                    bot.runtime.poller.offset is not None and bot.runtime.poller.offset <= min(sent)
                ),
                what="the poller to hold its offset",
            )
        await asyncio.sleep(1)
        assert emulator.pending_update_count >= len(sent)
        for trainee in trainees:
            await trainee.expect_no_message(0.1)
    finally:
        await asyncio.to_thread(own_postgres.start)

    for trainee in trainees:  # each gets its answer, once
        reply = await trainee.next_message(30)
        assert reply.text
        await trainee.expect_no_message(0.5)
    await emulator.wait_until_delivered(30)
    for update_id in sent:
        assert (
            await fetchval(
                database_url,
                "SELECT count(*) FROM processed_updates WHERE update_id = $1",
                update_id,
            )
            == 1
        )
    await eventually(lambda: _ready(http, bot), what="readiness to turn true again")


async def _not_ready(http, bot):
    status, report = await readiness(http, bot)
    return (status, report) if status == 503 else None


async def _ready(http, bot):
    status, _ = await readiness(http, bot)
    return status == 200


async def test_a_postgres_restart_under_traffic_turns_readiness_false_then_true(
    emulator, own_postgres, redis_server, start_bot, http
):
    database_url = own_postgres.create_database(template=own_postgres.template)
    bot = await start_bot(bot_environment(emulator, database_url, REDIS_URL=redis_server.url))
    trainees = [await enroll(emulator) for _ in range(5)]
    seen_unready = asyncio.Event()

    async def watch_readiness():
        while True:
            status, _ = await readiness(http, bot)
            if status == 503:
                seen_unready.set()
            await asyncio.sleep(0.05)

    async def chat(trainee, rounds=6):
        for _ in range(rounds):
            await trainee.send("/progress")
            await trainee.next_message(30)
            await settle(trainee, 0.1)

    watcher = asyncio.ensure_future(watch_readiness())
    chatting = asyncio.ensure_future(asyncio.gather(*(chat(t) for t in trainees)))
    try:
        await asyncio.sleep(0.3)
        # `immediate`: a crash, connections cut without notice; then the same data comes back.
        await asyncio.to_thread(own_postgres.stop, "immediate")
        await eventually(seen_unready.is_set, what="readiness to turn false")
        await asyncio.to_thread(own_postgres.start)
        await asyncio.wait_for(chatting, 60)
        await eventually(lambda: _ready(http, bot), what="readiness to turn true again")
    finally:
        watcher.cancel()
        chatting.cancel()
    await emulator.wait_until_delivered(30)
    assert bot.sample("bot_errors_total", type="database_unavailable") >= 1


async def test_redis_master_failover_mid_conversation_the_bot_carries_on(
    emulator, database_url, sentinel_group, start_bot, http
):
    bot = await start_bot(bot_environment(emulator, database_url, redis=sentinel_group.env()))
    trainee = await enroll(emulator)
    await advance(trainee)  # into the lesson's quiz: conversation state lives in Redis now

    # The answer arrives while the master is dead and not yet replaced (Sentinel takes about
    # 2 s to promote the replica). "Within seconds" is the wait below: Telegram's clients give
    # up on a button after about 15 s, so the answer must come before that.
    failover = asyncio.ensure_future(asyncio.to_thread(sentinel_group.kill_master))
    await asyncio.sleep(0.3)
    reply = await advance(trainee, within=15)
    await failover
    assert reply.text or reply.poll
    for _ in range(4):
        await advance(trainee)
    await eventually(lambda: _ready(http, bot), what="readiness with the new master")
    _, report = await readiness(http, bot)
    assert report["checks"]["redis"] == "ok"


async def test_the_same_update_given_to_two_bot_processes_takes_effect_once(
    emulator, database_url, redis_server, bot_process, http
):
    env = bot_environment(emulator, database_url, REDIS_URL=redis_server.url, LOG_LEVEL="INFO")
    first = bot_process(env, "first")
    second_env = bot_environment(emulator, database_url, REDIS_URL=redis_server.url)
    second_env["WEBHOOK_SECRET"] = env["WEBHOOK_SECRET"]
    second = bot_process(second_env, "second")
    for process in (first, second):
        await process.wait_ready(http)

    users = [new_user_id() for _ in range(15)]
    for user_id in users:
        emulator.trainee(user_id, "Twin")
    updates = [
        message_update(880_000 + n, user_id, COURSE_START) for n, user_id in enumerate(users)
    ]
    headers = {SECRET_HEADER: env["WEBHOOK_SECRET"]}

    async def deliver(process, update):
        async with http.post(process.webhook_url, json=update, headers=headers) as resp:
            return resp.status

    statuses = await asyncio.gather(*(deliver(p, u) for u in updates for p in (first, second)))
    assert statuses == [200] * len(statuses)

    duplicates = 0
    for process in (first, second):
        async with http.get(f"{process.ops_url}/metrics") as resp:
            for line in (await resp.text()).splitlines():
                if line.startswith("bot_duplicate_updates_total "):
                    duplicates += float(line.split()[1])
    assert duplicates == len(updates)
    for n, user_id in enumerate(users):
        assert (
            await fetchval(
                database_url,
                "SELECT count(*) FROM processed_updates WHERE update_id = $1",
                880_000 + n,
            )
            == 1
        )
        assert (
            await fetchval(
                database_url, "SELECT count(*) FROM enrollments WHERE user_id = $1", user_id
            )
            == 1
        )
    # Each trainee got the answer of one delivery: as many messages as a single delivery
    # gives (the first trainee, delivered to one process only, is the yardstick).
    control = emulator.trainee(new_user_id(), "Control")
    async with http.post(
        first.webhook_url,
        json=message_update(889_999, control.user_id, COURSE_START),
        headers=headers,
    ) as resp:
        assert resp.status == 200
    expected = len(await settle(control, 0.5))
    for user_id in users:
        assert len(emulator.trainee(user_id).messages) == expected


async def test_run_polling_serves_a_bot_app_for_the_duration_of_a_block(
    emulator, database_url, redis_server
):
    from trainingbot.runtime.polling import run_polling

    from tests.runtime.support import bot_environment as environment
    from tests.runtime.support import fast_app, settings_from

    settings = settings_from(
        environment(emulator, database_url, mode="polling", REDIS_URL=redis_server.url)
    )
    app = await fast_app(settings, None)
    try:
        async with run_polling(app, poll_timeout=1) as poller:
            trainee = await enroll(emulator)
            assert trainee.messages
        assert poller.offset is not None
        assert emulator.pending_update_count == 0
    finally:
        await app.close()


async def test_the_database_gauge_follows_the_readiness_check(
    emulator, own_postgres, redis_server, start_bot, http
):
    database_url = own_postgres.create_database(template=own_postgres.template)
    bot = await start_bot(bot_environment(emulator, database_url, REDIS_URL=redis_server.url))
    await eventually(lambda: _ready(http, bot), what="readiness")
    assert bot.metrics.registry.get_sample_value("bot_database_connected") == 1

    await asyncio.to_thread(own_postgres.stop, "fast")
    try:
        _, report = await eventually(lambda: _not_ready(http, bot), what="readiness to turn false")
        assert report["checks"]["database"] != "ok"
        assert bot.metrics.registry.get_sample_value("bot_database_connected") == 0
        assert bot.metrics.registry.get_sample_value("bot_redis_connected") == 1
    finally:
        await asyncio.to_thread(own_postgres.start)

    # A scrape evaluates readiness itself: the gauge is right without any prober calling /ready.
    async def connected_as_scraped():
        return await _exported(http, bot, "bot_database_connected") == 1

    await eventually(connected_as_scraped, what="the scraped gauge to turn 1 again")
    assert (await readiness(http, bot))[0] == 200


async def _exported(http, bot, name: str) -> float:
    """The value of an unlabelled series as Prometheus scrapes it from /metrics."""
    async with http.get(f"{bot.ops_url}/metrics") as resp:
        text = await resp.text()
    values = [float(line.split()[1]) for line in text.splitlines() if line.split(" ")[0] == name]
    assert len(values) == 1, f"{name} exported {len(values)} times"
    return values[0]
