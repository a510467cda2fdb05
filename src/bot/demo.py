"""`training-bot demo`: the bot on its embedded default, in a web page and in this terminal.

Everything runs in this process, with no token and no servers to install: an embedded
PostgreSQL (the `pgserver` wheel; data in a temporary directory, migrated at start),
conversation state in memory, the local Bot API emulator, and the sample course On-call 101
(or `--content DIR`). Two views of the same emulator: a web page on localhost that shows the
chats as Telegram does (`trainingbot.emulator.web`), and the terminal chat of the demo
trainee, who is also a trainer (so /stats, /report and /broadcast can be tried). `--serve`
runs the page alone, for scripts and CI.

The course files are watched: a saved change is validated and, when valid, the bot is
rebuilt on it (the chats, the database and the conversation state stay); problems are shown
on the page and the bot keeps the last good version. The page's clock buttons move the bot's
clock forward, so that reviews due tomorrow can be taken today.

/quit, the end of input, Ctrl-C, SIGTERM and SIGHUP (the terminal closing) all shut down
cleanly: the embedded PostgreSQL is stopped and its folder removed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from trainingbot.content import SAMPLE_CONTENT_DIR, Catalog, ContentError, load_catalog

DEMO_TOKEN = "100000:DEMO-TOKEN-NOT-A-SECRET"
DEMO_USER_ID = 1001
DEMO_NAME = "Ada"
# Further trainees the page can switch to; only Ada is a trainer (ADMIN_IDS).
OTHER_TRAINEES = ((1002, "Ben"), (1003, "Chloe"))
DEFAULT_PORT = 8765
# How often the course files are looked at: a save shows within about this long.
WATCH_INTERVAL = 0.5
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(BaseException):
    """A signal asked the demo to stop (a BaseException, like KeyboardInterrupt)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Signals:
    """Before the event loop runs, SIGINT, SIGTERM and SIGHUP raise `Stopped` where the demo
    is, so that its `finally` stops PostgreSQL and removes its folder; while it runs, they
    cancel the demo's task (`_until_signal`), so that every `async with` closes in order."""

    def __init__(self) -> None:
        self.received: int | None = None

    def install(self) -> None:
        for sig in _STOP_SIGNALS:
            signal.signal(sig, self._handle)

    def ignore(self) -> None:
        """While shutting down: a second Ctrl-C must not cut the clean-up short."""
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum
        raise Stopped(signum)


def _say(text: str) -> None:
    """A status line on stderr; the terminal may be gone (SIGHUP), which must not matter."""
    with contextlib.suppress(OSError, ValueError):
        print(text, file=sys.stderr, flush=True)


