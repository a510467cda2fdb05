"""`scripts/run_load_test.sh TARGET USERS DURATION`: synthetic trainees against a bot.

The bot under load talks to the local Bot API emulator instead of Telegram; the trainees are
emulated people taking the sample course (`bench.workload.TrainingWalk`). At the end it prints
throughput, errors and P50/P95/P99 latency (send to reply) and exits 1 when more than 1% of
the actions got no reply.

TARGET `local` starts everything here: throwaway PostgreSQL and Redis, the emulator, and the
bot as a process (`training-bot run`, in the mode of `--mode`).

Any other TARGET (`staging`, `production`) is a bot already running somewhere whose
`BOT_API_BASE_URL` points at the emulator this command starts. Read from the environment
(`LOADTEST_<TARGET>_<NAME>` first, then `LOADTEST_<NAME>`):

    BOT_TOKEN        the token the target bot uses (the emulator serves only that one)
    EMULATOR_LISTEN  host:port the emulator listens on (default 0.0.0.0:8090): the target's
                     BOT_API_BASE_URL must reach it, e.g. http://loadgen.internal:8090
    WEBHOOK_URL      the target's webhook (e.g. http://bot.staging:8081/telegram/webhook);
                     unset: the target polls the emulator (BOT_MODE=polling)
    WEBHOOK_SECRET   the target's WEBHOOK_SECRET (webhook mode)
    OPS_URL          optional: the target's operations URL; /ready is awaited before the run

Never point a production bot serving real people at the emulator: its trainees would talk to
nobody for the duration. "production" here means a production-like deployment.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.stats import Recorder, parse_duration
from bench.workload import Budget, TrainingWalk, run_trainees

MAX_ERROR_RATE = 0.01
DEFAULT_EMULATOR_LISTEN = "0.0.0.0:8090"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_load_test.sh",
        description="Synthetic trainees against a bot whose Bot API is the local emulator.",
    )
    parser.add_argument(
        "target",
        help="local, or a name whose settings are in LOADTEST_* variables (see bench/loadtest.py)",
    )
    parser.add_argument("users", type=int, help="concurrent synthetic trainees")
    parser.add_argument("duration", type=parse_duration, help="e.g. 30s, 5m")
    parser.add_argument(
        "--mode",
        choices=("webhook", "polling"),
        default="webhook",
        help="local target: how the bot gets updates (default webhook)",
    )
    parser.add_argument(
        "--think-time",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="mean pause of a trainee between actions (default 0: as fast as the bot answers)",
    )
    parser.add_argument(
        "--rate-limits",
        choices=("on", "off"),
        default="on",
        help="local target: the bot's outgoing rate limits (default on, as in "
        "production: replies are paced to Telegram's 30/s overall)",
    )
    return parser


def setting(target: str, name: str, default: str | None = None) -> str | None:
    prefix = re.sub(r"[^A-Z0-9]", "_", target.upper())
    return (
        os.environ.get(f"LOADTEST_{prefix}_{name}") or os.environ.get(f"LOADTEST_{name}") or default
    )


async def wait_ready(ops_url: str, within: float = 60) -> bool:
    def ready() -> bool:
        try:
            urllib.request.urlopen(f"{ops_url.rstrip('/')}/ready", timeout=5).close()
        except OSError:
            return False
        return True

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await asyncio.to_thread(ready):
            return True
        await asyncio.sleep(1)
    return False


def report(target: str, users: int, recorder: Recorder, elapsed: float) -> int:
    summary = recorder.summary(elapsed)
    print(f"load test against {target}: {users} trainees for {elapsed:.0f} s")
    for line in summary.lines():
        print(f"  {line}")
    if summary.requests == 0:
        print("FAIL: no action was made")
        return 1
    if summary.error_rate > MAX_ERROR_RATE:
        print(f"FAIL: error rate {summary.error_rate:.2%} is above {MAX_ERROR_RATE:.0%}")
        return 1
    print(f"PASS: error rate {summary.error_rate:.2%} (limit {MAX_ERROR_RATE:.0%})")
    return 0


async def run_local(args: argparse.Namespace) -> int:
    from trainingbot.emulator import BotApiEmulator

    from bench.harness import TOKEN, BotProcess, Services

    print("starting PostgreSQL, Redis, the emulator and the bot ...", flush=True)
    services = Services.start()
    bot = None
    try:
        database_url = services.fresh_database()
        async with BotApiEmulator(TOKEN, record_requests=False, history_limit=20) as emulator:
            bot = BotProcess.launch(
                "training",
                args.mode,
                api_base_url=emulator.base_url,
                database_url=database_url,
                redis_url=services.redis.url,
                rate_limits=args.rate_limits == "on",
                log_dir=Path(tempfile.gettempdir()) / "trainingbot-loadtest",
            )
            await bot.wait_ready(emulator)
            print(f"bot ready ({args.mode}, pid {bot.pid}, log {bot.log_path})", flush=True)
            if args.rate_limits == "on":
                print(
                    "outgoing rate limits on, as in production: replies are paced to "
                    "Telegram's 30 messages/s overall and about 1/s per chat "
                    "(--rate-limits off measures the bot itself)",
                    flush=True,
                )
            started = time.perf_counter()
            recorder = await run_trainees(
                emulator,
                TrainingWalk(),
                args.users,
                Budget(seconds=args.duration),
                think_time=args.think_time,
            )
            elapsed = time.perf_counter() - started
            code = report("local", args.users, recorder, elapsed)
            rc = bot.stop()
            if rc != 0:
                print(f"FAIL: the bot exited with {rc} on SIGTERM (log: {bot.log_path})")
                code = 1
            return code
    finally:
        if bot is not None:
            bot.stop()
        services.stop()


async def run_remote(args: argparse.Namespace) -> int:
    from trainingbot.emulator import BotApiEmulator

    token = setting(args.target, "BOT_TOKEN")
    if not token:
        print(
            f"set LOADTEST_{args.target.upper()}_BOT_TOKEN (or LOADTEST_BOT_TOKEN): the "
            "token the target bot uses with the emulator",
            file=sys.stderr,
        )
        return 2
    host, _, port = setting(args.target, "EMULATOR_LISTEN", DEFAULT_EMULATOR_LISTEN).rpartition(":")
    webhook_url = setting(args.target, "WEBHOOK_URL")
    ops_url = setting(args.target, "OPS_URL")
    async with BotApiEmulator(
        token, host=host or "0.0.0.0", port=int(port), record_requests=False, history_limit=20
    ) as emulator:
        print(
            f"emulator listening on {host}:{emulator.port}; the target's BOT_API_BASE_URL "
            "must point here",
            flush=True,
        )
        if webhook_url:
            await emulator.call(
                "setWebhook",
                {
                    "url": webhook_url,
                    "secret_token": setting(args.target, "WEBHOOK_SECRET") or "",
                    "max_connections": 40,
                },
            )
        else:
            print("no LOADTEST_WEBHOOK_URL: waiting for the target to poll", flush=True)
            deadline = time.monotonic() + 60
            while emulator.method_counts.get("getUpdates", 0) == 0:
                if time.monotonic() > deadline:
                    print("FAIL: the target did not poll the emulator within 60 s")
                    return 1
                await asyncio.sleep(0.5)
        if ops_url and not await wait_ready(ops_url):
            print(f"FAIL: {ops_url}/ready did not answer 200 within 60 s")
            return 1
        started = time.perf_counter()
        recorder = await run_trainees(
            emulator,
            TrainingWalk(),
            args.users,
            Budget(seconds=args.duration),
            think_time=args.think_time,
        )
        return report(args.target, args.users, recorder, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.users < 1:
        print("USERS must be at least 1", file=sys.stderr)
        return 2
    runner = run_local if args.target == "local" else run_remote
    return asyncio.run(runner(args))


if __name__ == "__main__":
    sys.exit(main())
