"""`training-bot emulator`: the local Bot API as a standalone server.

For a bot running elsewhere (another process, a container, a pod in a test cluster) whose
`BOT_API_BASE_URL` points here: the e2e suite on kind runs it as a pod, and a load test
against a named target points that target's bot at it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from trainingbot.emulator.limits import BotApiLimits
from trainingbot.emulator.server import BotApiEmulator


async def serve(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("BOT_TOKEN")
    if not token:
        print(
            "training-bot emulator: give the bot's token with --token or BOT_TOKEN", file=sys.stderr
        )
        return 2
    emulator = BotApiEmulator(
        token=token,
        host=args.host,
        port=args.port,
        limits=BotApiLimits(flood_control=args.flood_control),
        # A long-running server keeps bounded history: nobody reads it back.
        record_requests=False,
        history_limit=100,
        # People (and the kind tier's tests) act as trainees through /_trainees/.
        serve_trainees=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with emulator:
        print(f"Bot API emulator listening on {emulator.base_url}", flush=True)
        await stop.wait()
    return 0


def main(args: argparse.Namespace) -> int:
    return asyncio.run(serve(args))