def _quiet_logs() -> None:
    """The chat is the interface: only warnings and errors from the machinery, on stderr."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("aiogram.event", "aiogram.dispatcher"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="platformdirs")


def _start_postgres(root: Path):
    """An embedded PostgreSQL in `root`, migrated; returns the server and its URL."""
    import pgserver

    from trainingbot.db import migrate

    server = pgserver.get_server(root / "pgdata", cleanup_mode="stop")
    database_url = server.get_uri()
    migrate.upgrade(database_url)
    return server, database_url


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


def _import_the_bot() -> None:
    """aiogram and the bot take seconds to import: done before the event loop starts, where
    a Ctrl-C stops them at once."""
    import trainingbot.factory
    import trainingbot.runtime.polling  # noqa: F401


class DemoBot:
    """The demo's bot on the emulator; `reload` rebuilds it on another catalog, keeping the
    database, the conversation state and the chats."""

    def __init__(self, base_url: str, database_url: str, content_dir: Path, clock) -> None:
        from aiogram.fsm.storage.memory import MemoryStorage

        self.settings = _settings(base_url, database_url, content_dir)
        self.clock = clock
        self.storage = MemoryStorage()
        self._running: contextlib.AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    async def start(self, catalog: Catalog) -> None:
        from trainingbot.factory import create_app
        from trainingbot.runtime.polling import run_polling

        app = await create_app(
            self.settings, storage=self.storage, catalog=catalog, clock=self.clock
        )
        stack = contextlib.AsyncExitStack()
        stack.push_async_callback(app.close)
        try:
            await stack.enter_async_context(run_polling(app, poll_timeout=1))
        except BaseException:
            await stack.aclose()
            raise
        self._running = stack

    async def stop(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            await running.aclose()

    async def reload(self, catalog: Catalog) -> None:
        async with self._lock:
            await self.stop()
            await self.start(catalog)


def _course_files(content_dir: Path) -> dict[Path, int]:
    """Each course file and its modification time: what a save changes."""
    files = {}
    for path in content_dir.rglob("*"):
        if path.is_file() and not any(part.startswith(".") for part in path.parts):
            with contextlib.suppress(OSError):
                files[path] = path.stat().st_mtime_ns
    return files


def _problem_view(problem, content_dir: Path) -> dict[str, Any]:
    file = Path(problem.file)
    with contextlib.suppress(ValueError):
        file = file.relative_to(content_dir)
    where = f"{file}:{problem.line}" if problem.line is not None else str(file)
    return {"where": where, "message": problem.message, "warning": problem.warning}


async def watch_content(content_dir: Path, bot: DemoBot, page, interval: float) -> None:
    """Validate and reload on every save; show problems on the page meanwhile."""
    seen = _course_files(content_dir)
    version = 1
    while True:
        await asyncio.sleep(interval)
        now = _course_files(content_dir)
        if now == seen:
            continue
        seen = now
        try:
            catalog = await asyncio.to_thread(load_catalog, content_dir)
        except ContentError as exc:
            _say(f"The course files have problems; the bot keeps the last good version:\n{exc}")
            page.show_problems([_problem_view(p, content_dir) for p in exc.problems])
            continue
        await bot.reload(catalog)
        version += 1
        warnings_ = [_problem_view(p, content_dir) for p in catalog.warnings]
        page.show_problems(warnings_, version=f"version {version}")
        _say(f"Reloaded the course files ({', '.join(c.title for c in catalog)}).")


def _format_clock(moment) -> str:
    return moment.strftime("%a %d %b %Y, %H:%M UTC")


def _can_open_a_browser() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


async def _serve_page(page, port: int | None) -> str:
    """Start the page on `port` (default: DEFAULT_PORT, or any free port if that is taken)
    and return its URL once it answers."""
    import aiohttp

    try:
        url = await page.start("127.0.0.1", DEFAULT_PORT if port is None else port)
    except OSError:
        if port is not None:
            raise
        url = await page.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        response.raise_for_status()
    return url


async def run(
    catalog: Catalog,
    database_url: str,
    content_dir: Path,
    *,
    script: list[str] | None,
    serve_only: bool,
    port: int | None,
    open_browser: bool,
) -> None:
    """The emulator, the bot, the page and (unless `serve_only`) the terminal chat."""
    from trainingbot.emulator import BotApiEmulator
    from trainingbot.emulator.terminal import run_terminal_chat, scripted_lines
    from trainingbot.emulator.web import ChatPage, Person
    from trainingbot.services.clock import ShiftedClock

    clock = ShiftedClock()

    def advance(hours: float) -> str:
        return _format_clock(clock.advance(hours=hours))

    async with BotApiEmulator(token=DEMO_TOKEN) as emulator:
        # Before the page asks for it: the terminal's trainee has a username too.
        trainee = emulator.trainee(DEMO_USER_ID, DEMO_NAME, username="ada")
        people = [Person(DEMO_USER_ID, DEMO_NAME, "trainer")]
        people += [Person(user_id, name) for user_id, name in OTHER_TRAINEES]
        page = ChatPage(
            emulator,
            people,
            advance_clock=advance,
            clock_now=lambda: _format_clock(clock()),
            title=", ".join(course.title for course in catalog),
        )
        bot = DemoBot(emulator.base_url, database_url, content_dir, clock)
        await bot.start(catalog)
        watcher = asyncio.create_task(watch_content(content_dir, bot, page, WATCH_INTERVAL))
        try:
            url = await _serve_page(page, port)
            if serve_only:
                print(f"URL={url}", flush=True)
                await asyncio.Event().wait()  # until a signal cancels the demo
                return
            with contextlib.suppress(OSError):
                print(f"The chat in a browser: {url}", flush=True)
            if open_browser and _can_open_a_browser():
                import webbrowser

                await asyncio.to_thread(webbrowser.open, url)
            lines = scripted_lines(script) if script is not None else None
            await run_terminal_chat(trainee, input_lines=lines, confirms_when_handled=True)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            await page.stop()
            await bot.stop()


async def _until_signal(signals: _Signals, main) -> None:
    """Run `main`; a stop signal cancels it, so every `async with` closes in order."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def stop(signum: int) -> None:
        signals.received = signum
        task.cancel()

    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, stop, sig)
    await main


def main(args: argparse.Namespace) -> int:
    signals = _Signals()
    signals.install()
    try:
        return _main(args, signals)
    except Stopped as stopped:
        return 128 + stopped.signum
    except KeyboardInterrupt:
        return 130


def _main(args: argparse.Namespace, signals: _Signals) -> int:
    _quiet_logs()
    content_dir = Path(args.content_dir or SAMPLE_CONTENT_DIR)
    script = Path(args.script) if getattr(args, "script", None) else None
    serve_only = bool(getattr(args, "serve", False))
    if script is not None and not script.is_file():
        _say(f"training-bot demo: no script file at {script}")
        return 2
    try:
        catalog = load_catalog(content_dir)
    except ContentError as exc:
        _say(f"training-bot demo: the course files are not valid:\n{exc}")
        return 1

    root = Path(tempfile.mkdtemp(prefix="training-bot-demo-"))
    starting: Future | None = None
    server = None
    try:
        # PostgreSQL starts in a thread while aiogram imports here: the two are most of the
        # start-up time.
        _say("Starting an embedded PostgreSQL and the bot…")
        starting = ThreadPoolExecutor(1, "embedded-postgres").submit(_start_postgres, root)
        _import_the_bot()
        try:
            server, database_url = starting.result()
        except Exception as exc:
            _say(f"training-bot demo: could not start the embedded PostgreSQL: {exc}")
            return 1
        titles = ", ".join(course.title for course in catalog)
        _say(f"Ready: {titles}. You are {DEMO_NAME}, a trainee (and a trainer).")
        lines = script.read_text(encoding="utf-8").splitlines() if script else None
        try:
            asyncio.run(
                _until_signal(
                    signals,
                    run(
                        catalog,
                        database_url,
                        content_dir,
                        script=lines,
                        serve_only=serve_only,
                        port=getattr(args, "port", None),
                        open_browser=not serve_only and script is None,
                    ),
                )
            )
        except asyncio.CancelledError:
            if signals.received is None:
                raise
        if signals.received is not None:
            return 128 + signals.received
        return 0
    finally:
        signals.ignore()
        if server is None and starting is not None:
            # Interrupted while PostgreSQL was starting: wait for it, to stop it.
            with contextlib.suppress(Exception):
                server, _ = starting.result()
        if server is not None:
            with contextlib.suppress(Exception):
                server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
