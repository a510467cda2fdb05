"""Helpers of the runtime's tests (fixtures: conftest.py): the bot run as `training-bot run`
in this process or as a real process, against the local Bot API emulator, real PostgreSQL and
real Redis.

- `RunningBot` runs `trainingbot.runtime.app.Runtime` in the test's event loop: the same code
  as the process, minus signals; fast, and its metrics are readable directly.
- `BotProcess` runs `python -m trainingbot run` with an environment, its JSON log lines on
  stderr collected in a file: for what is about the process (signals, exit codes, logs).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from trainingbot.config import (
    DatabaseSettings,
    RedisSettings,
    ServiceSettings,
    Settings,
    TelegramSettings,
)
from trainingbot.content import SAMPLE_CONTENT_DIR
from trainingbot.emulator import BotApiEmulator
from trainingbot.factory import create_app
from trainingbot.metrics import BotMetrics
from trainingbot.ratelimit import Rate, RateLimits
from trainingbot.runtime.app import Runtime

from tests.support.logs import parse_json_lines
from tests.support.processes import free_port, spawn, stop_process
from tests.support.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
TOKEN = "777000111:AAruntime-tests-token-runtime-tests-tok"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
COURSE_START = "/start course_on-call-101"

# The trainees of these tests answer as fast as the bot does; Telegram's pacing (1 message a
# second per chat) has tests of its own in tests/bot.
FAST_LIMITS = RateLimits(overall=Rate(1000, burst=1000), private_chat=Rate(1000, burst=1000))


async def fetchval(database_url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def bot_environment(
    emulator: BotApiEmulator,
    database_url: str,
    *,
    mode: str = "webhook",
    redis: dict[str, str] | None = None,
    **extra: str,
) -> dict[str, str]:
    """The bot's environment variables (DESIGN.md) for a run against `emulator`."""
    http_port, webhook_port = free_port(), free_port()
    env = {
        "BOT_TOKEN": emulator.token,
        "BOT_MODE": mode,
        "BOT_API_BASE_URL": emulator.base_url,
        "HTTP_PORT": str(http_port),
        "WEBHOOK_PORT": str(webhook_port),
        "WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}{WEBHOOK_PATH}",
        "WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "DATABASE_URL": database_url,
        "DB_POOL_MIN_SIZE": "1",
        "DB_POOL_MAX_SIZE": "20",
        "CONTENT_DIR": str(SAMPLE_CONTENT_DIR),
        "LOG_FORMAT": "json",
        "SHUTDOWN_TIMEOUT": "10",
    }
    env.update(redis or {})
    env.update(extra)
    return env


def settings_from(env: dict[str, str]) -> Settings:
    """`Settings` from an environment dict, without touching `os.environ`."""

    def section(cls):
        keys = {f.validation_alias for f in cls.model_fields.values()}
        return cls(**{k: v for k, v in env.items() if k in keys})

    return Settings(
        telegram=section(TelegramSettings),
        database=section(DatabaseSettings),
        redis=section(RedisSettings),
        service=section(ServiceSettings),
    )


async def fast_app(settings: Settings, metrics: BotMetrics):
    return await create_app(settings, metrics=metrics, rate_limits=FAST_LIMITS)


class BotAddresses:
    """Where a bot started from a `bot_environment` answers."""

    env: dict[str, str]

    @property
    def ops_url(self) -> str:
        return f"http://127.0.0.1:{self.env['HTTP_PORT']}"

    @property
    def webhook_url(self) -> str:
        return self.env["WEBHOOK_URL"]

    @property
    def secret(self) -> str:
        return self.env["WEBHOOK_SECRET"]


