"""`training-bot demo`: the bot on its embedded default, chatting in this terminal.

Everything runs in this process, with no token and no servers to install: an embedded
PostgreSQL (the `pgserver` wheel; data in a temporary directory, migrated at start),
conversation state in memory, the local Bot API emulator, and the sample course On-call 101
(or `--content-dir`). The demo trainee is also a trainer, so /stats, /report and /broadcast
can be tried. Lines come from the terminal, or from `--script FILE`; /quit, the end of input
or Ctrl-C shut everything down cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from trainingbot.content import SAMPLE_CONTENT_DIR, Catalog, ContentError, load_catalog

DEMO_TOKEN = "100000:DEMO-TOKEN-NOT-A-SECRET"
DEMO_USER_ID = 1001
DEMO_NAME = "Ada"


def _quiet_logs() -> None:
    """The chat is the interface: only warnings and errors from the machinery, on stderr."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("aiogram.event", "aiogram.dispatcher"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="platformdirs")


def _start_postgres(root: Path):
    """An embedded PostgreSQL in `root`; returns the server and its URL."""
    import pgserver

    server = pgserver.get_server(root / "pgdata", cleanup_mode="stop")
    return server, server.get_uri()


def _settings(base_url: str, database_url: str, content_dir: Path):
    from trainingbot.config import (
        DatabaseSettings,
        RedisSettings,
        ServiceSettings,
        Settings,
        TelegramSettings,
    )

    return Settings(
        telegram=TelegramSettings(BOT_TOKEN=DEMO_TOKEN, BOT_API_BASE_URL=base_url),
        database=DatabaseSettings(
            DATABASE_URL=database_url, DB_POOL_MIN_SIZE=1, DB_POOL_MAX_SIZE=4
        ),
        redis=RedisSettings(),  # nothing configured: state in memory
        service=ServiceSettings(
            CONTENT_DIR=content_dir, ADMIN_IDS=str(DEMO_USER_ID), LOG_FORMAT="text"
        ),
    )


async def chat(
    catalog: Catalog, database_url: str, content_dir: Path, script: list[str] | None
) -> None:
    """Run the bot against the emulator and hand the terminal to the demo trainee."""
    from aiogram.fsm.storage.memory import MemoryStorage

    from trainingbot.emulator import BotApiEmulator
    from trainingbot.emulator.terminal import run_terminal_chat, scripted_lines
    from trainingbot.factory import create_app
    from trainingbot.runtime.polling import run_polling

    async with BotApiEmulator(token=DEMO_TOKEN) as emulator:
        app = await create_app(
            _settings(emulator.base_url, database_url, content_dir),
            storage=MemoryStorage(),
            catalog=catalog,
        )
        try:
            async with run_polling(app, poll_timeout=1):
                trainee = emulator.trainee(DEMO_USER_ID, DEMO_NAME, username="ada")
                if script is not None:
                    await run_terminal_chat(trainee, input_lines=scripted_lines(script))
                else:
                    await run_terminal_chat(trainee)
        finally:
            await app.close()


def main(args: argparse.Namespace) -> int:
    _quiet_logs()
    content_dir = Path(args.content_dir or SAMPLE_CONTENT_DIR)
    script = Path(args.script) if getattr(args, "script", None) else None
    if script is not None and not script.is_file():
        print(f"training-bot demo: no script file at {script}", file=sys.stderr)
        return 2
    try:
        catalog = load_catalog(content_dir)
    except ContentError as exc:
        print(f"training-bot demo: the course files are not valid:\n{exc}", file=sys.stderr)
        return 1

    root = Path(tempfile.mkdtemp(prefix="training-bot-demo-"))
    server = None
    try:
        print("Starting an embedded PostgreSQL…", file=sys.stderr, flush=True)
        try:
            server, database_url = _start_postgres(root)
        except Exception as exc:
            print(
                f"training-bot demo: could not start the embedded PostgreSQL: {exc}",
                file=sys.stderr,
            )
            return 1
        from trainingbot.db import migrate

        migrate.upgrade(database_url)
        titles = ", ".join(course.title for course in catalog)
        print(
            f"Ready: {titles}. You are {DEMO_NAME}, a trainee (and a trainer).",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            lines = script.read_text(encoding="utf-8").splitlines() if script else None
            asyncio.run(chat(catalog, database_url, content_dir, lines))
        return 0
    finally:
        if server is not None:
            with contextlib.suppress(Exception):
                server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
