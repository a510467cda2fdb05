"""Everything a local load or benchmark run starts: services, the emulator, a bot process.

The bot always runs as a process of its own (as in production, and so that its CPU time and
resident memory are its own); the emulator and the synthetic trainees share the harness'
process and event loop. PostgreSQL and Redis are throwaway servers on loopback, started the
way the tests start theirs (`tests/support/services.py`).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

from tests.support.processes import free_port, spawn, stop_process
from tests.support.services import PostgresServer, RedisServer

REPO = Path(__file__).resolve().parent.parent
TOKEN = "4242424242:AAbenchmarkbenchmarkbenchmarkbench00"
WEBHOOK_PATH = "/telegram/webhook"


@dataclass
class Services:
    """PostgreSQL and Redis for the runs of one harness session."""

    postgres: PostgresServer
    redis: RedisServer

    @classmethod
    def start(cls) -> Services:
        return cls(PostgresServer().init().start(), RedisServer().start())

    def fresh_database(self) -> str:
        """A new, migrated database; its URL."""
        url = self.postgres.create_database()
        migrate(url)
        return url

    def flush_redis(self) -> None:
        subprocess.run(
            ["redis-cli", "-p", str(self.redis.port), "flushall"], capture_output=True, check=False
        )

    def stop(self) -> None:
        self.redis.destroy()
        self.postgres.destroy()


def migrate(database_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trainingbot", "migrate"],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"training-bot migrate failed:\n{result.stdout}{result.stderr}")


@dataclass
class BotProcess:
    """A bot (the project's or the echo baseline) as a child process."""

    kind: str  # "training" | "echo"
    mode: str  # "polling" | "webhook"
    env: dict[str, str]
    log_path: Path
    http_port: int | None = None
    proc: subprocess.Popen | None = None
    last_readiness: str = ""

    @classmethod
    def launch(
        cls,
        kind: str,
        mode: str,
        *,
        api_base_url: str,
        token: str = TOKEN,
        database_url: str | None = None,
        redis_url: str | None = None,
        rate_limits: bool = False,
        log_dir: Path,
        log_level: str = "INFO",
    ) -> BotProcess:
        http_port, webhook_port = free_port(), free_port()
        env = {
            **os.environ,
            "BOT_TOKEN": token,
            "BOT_MODE": mode,
            "BOT_API_BASE_URL": api_base_url,
            "HTTP_PORT": str(http_port),
            "WEBHOOK_PORT": str(webhook_port),
            "WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}{WEBHOOK_PATH}",
            "WEBHOOK_SECRET": secrets.token_urlsafe(24),
            "LOG_LEVEL": log_level,
            "LOG_FORMAT": "json",
        }
        if database_url:
            env["DATABASE_URL"] = database_url
        if redis_url:
            env["REDIS_URL"] = redis_url
        if kind == "echo":
            argv = [sys.executable, "-m", "bench.echo_bot"]
        elif rate_limits:
            argv = [sys.executable, "-m", "trainingbot", "run"]
        else:
            argv = [sys.executable, "-m", "bench.bot_process"]
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{kind}-{mode}-{int(time.time())}.log"
        bot = cls(kind, mode, env, log_path, http_port if kind == "training" else None)
        bot.proc = spawn(argv, log_path, env, REPO)
        return bot

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss(self) -> int:
        """Resident memory of the bot process, in bytes."""
        return psutil.Process(self.pid).memory_info().rss

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return times.user + times.system

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/ready", timeout=3):
                return True
        except urllib.error.HTTPError as exc:
            self.last_readiness = exc.read().decode(errors="replace")
        except OSError as exc:
            self.last_readiness = str(exc)
        return False

    async def wait_ready(self, emulator, within: float = 60) -> None:
        """Until /ready is 200 (our bot) and the bot is reachable from the emulator."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the {self.kind} bot exited with {self.proc.returncode}; see {self.log_path}"
                )
            ready = await asyncio.to_thread(self._ready) if self.http_port else True
            listening = (
                emulator.webhook_url is not None
                if self.mode == "webhook"
                else emulator.method_counts.get("getUpdates", 0) > 0
            )
            if ready and listening:
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(
            f"the {self.kind} bot was not ready within {within:.0f}s "
            f"({self.last_readiness}); see {self.log_path}"
        )

    def stop(self, timeout: float = 30) -> int | None:
        if self.proc is None:
            return None
        stop_process(self.proc, timeout=timeout)
        return self.proc.returncode

    @property
    def exit_code(self) -> int | None:
        """The process' exit code once it ended (`stop`), else None."""
        return None if self.proc is None else self.proc.poll()
