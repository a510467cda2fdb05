"""`make bench`: the project's bot against a bare aiogram echo bot, on this machine.

For each delivery mode (polling, webhook) and each bot (the echo baseline, then the training
bot on real PostgreSQL and Redis), on one harness (`bench.harness`: the bot as a process, the
local Bot API emulator and 50 synthetic trainees in this process):

- capacity: trainees act as soon as the bot answered (no think time), after a warm-up:
  answered updates per second, errors, latency, and the bot process' CPU time per update;
- latency: trainees pause about a second between actions (0.5-1.5 s, as people reading a
  lesson would, and more often than they would), so that the bot is loaded but not
  saturated: P50/P95/P99 from send to reply. (In a saturated closed loop the latency is only
  the queue: 50 trainees / throughput.)
- the training bot's resident memory after 10 000 and 100 000 updates (webhook mode), with
  samples in between.

Results go to `bench/results/<time>.json` and into `docs/PERFORMANCE.md` between the
`bench:results` markers; the analysis around them is written by people.

The training bot runs with the outgoing rate limits off (`bench.bot_process`): with them on it
would be measuring Telegram's budget (30 messages a second) rather than itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/run.py`

import psutil

from trainingbot.emulator import BotApiEmulator

from bench.harness import TOKEN, BotProcess, Services
from bench.stats import Recorder, Summary
from bench.workload import Budget, EchoWalk, TrainingWalk, run_trainees

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
PERFORMANCE_MD = REPO / "docs" / "PERFORMANCE.md"
BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"
LOG_DIR = Path(tempfile.gettempdir()) / "trainingbot-bench"


@dataclass
class Run:
    kind: str
    mode: str
    users: int
    think_time: float
    summary: dict
    bot_cpu_ms_per_update: float
    harness_cpu_percent: float
    machine_cpu_percent: float
    rss_mib_end: float
    exit_code: int | None


@dataclass
class MemoryRun:
    mode: str
    users: int
    samples: list[tuple[int, float]] = field(default_factory=list)  # (updates, RSS MiB)
    summary: dict | None = None
    exit_code: int | None = None


@contextlib.asynccontextmanager
async def bot_behind_emulator(
    services: Services, kind: str, mode: str
) -> AsyncIterator[tuple[BotApiEmulator, BotProcess]]:
    """A fresh emulator and Redis (and database, for the training bot), and the bot process
    ready behind them; stopped on the way out (its code in `bot.exit_code`)."""
    database_url = services.fresh_database() if kind == "training" else None
    services.flush_redis()
    async with BotApiEmulator(TOKEN, record_requests=False, history_limit=20) as emulator:
        bot = BotProcess.launch(
            kind,
            mode,
            api_base_url=emulator.base_url,
            database_url=database_url,
            redis_url=services.redis.url,
            log_dir=LOG_DIR,
        )
        try:
            await bot.wait_ready(emulator)
            yield emulator, bot
        finally:
            bot.stop()


async def measure(
    services: Services,
    kind: str,
    mode: str,
    users: int,
    warmup: float,
    duration: float,
    think_time: float = 0.0,
) -> Run:
    walk = TrainingWalk() if kind == "training" else EchoWalk()
    async with bot_behind_emulator(services, kind, mode) as (emulator, bot):
        await run_trainees(emulator, walk, users, Budget(seconds=warmup))
        harness = psutil.Process()
        psutil.cpu_percent()
        harness.cpu_percent()
        cpu_before = bot.cpu_seconds()
        started = time.perf_counter()
        recorder = await run_trainees(
            emulator,
            walk,
            users,
            Budget(seconds=duration),
            think_time=think_time,
            first_user_id=8_000_000_000,
        )
        elapsed = time.perf_counter() - started
        cpu = bot.cpu_seconds() - cpu_before
        summary = recorder.summary(elapsed)
        rss = bot.rss()
        harness_cpu, machine_cpu = harness.cpu_percent(), psutil.cpu_percent()
    answered = max(summary.requests - summary.errors, 1)
    return Run(
        kind,
        mode,
        users,
        think_time,
        asdict(summary),
        cpu / answered * 1000,
        harness_cpu,
        machine_cpu,
        rss / 2**20,
        bot.exit_code,
    )


async def memory_profile(
    services: Services, mode: str, users: int, checkpoints: list[int]
) -> MemoryRun:
    result = MemoryRun(mode, users)
    async with bot_behind_emulator(services, "training", mode) as (emulator, bot):
        recorder = Recorder()
        pending = sorted(checkpoints)

        async def sample() -> None:
            while pending:
                done = len(recorder.latencies) + recorder.errors
                while pending and done >= pending[0]:
                    result.samples.append((pending.pop(0), bot.rss() / 2**20))
                    print(
                        f"  {result.samples[-1][0]:>7} updates: RSS "
                        f"{result.samples[-1][1]:.1f} MiB",
                        flush=True,
                    )
                await asyncio.sleep(0.2)

        sampler = asyncio.ensure_future(sample())
        started = time.perf_counter()
        await run_trainees(
            emulator, TrainingWalk(), users, Budget(updates=max(checkpoints)), recorder=recorder
        )
        await asyncio.sleep(0.5)
        sampler.cancel()
        result.summary = asdict(recorder.summary(time.perf_counter() - started))
    result.exit_code = bot.exit_code
    return result


def render(runs: list[Run], memory: MemoryRun | None, meta: dict) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']} ({meta['cpus']} CPUs, "
        f"Python {meta['python']}); {meta['users']} trainees, {meta['duration']:.0f} s per "
        f"run after {meta['warmup']:.0f} s of warm-up. Machine CPU is the whole machine's "
        "busy share during the run (other work on it included); harness CPU is the emulator "
        "and the trainees, in % of one core.",
        "",
        "| mode | bot | think s | updates/s | P50 ms | P95 ms | P99 ms | errors "
        "| bot CPU ms/update | harness CPU % | machine CPU % |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        s = run.summary
        lines.append(
            f"| {run.mode} | {run.kind} | {run.think_time:g} | {s['throughput']:.0f} | "
            f"{s['p50_ms']:.1f} | "
            f"{s['p95_ms']:.1f} | {s['p99_ms']:.1f} | {s['errors']} | "
            f"{run.bot_cpu_ms_per_update:.2f} | {run.harness_cpu_percent:.0f} | "
            f"{run.machine_cpu_percent:.0f} |"
        )
    lines += [
        "",
        "| mode | throughput ratio (training / echo, capacity) | CPU per update ratio "
        "(echo / training) | training P99 with think time | P99 < 100 ms |",
        "|---|---:|---:|---:|---|",
    ]
    for mode in dict.fromkeys(run.mode for run in runs):
        capacity = {r.kind: r for r in runs if r.mode == mode and r.think_time == 0}
        paced = {r.kind: r for r in runs if r.mode == mode and r.think_time > 0}
        if {"echo", "training"} <= capacity.keys():
            echo, bot = capacity["echo"], capacity["training"]
            ratio = bot.summary["throughput"] / max(echo.summary["throughput"], 1e-9)
            cpu_ratio = echo.bot_cpu_ms_per_update / max(bot.bot_cpu_ms_per_update, 1e-9)
            p99 = paced["training"].summary["p99_ms"] if "training" in paced else float("nan")
            lines.append(
                f"| {mode} | {ratio:.2f}× | {cpu_ratio:.2f}× | {p99:.0f} ms | "
                f"{'yes' if p99 < 100 else 'no'} |"
            )
    if memory and memory.samples:
        lines += [
            "",
            f"Resident memory of the training bot ({memory.mode} mode, {memory.users} trainees):",
            "",
            "| updates | RSS MiB |",
            "|---:|---:|",
        ]
        lines += [f"| {n} | {mib:.1f} |" for n, mib in memory.samples]
        samples = dict(memory.samples)
        if 10_000 in samples and max(samples) >= 100_000:
            first, last = samples[10_000], samples[max(samples)]
            growth = (last - first) / first
            lines += [
                "",
                f"From 10 000 to {max(samples)} updates: {growth:+.1%} "
                f"({'flat within 10%' if abs(growth) <= 0.10 else 'NOT flat'}).",
            ]
    return "\n".join(lines)


def write_report(text: str) -> None:
    if not PERFORMANCE_MD.exists():
        PERFORMANCE_MD.write_text(f"# Performance\n\n{BEGIN}\n{END}\n")
    current = PERFORMANCE_MD.read_text()
    if BEGIN not in current or END not in current:
        current += f"\n{BEGIN}\n{END}\n"
    head, rest = current.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    PERFORMANCE_MD.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


async def main(args: argparse.Namespace) -> int:
    print("starting PostgreSQL and Redis ...", flush=True)
    services = Services.start()
    runs: list[Run] = []
    memory = None
    try:
        plan = [
            (mode, kind, think)
            for mode in args.modes
            for think in (0.0, args.think_time)
            for kind in ("echo", "training")
        ]
        for mode, kind, think in plan:
            print(
                f"{mode} / {kind} / think {think:g} s: {args.users} trainees, "
                f"{args.warmup:.0f} s warm-up, {args.duration:.0f} s measured ...",
                flush=True,
            )
            run = await measure(services, kind, mode, args.users, args.warmup, args.duration, think)
            runs.append(run)
            summary = Summary(**run.summary)
            for line in summary.lines():
                print(f"  {line}")
            print(
                f"  bot CPU {run.bot_cpu_ms_per_update:.2f} ms/update, RSS "
                f"{run.rss_mib_end:.0f} MiB, exit {run.exit_code}",
                flush=True,
            )
        if args.memory_updates:
            wanted = {1_000, 10_000, *range(20_000, args.memory_updates, 20_000)}
            checkpoints = sorted({n for n in wanted if n < args.memory_updates})
            checkpoints.append(args.memory_updates)
            print(f"memory: {args.memory_updates} updates, webhook mode ...", flush=True)
            memory = await memory_profile(services, "webhook", args.users, checkpoints)
    finally:
        services.stop()
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "users": args.users,
        "duration": args.duration,
        "warmup": args.warmup,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stamp}.json").write_text(
        json.dumps(
            {
                "meta": meta,
                "runs": [asdict(r) for r in runs],
                "memory": asdict(memory) if memory else None,
            },
            indent=2,
        )
    )
    report = render(runs, memory, meta)
    print("\n" + report)
    if args.write:
        write_report(report)
        print(f"\nwritten to {PERFORMANCE_MD.relative_to(REPO)}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument(
        "--think-time", type=float, default=1.0, help="mean pause of the latency runs (s)"
    )
    parser.add_argument("--modes", type=lambda v: v.split(","), default=["polling", "webhook"])
    parser.add_argument(
        "--memory-updates", type=int, default=100_000, help="updates of the memory run (0: skip it)"
    )
    parser.add_argument(
        "--no-write", dest="write", action="store_false", help="do not update docs/PERFORMANCE.md"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="about 6 minutes instead of 25: 20 s runs after 5 s of warm-up, memory to 20 000 "
        "updates (too few to judge the 10 000-100 000 target), results not written to "
        "docs/PERFORMANCE.md; the same harness and workload otherwise",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.memory_updates = 20.0, 5.0, 20_000
        args.write = False
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
