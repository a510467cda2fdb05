"""`training-bot run` as a real process: signals, exit codes, log lines, polling conflicts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import aiohttp
import asyncpg
import pytest

from tests.runtime.support import (
    REPO,
    SECRET_HEADER,
    bot_environment,
    enroll,
    new_user_id,
    settle,
)
from tests.support.processes import free_port
from tests.support.waiting import eventually

pytestmark = pytest.mark.services


class TableLock:
    """Holds `LOCK TABLE … ACCESS EXCLUSIVE` in a transaction: updates stall on it."""

    def __init__(self, database_url: str, table: str = "processed_updates") -> None:
        self.database_url = database_url
        self.table = table
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> TableLock:
        self.conn = await asyncpg.connect(self.database_url)
        await self.conn.execute("BEGIN")
        await self.conn.execute(f"LOCK TABLE {self.table} IN ACCESS EXCLUSIVE MODE")
        return self

    async def waiting(self) -> int:
        """Sessions of this database waiting for a lock (our stalled updates).

        Asked on a connection of its own: inside the locking transaction, pg_stat_activity
        would show the snapshot taken at its first use.
        """
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        finally:
            await conn.close()

    async def release(self) -> None:
        if self.conn is not None and not self.conn.is_closed():
            await self.conn.execute("ROLLBACK")
            await self.conn.close()

    async def __aexit__(self, *exc_info) -> None:
        await self.release()


def refuses_connections(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


async def status_of(http, url: str) -> int | None:
    try:
        async with http.get(url) as resp:
            return resp.status
    except aiohttp.ClientError:
        return None


@pytest.mark.parametrize("mode", ["webhook", "polling"])
async def test_sigterm_with_updates_in_flight_answers_them_all_and_exits_0(
    emulator, database_url, redis_server, bot_process, http, mode
):
    env = bot_environment(
        emulator, database_url, mode=mode, REDIS_URL=redis_server.url, SHUTDOWN_TIMEOUT="10"
    )
    bot = bot_process(env)
    await bot.wait_ready(http)
    await enroll(emulator)  # connections warm

    trainees = [emulator.trainee(new_user_id(), f"T{i}") for i in range(8)]
    async with TableLock(database_url) as lock:
        for trainee in trainees:
            await trainee.send("/help")
        await eventually(
            lambda: _equals(lock.waiting(), len(trainees)), 15, "the updates to stall on the lock"
        )
        started = time.monotonic()
        bot.signal(signal.SIGTERM)
        await eventually(
            lambda: _equals(status_of(http, f"{bot.ops_url}/ready"), 503),
            5,
            "readiness to turn false",
        )
        if mode == "webhook":
            port = int(env["WEBHOOK_PORT"])
            await eventually(lambda: refuses_connections(port), 5, "the listener to close")
        for trainee in trainees:
            await trainee.expect_no_message(0.05)
        await asyncio.sleep(1)
    # The lock is gone: the stalled updates finish, then the process exits.
    code = await bot.wait(15)
    elapsed = time.monotonic() - started
    assert code == 0, bot.text()
    assert elapsed < 10, f"shutdown took {elapsed:.1f} s"
    for trainee in trainees:
        assert (await trainee.next_message(1)).text
    assert emulator.pending_update_count == 0  # every update was acknowledged
    messages = [r["message"] for r in bot.records()]
    assert "shutdown requested (SIGTERM)" in messages
    assert any(m.startswith(f"stopping: {len(trainees)} updates in flight") for m in messages)


async def _equals(awaitable, expected) -> bool:
    return await awaitable == expected


async def test_updates_still_running_at_the_shutdown_timeout_are_fetched_again_later(
    emulator, database_url, redis_server, bot_process, http
):
    env = bot_environment(
        emulator, database_url, mode="polling", REDIS_URL=redis_server.url, SHUTDOWN_TIMEOUT="2"
    )
    bot = bot_process(env, "first")
    await bot.wait_ready(http)
    trainees = [emulator.trainee(new_user_id(), f"T{i}") for i in range(3)]
    async with TableLock(database_url) as lock:
        for trainee in trainees:
            await trainee.send("/help")
        await eventually(lambda: _equals(lock.waiting(), len(trainees)), 15, "stalled updates")
        started = time.monotonic()
        bot.signal(signal.SIGTERM)
        code = await bot.wait(15)
        assert code == 0, bot.text()
        assert time.monotonic() - started < 8
        assert emulator.pending_update_count == len(trainees)  # none was confirmed
    successor = bot_process(
        bot_environment(emulator, database_url, mode="polling", REDIS_URL=redis_server.url),
        "successor",
    )
    await successor.wait_ready(http)
    for trainee in trainees:
        assert (await trainee.next_message(20)).text
        await trainee.expect_no_message(0.3)
    await emulator.wait_until_delivered(20)


async def test_a_second_poller_on_the_token_is_reported_once_and_not_fought(
    emulator, database_url, redis_server, bot_process, http
):
    bot = bot_process(
        bot_environment(emulator, database_url, mode="polling", REDIS_URL=redis_server.url)
    )
    await bot.wait_ready(http)
    rival = asyncio.ensure_future(_poll_forever(http, emulator))
    try:
        await eventually(lambda: _conflict_lines(bot), 15, "the conflict to be reported")
        status, report = await _readiness(http, bot.ops_url)
        assert status == 503
        assert "another instance polls this token" in report["checks"]["telegram"]
        await asyncio.sleep(12)  # the bot probes again at 5 s and 15 s: still one line
        assert len(_conflict_lines(bot)) == 1
        assert bot.proc.poll() is None
    finally:
        rival.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rival
    bot.signal(signal.SIGTERM)
    assert await bot.wait(20) == 0


def _conflict_lines(bot) -> list[dict]:
    return [
        r
        for r in bot.records()
        if r["level"] == "ERROR" and "another instance polls this token" in r["message"]
    ]


async def _readiness(http, ops_url: str) -> tuple[int, dict]:
    async with http.get(f"{ops_url}/ready") as resp:
        return resp.status, await resp.json()


async def _poll_forever(http, emulator) -> None:
    """Another process polling the same token, as a forgotten local run would."""
    url = f"{emulator.base_url}/bot{emulator.token}/getUpdates"
    while True:
        with contextlib.suppress(aiohttp.ClientError):
            async with http.post(url, json={"timeout": 3, "limit": 1}) as resp:
                await resp.read()
        await asyncio.sleep(0.05)


async def test_polling_resumes_by_itself_when_the_other_poller_is_gone(
    emulator, database_url, redis_server, start_bot, http
):
    env = bot_environment(emulator, database_url, mode="polling", REDIS_URL=redis_server.url)
    bot = await start_bot(env, poller_options={"conflict_clear_after": 1.0, "poll_timeout": 1})
    rival = asyncio.ensure_future(_poll_forever(http, emulator))
    try:
        await eventually(lambda: bot.runtime.poller.in_conflict, 15, "the conflict")
        assert (await _readiness(http, bot.ops_url))[0] == 503
    finally:
        rival.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await rival
    await eventually(lambda: not bot.runtime.poller.in_conflict, 30, "the conflict to clear")
    assert (await _readiness(http, bot.ops_url))[0] == 200
    await enroll(emulator)


async def test_secrets_never_reach_the_logs_the_metrics_or_readiness(
    emulator, postgres_server, database_url, sentinel_group, bot_process, http
):
    env = bot_environment(emulator, database_url, redis=sentinel_group.env(), LOG_LEVEL="DEBUG")
    secrets = {
        "token": env["BOT_TOKEN"],
        "token secret part": env["BOT_TOKEN"].split(":", 1)[1],
        "webhook secret": env["WEBHOOK_SECRET"],
        "database password": postgres_server.password,
        "redis password": sentinel_group.password,
        "sentinel password": sentinel_group.sentinel_password,
    }
    bot = bot_process(env)
    await bot.wait_ready(http)
    trainee = await enroll(emulator)
    # Things that log: a refused webhook request, a handler whose reply Telegram refuses,
    # Bot API errors, a 429.
    async with http.post(
        bot.webhook_url, json={"update_id": 1}, headers={SECRET_HEADER: "guess"}
    ) as resp:
        assert resp.status == 403
    emulator.fail_next("sendMessage", 400, "Bad Request: chat not found")
    await trainee.send("/help")
    await settle(trainee, 1.0)
    emulator.fail_next("sendMessage", 500, times=2)
    await trainee.send("/progress")
    await settle(trainee, 1.0)
    emulator.fail_next("sendMessage", 429, retry_after=1)
    await trainee.send("/help")
    await settle(trainee, 2.0)
    async with http.get(f"{bot.ops_url}/metrics") as resp:
        metrics_text = await resp.text()
    async with http.get(f"{bot.ops_url}/ready") as resp:
        ready_text = await resp.text()
    bot.signal(signal.SIGTERM)
    assert await bot.wait(20) == 0

    # A Bot API behind a broken proxy: aiohttp puts the request URL, token and all, into
    # its exception, and the bot logs it at every retry.
    garbage = await asyncio.start_server(_answer_garbage, "127.0.0.1", 0)
    try:
        port = garbage.sockets[0].getsockname()[1]
        broken = bot_process(
            {
                **env,
                "BOT_MODE": "polling",
                "HTTP_PORT": str(free_port()),
                "BOT_API_BASE_URL": f"http://127.0.0.1:{port}",
            },
            "broken",
        )
        await eventually(lambda: "url=" in broken.text(), 20, "a failed Bot API call")
        broken.signal(signal.SIGTERM)
        assert await broken.wait(20) == 0
    finally:
        garbage.close()

    logs = bot.text() + broken.text()
    assert bot.records() and broken.records()  # every line is JSON
    for what, value in secrets.items():
        assert value not in logs, f"the {what} is in the log"
        assert value not in metrics_text, f"the {what} is in /metrics"
        assert value not in ready_text, f"the {what} is in /ready"
    assert "/bot***/" in broken.text()  # the URL was logged, scrubbed
    levels = {r["level"] for r in bot.records()}
    assert {"DEBUG", "INFO", "WARNING", "ERROR"} <= levels
    update_lines = [r for r in bot.records() if r["message"] == "update processed"]
    assert update_lines and all("update_id" in r and "chat_id" in r for r in update_lines)
    assert any(r.get("handler", "").startswith("start.") for r in update_lines)
    # start-up objects are kept out of full garbage collections (see docs/PERFORMANCE.md)
    assert any(r["message"].startswith("froze ") for r in bot.records())


async def _answer_garbage(reader, writer) -> None:
    with contextlib.suppress(Exception):
        await reader.read(65536)
        writer.write(b"garbage\r\n\r\n")
        await writer.drain()
    writer.close()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DB_POOL_MAX_SIZE": "many"}, ("BOT_TOKEN", "DB_POOL_MAX_SIZE")),
        ({"BOT_TOKEN": "123:abc", "BOT_MODE": "webhook"}, ("WEBHOOK_URL", "WEBHOOK_SECRET")),
    ],
)
async def test_invalid_configuration_exits_2_with_one_clear_message(bot_process, env, named):
    bot = bot_process({"DATABASE_URL": "postgresql://bot:hunter2-pw@127.0.0.1:1/bot", **env})
    assert await bot.wait(30) == 2
    text = bot.text()
    assert text.startswith("training-bot run: invalid configuration")
    for variable in named:
        assert variable in text
    assert "hunter2-pw" not in text
    assert "Traceback" not in text


async def test_a_token_the_bot_api_refuses_exits_2(emulator, database_url, bot_process, http):
    env = bot_environment(emulator, database_url, BOT_TOKEN="111111:wrong-token-for-this-api")
    bot = bot_process(env)
    assert await bot.wait(60) == 2
    (line,) = [r for r in bot.records() if "refused setWebhook" in r["message"]]
    assert "BOT_TOKEN" in line["message"] and "wrong-token" not in bot.text()


async def test_invalid_course_content_exits_2_naming_the_problem(
    emulator, database_url, bot_process, tmp_path
):
    content = tmp_path / "content" / "broken"
    content.mkdir(parents=True)
    (content / "course.yaml").write_text("id: broken\ntitle: [unclosed\n")
    env = bot_environment(emulator, database_url, CONTENT_DIR=str(tmp_path / "content"))
    bot = bot_process(env)
    assert await bot.wait(60) == 2
    (line,) = [r for r in bot.records() if r["level"] == "ERROR"]
    assert "course.yaml" in line["message"]


async def test_the_database_unreachable_at_start_keeps_the_process_up_and_not_ready(
    emulator, bot_process, http
):
    dead = f"postgresql://bot:pw@127.0.0.1:{free_port()}/bot"
    bot = bot_process(bot_environment(emulator, dead))
    status = await eventually(
        lambda: status_of(http, f"{bot.ops_url}/ready"), 30, "the operations port"
    )
    assert status == 503
    assert await status_of(http, f"{bot.ops_url}/health") == 200
    assert bot.proc.poll() is None
    bot.signal(signal.SIGTERM)
    assert await bot.wait(20) == 0


# -- the smoke command against a running bot ----------------------------------------------


async def smoke(*args: str) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "trainingbot", "smoke", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_smoke_command_passes_against_a_healthy_bot_and_fails_otherwise(
    emulator, database_url, redis_server, start_bot, postgres_server
):
    bot = await start_bot(bot_environment(emulator, database_url, REDIS_URL=redis_server.url))
    target = ["--target", bot.ops_url, "--webhook-url", bot.webhook_url]
    result = await smoke(*target, "--webhook-secret", bot.secret)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in ("health", "ready", "metrics", "webhook"):
        assert any(line.startswith(f"PASS {name} 200 in ") for line in lines), lines

    wrong = await smoke(*target, "--webhook-secret", "not-the-secret")
    assert wrong.returncode == 1
    assert any(line.startswith("FAIL webhook 403") for line in wrong.stdout.splitlines())

    unmigrated = postgres_server.create_database()
    behind = await start_bot(bot_environment(emulator, unmigrated, REDIS_URL=redis_server.url))
    result = await smoke("--target", behind.ops_url)
    assert result.returncode == 1
    (ready_line,) = [ln for ln in result.stdout.splitlines() if " ready " in ln]
    assert ready_line.startswith("FAIL ready 503") and "database" in ready_line
    assert "SKIP webhook" in result.stdout

    nothing = await smoke("--target", f"http://127.0.0.1:{free_port()}", "--timeout", "2")
    assert nothing.returncode == 1
    assert "FAIL health no answer" in nothing.stdout


async def test_the_runbooks_pytest_smoke_suite_checks_a_named_target(
    emulator, database_url, redis_server, start_bot
):
    bot = await start_bot(bot_environment(emulator, database_url, REDIS_URL=redis_server.url))
    env = {
        **os.environ,
        "SMOKE_PRODUCTION_URL": bot.ops_url,
        "SMOKE_PRODUCTION_WEBHOOK_URL": bot.webhook_url,
        "SMOKE_PRODUCTION_WEBHOOK_SECRET": bot.secret,
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/smoke/",
        "--target=production",
        "-p",
        "no:cacheprovider",
        "-q",
        "-rA",
    ]
    result = await asyncio.to_thread(
        subprocess.run, command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout

    # A target without a webhook secret (a polling bot, say) has no webhook check: the summary
    # says so, and nothing is reported as skipped.
    without_secret = {k: v for k, v in env.items() if not k.endswith("WEBHOOK_SECRET")}
    result = await asyncio.to_thread(
        subprocess.run,
        command,
        cwd=REPO,
        env=without_secret,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed, 1 deselected" in result.stdout
    assert "the webhook check was not run" in result.stdout

    env["SMOKE_PRODUCTION_URL"] = f"http://127.0.0.1:{free_port()}"
    result = await asyncio.to_thread(
        subprocess.run, command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "FAIL health no answer" in result.stdout
