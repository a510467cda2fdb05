"""/broadcast: a trainer's message to everyone enrolled in a course, sent in the background.

It starts only after the command's update is committed (so a redelivered command never
broadcasts twice), runs outside any transaction, and goes through the Bot API session's
rate limiter like every other message (30/s for the bot, 1/s per chat, `retry_after` on
429). The trainer gets a summary: sent, failed, blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError

from trainingbot.texts import trainer as t

log = logging.getLogger(__name__)

# Sends in flight at once. The rate limiter paces them; a few in parallel keep the pace
# when one request is slow.
CONCURRENCY = 8


@dataclass(frozen=True)
class BroadcastResult:
    sent: int
    failed: int
    blocked: int


class Broadcaster:
    """Owns the background broadcasts of one bot; `aclose` stops the ones still running."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self._tasks: set[asyncio.Task] = set()

    def start(
        self, trainer_chat_id: int, course_title: str, text: str, recipients: list[int]
    ) -> asyncio.Task:
        task = asyncio.create_task(
            self.run(trainer_chat_id, course_title, text, recipients),
            name=f"broadcast:{course_title}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def run(
        self, trainer_chat_id: int, course_title: str, text: str, recipients: list[int]
    ) -> BroadcastResult:
        message = t.broadcast_message(course_title, text)
        gate = asyncio.Semaphore(CONCURRENCY)
        outcomes: dict[str, int] = {"sent": 0, "failed": 0, "blocked": 0}

        async def deliver(chat_id: int) -> None:
            async with gate:
                try:
                    await self.bot.send_message(chat_id, message)
                    outcomes["sent"] += 1
                except TelegramForbiddenError:
                    outcomes["blocked"] += 1
                except TelegramAPIError as exc:
                    outcomes["failed"] += 1
                    log.warning("broadcast to chat %s failed: %s", chat_id, type(exc).__name__)
                except Exception:
                    outcomes["failed"] += 1
                    log.exception("broadcast to chat %s failed", chat_id)

        await asyncio.gather(*(deliver(chat_id) for chat_id in recipients))
        result = BroadcastResult(**outcomes)
        log.info("broadcast to %s finished: %s", course_title, result)
        try:
            await self.bot.send_message(
                trainer_chat_id,
                t.broadcast_summary(course_title, result.sent, result.failed, result.blocked),
            )
        except Exception:
            log.exception("could not send the broadcast summary to %s", trainer_chat_id)
        return result

    async def wait(self) -> None:
        """Wait for running broadcasts (tests, graceful shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