@dataclass
class RunningBot(BotAddresses):
    """`Runtime` as a task of the test's loop; `stop()` is SIGTERM without the signal."""

    env: dict[str, str]
    runtime: Runtime
    task: asyncio.Task[int] | None = None

    @classmethod
    async def start(cls, env: dict[str, str], **runtime_options: Any) -> RunningBot:
        runtime = Runtime(
            settings_from(env),
            install_signal_handlers=False,
            host="127.0.0.1",
            app_factory=fast_app,
            freeze_startup=False,
            **runtime_options,
        )
        bot = cls(env, runtime)
        bot.task = asyncio.ensure_future(runtime.run())
        started = asyncio.ensure_future(runtime.started.wait())
        await asyncio.wait({bot.task, started}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        if bot.task.done():
            raise RuntimeError(f"the bot stopped at start with exit code {bot.task.result()}")
        if not started.done():
            started.cancel()
            raise TimeoutError("the bot did not start within 60 s")
        return bot

    @property
    def metrics(self) -> BotMetrics:
        return self.runtime.metrics

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0

    async def stop(self) -> int:
        self.runtime.request_stop("test")
        return await asyncio.wait_for(self.task, 30)


@dataclass
class BotProcess(BotAddresses):
    """`python -m trainingbot run` with `env`; stderr (the JSON log) goes to `log_path`."""

    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen
    argv: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, env: dict[str, str], log_path: Path, argv: list[str] | None = None):
        argv = argv or [sys.executable, "-m", "trainingbot", "run"]
        full_env = {k: v for k, v in os.environ.items() if k not in _BOT_VARIABLES}
        full_env.update(env)
        return cls(env, log_path, spawn(argv, log_path, full_env, REPO), argv)

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def records(self) -> list[dict[str, Any]]:
        """Every log line, parsed; a line that is not JSON fails the test."""
        return parse_json_lines(self.text())

    async def ready(self, http: aiohttp.ClientSession) -> bool:
        try:
            async with http.get(f"{self.ops_url}/ready") as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    async def wait_ready(self, http: aiohttp.ClientSession, within: float = 60) -> None:
        async def check() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"the bot exited with {self.proc.returncode}:\n{self.text()}")
            return await self.ready(http)

        await eventually(check, within, "the bot process to be ready")

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    async def wait(self, within: float) -> int:
        return await asyncio.to_thread(self.proc.wait, within)

    def kill(self) -> None:
        stop_process(self.proc, timeout=5, sig=signal.SIGKILL)


_BOT_VARIABLES = {
    "BOT_TOKEN",
    "BOT_MODE",
    "BOT_API_BASE_URL",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "WEBHOOK_PORT",
    "HTTP_PORT",
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_SENTINELS",
    "REDIS_MASTER_NAME",
    "REDIS_PASSWORD",
    "REDIS_SENTINEL_PASSWORD",
    "CONTENT_DIR",
    "ADMIN_IDS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "SHUTDOWN_TIMEOUT",
}


_user_ids = iter(range(5_000_000 + secrets.randbelow(1000) * 1000, 10**10))


def new_user_id() -> int:
    return next(_user_ids)


async def enroll(emulator: BotApiEmulator, user_id: int | None = None):
    """A trainee who enrolled in the sample course and read what the bot sent."""
    trainee = emulator.trainee(user_id or new_user_id(), "Ada")
    await trainee.send(COURSE_START)
    await trainee.next_message(15)
    await settle(trainee)
    return trainee


async def settle(trainee, quiet: float = 0.3) -> list:
    """Read the rest of a reply: messages until none comes for `quiet` seconds."""
    messages = []
    while True:
        try:
            messages.append(await trainee.next_message(quiet))
        except TimeoutError:
            return messages


NAVIGATION = {
    "Next ▶",
    "Quiz ▶",
    "Finish ✓",
    "◀ Back",
    "Enroll ✍️",
    "Continue ▶",
    "Start over ↺",
    "« All courses",
    "Next lesson ▶",
}
FORWARD = ("Quiz ▶", "Next ▶", "Next lesson ▶", "Finish ✓", "Continue ▶", "Start over ↺")


async def advance(trainee, within: float = 15):
    """What a trainee does next: answer the open question, else go forward; the bot's reply.

    Answers the open quiz poll with its first option, or presses the first answer button of
    an inline question, or presses the forward button (Quiz, Next, Finish, ...).
    """
    latest = trainee.messages[-1]
    if (
        latest.poll is not None
        and not latest.poll.is_closed
        and trainee.user_id not in latest.poll.answers
    ):
        await trainee.answer_poll([0], message=latest)
    else:
        keyboard = next(m for m in reversed(trainee.messages) if m.buttons)
        labels = [label for row in keyboard.buttons for label in row]
        answers = [label for label in labels if label not in NAVIGATION]
        label = answers[0] if answers else next(lb for lb in FORWARD if lb in labels)
        await trainee.press(label, message=keyboard, timeout=within)
    reply = await trainee.next_message(within)
    await settle(trainee, 0.3)
    return reply
