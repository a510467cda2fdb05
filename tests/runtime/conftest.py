"""Fixtures of the runtime's tests: databases, the emulator, HTTP, the bot in this process
and as a process. Helpers are in `tests.runtime.support`."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from trainingbot.emulator import BotApiEmulator

from tests.runtime.support import TOKEN, BotProcess, RunningBot


@pytest.fixture
async def emulator():
    async with BotApiEmulator(TOKEN, webhook_max_retry_delay=0.5) as emu:
        yield emu


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


@pytest.fixture
async def start_bot():
    """`await start_bot(env)`: a `RunningBot`, stopped at the end of the test."""
    bots: list[RunningBot] = []

    async def start(env: dict[str, str], **options: Any) -> RunningBot:
        bot = await RunningBot.start(env, **options)
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        if not bot.task.done():
            await bot.stop()


@pytest.fixture
def bot_process(tmp_path):
    """`bot_process(env)`: a `BotProcess`, killed at the end of the test if still running."""
    processes: list[BotProcess] = []

    def start(env: dict[str, str], name: str = "bot", argv: list[str] | None = None):
        process = BotProcess.start(env, tmp_path / f"{name}-{len(processes)}.log", argv)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.proc.poll() is None:
            process.kill()
