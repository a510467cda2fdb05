"""`training-bot run` with the outgoing rate limits off: the benchmark's bot.

The limits pace replies to Telegram's (30 messages a second overall, about one a second per
chat); against the emulator they would measure Telegram's budget instead of the bot. Every
other part is the production runtime and bot.
"""

from __future__ import annotations

import sys

from trainingbot.factory import create_app
from trainingbot.ratelimit import RateLimits
from trainingbot.runtime.app import main


async def unlimited_app(settings, metrics):
    return await create_app(settings, metrics=metrics, rate_limits=RateLimits.disabled())


if __name__ == "__main__":
    sys.exit(main(app_factory=unlimited_app))
