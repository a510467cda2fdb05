"""`pytest tests/smoke/ --target=URL|NAME`: the smoke checks of `training-bot smoke` as tests.

`--target` is the bot's operations URL (http://localhost:8080) or a name resolved like
`training-bot smoke` does (`SMOKE_<NAME>_URL`, ...: see `trainingbot.smoke`); with
`--webhook-secret` (or `SMOKE_WEBHOOK_SECRET`) one synthetic update goes through the webhook.

Without `--target` (as in `make test`) the suite starts a bot of its own in webhook mode, on
the test session's PostgreSQL and Redis and the local Bot API emulator, and checks that one:
the suite is never skipped, it always checks a real bot.

pytest reads `pytest_addoption` from this file when `tests/smoke` is on the command line (the
runbook's `pytest tests/smoke/ --target=production`) or when the whole `tests` tree is
collected.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from trainingbot.db import migrate
from trainingbot.emulator import BotApiEmulator
from trainingbot.smoke import Target, resolve_target

from tests.runtime.support import RunningBot, bot_environment
from tests.support.waiting import eventually

HERE = Path(__file__).parent


def pytest_addoption(parser):
    group = parser.getgroup("smoke", "smoke checks against a running bot (tests/smoke)")
    group.addoption(
        "--target",
        default=None,
        help="the bot's operations URL or a target name (production, staging); "
        "default: start a local bot",
    )
    group.addoption(
        "--webhook-url",
        default=None,
        help="the bot's webhook (default: the target's host, port 8081)",
    )
    group.addoption(
        "--webhook-secret",
        default=None,
        help="WEBHOOK_SECRET of the target, to send one synthetic update",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_webhook_secret: sends an update through the target's webhook"
    )


def _target(config) -> Target | None:
    """The target of `--target`, or None: the suite starts a local bot (which has a secret)."""
    target = config.getoption("target", default=None)
    if target is None:
        return None
    return resolve_target(
        target,
        config.getoption("webhook_url", default=None),
        config.getoption("webhook_secret", default=None),
    )


_LEFT_OUT = pytest.StashKey[int]()  # how many tests the target left out


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Without --target the suite needs the services it starts: mark it so. A target given
    without a webhook secret (a polling bot, or a run without it) has no webhook check: that
    test is left out, and the summary says why."""
    ours = [item for item in items if HERE in Path(item.path).parents]
    target = _target(config)
    if target is None:
        for item in ours:
            item.add_marker(pytest.mark.services)
        return
    if target.webhook_secret:
        return
    left_out = [item for item in ours if item.get_closest_marker("needs_webhook_secret")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
        config.stash[_LEFT_OUT] = len(left_out)


def pytest_terminal_summary(terminalreporter, config):
    if config.stash.get(_LEFT_OUT, 0):
        terminalreporter.write_line(
            "smoke: the webhook check was not run: give --webhook-secret (or "
            "SMOKE_WEBHOOK_SECRET) to send one synthetic update through the webhook"
        )


@pytest.fixture(scope="module")
async def smoke_target(pytestconfig, request) -> Target:
    target = _target(pytestconfig)
    if target is not None:
        yield target
        return
    postgres = request.getfixturevalue("postgres_server")
    redis = request.getfixturevalue("redis_server")
    database_url = postgres.create_database()
    await asyncio.to_thread(migrate.upgrade, database_url)
    async with BotApiEmulator("555000111:AAsmoke-suite-local-bot-token-0000") as emulator:
        env = bot_environment(emulator, database_url, REDIS_URL=redis.url)
        bot = await RunningBot.start(env)
        try:
            await eventually(lambda: emulator.webhook_url == bot.webhook_url, what="setWebhook")
            yield Target("local", bot.ops_url, bot.webhook_url, bot.secret)
        finally:
            await bot.stop()
