"""Handling one update, and deciding whether Telegram may forget it.

Both delivery modes hand each update to `UpdateProcessor.process`, which returns an `Outcome`:

- `DONE`: the update's effects are committed (or it was a duplicate and skipped). Webhook: 200;
  polling: the offset moves past it.
- `FAILED`: a handler raised an error that is not about a dependency being away (a bug, a
  message Telegram refuses, a user who blocked the bot). Redelivering would fail the same way,
  forever, and Telegram would keep the chat's later updates waiting behind it; so the update is
  acknowledged, logged with its traceback and counted in `bot_errors_total`.
- `RETRY`: the update was not recorded because PostgreSQL, Redis or the Bot API was unreachable
  (`is_transient`). Its transaction was rolled back, so a redelivery is a clean second attempt.
  Webhook: 503, so that Telegram redelivers; polling: the offset stays, the update is fetched
  again after a back-off.

Updates from `SMOKE_USER_ID` (the synthetic update of `training-bot smoke`) are handled like any
other, except that the Bot API calls they make are answered locally (`DryRunSession`): the
webhook, the database, Redis and the handlers are exercised, and no message is sent to a chat
that does not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import asyncpg
import redis.exceptions
from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.types import Message, Update

from trainingbot.causes import caused_by
from trainingbot.db.errors import UpdateNotRecorded
from trainingbot.logs import update_context
from trainingbot.smoke import SMOKE_USER_ID
from trainingbot.telegram_session import deferred_calls

log = logging.getLogger("trainingbot.updates")


class FatalConfigurationError(Exception):
    """The Bot API refused the configuration (token, webhook URL): retrying will not help."""


class Outcome(StrEnum):
    DONE = "done"
    FAILED = "failed"
    RETRY = "retry"


# Errors that mean "a dependency is away right now", not "this update is bad": the update was
# not recorded and a later attempt may succeed.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    UpdateNotRecorded,
    # PostgreSQL: connection lost or refused, server shutting down, too many clients,
    # serialization failures and deadlocks (retry is the documented answer to those).
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    asyncpg.exceptions.TransactionRollbackError,
    # Redis: connection errors (including "no master" during a Sentinel failover), timeouts,
    # and writes that reached a master that has just been demoted.
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.TryAgainError,
    # The Bot API: network errors, 5xx, flood control that outlasted the rate limiter.
    TelegramNetworkError,
    TelegramServerError,
    TelegramRetryAfter,
    # Sockets: refused, reset, timed out.
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    """True when `exc`, or an exception it was raised from, is a dependency being away."""
    return caused_by(exc, TRANSIENT_ERRORS)


def describe_error(exc: BaseException) -> str:
    """A short reason: `ConnectionRefusedError: [Errno 111] Connect call failed …`."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text}"[:300] if text else name


@dataclass(frozen=True)
class UpdateSubject:
    """What an update is about, for logs and for per-chat ordering."""

    update_type: str | None
    chat_id: int | None
    user_id: int | None

    @property
    def ordering_key(self) -> int | None:
        """Updates with the same key are handled one after the other, in order."""
        return self.chat_id if self.chat_id is not None else self.user_id


def subject_of(update: Update) -> UpdateSubject:
    try:
        update_type = update.event_type
        event = update.event
    except Exception:  # an update type this aiogram does not know
        return UpdateSubject(None, None, None)
    chat = getattr(event, "chat", None)
    if chat is None:
        chat = getattr(getattr(event, "message", None), "chat", None)
    user = getattr(event, "from_user", None) or getattr(event, "user", None)
    return UpdateSubject(
        update_type,
        getattr(chat, "id", None),
        getattr(user, "id", None),
    )


def is_smoke_payload(payload: dict[str, Any]) -> bool:
    """True for the synthetic update of `training-bot smoke` (checked on the raw JSON)."""
    for key in ("message", "callback_query", "edited_message"):
        event = payload.get(key)
        if isinstance(event, dict):
            sender = event.get("from")
            return isinstance(sender, dict) and sender.get("id") == SMOKE_USER_ID
    return False


class InFlight:
    """Counts the updates being handled, so that shutdown can wait for them."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def wait_idle(self, within: float) -> bool:
        """Wait until nothing is in flight; False if `within` seconds passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), max(within, 0))
        except TimeoutError:
            return False
        return True


class AppLike(Protocol):
    """What the runtime needs of `trainingbot.factory.BotApp`."""

    bot: Bot
    dispatcher: Dispatcher


class UpdateProcessor:
    """Feeds updates to the dispatcher and turns the result into an `Outcome`."""

    def __init__(self, app: AppLike) -> None:
        self.app = app
        self.in_flight = InFlight()

    async def process(
        self,
        update: Update,
        *,
        bot: Bot | None = None,
        replies: list[TelegramMethod[Any]] | None = None,
    ) -> Outcome:
        """Handle `update`. The calls its handlers left for after it (`defer`: answering a
        button press) are made here once it is `DONE`, or handed to `replies` when given (the
        webhook answers Telegram with them)."""
        bot = bot or self.app.bot
        subject = subject_of(update)
        with (
            update_context(
                update_id=update.update_id,
                update_type=subject.update_type,
                chat_id=subject.chat_id,
                user_id=subject.user_id,
            ),
            self.in_flight.track(),
        ):
            started = time.perf_counter()
            try:
                with deferred_calls() as calls:
                    result = await self.app.dispatcher.feed_update(bot, update)
                if isinstance(result, TelegramMethod):  # a handler's "answer in the webhook"
                    calls.insert(0, result)
                if replies is not None:
                    replies.extend(calls)
                else:
                    await self.make_calls(bot, calls)
            except Exception as exc:
                duration_ms = round((time.perf_counter() - started) * 1000, 1)
                if is_transient(exc):
                    log.warning(
                        "update not recorded; it will be delivered again: %s",
                        describe_error(exc),
                        extra={"outcome": Outcome.RETRY.value, "duration_ms": duration_ms},
                    )
                    return Outcome.RETRY
                log.error(
                    "update failed and is acknowledged (delivering it again would fail the "
                    "same way): %s",
                    describe_error(exc),
                    exc_info=exc,
                    extra={"outcome": Outcome.FAILED.value, "duration_ms": duration_ms},
                )
                return Outcome.FAILED
            log.info(
                "update processed",
                extra={
                    "outcome": Outcome.DONE.value,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return Outcome.DONE

    async def make_calls(self, bot: Bot, calls: list[TelegramMethod[Any]]) -> None:
        """Make the calls an update left for after it. Best effort: the update is done, and
        what they acknowledge (a button press) has no second chance."""
        for method in calls:
            try:
                await bot(method)
            except Exception as exc:
                log.warning(
                    "%s after the update failed: %s", method.__api_method__, describe_error(exc)
                )


class DryRunSession(BaseSession):
    """A Bot API session that answers every call locally and remembers the method names."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> Any:
        self.calls.append(method.__api_method__)
        return _dry_result(bot, method)

    async def stream_content(self, *args: Any, **kwargs: Any):  # pragma: no cover - unused
        raise NotImplementedError("the smoke check downloads nothing")
        yield b""

    async def close(self) -> None:
        return None


def dry_run_bot(bot: Bot) -> tuple[Bot, DryRunSession]:
    """A bot with the same token and defaults whose calls never leave the process."""
    session = DryRunSession()
    return Bot(token=bot.token, session=session, default=bot.default), session


def _dry_result(bot: Bot, method: TelegramMethod[Any]) -> Any:
    returning = method.__returning__
    options = typing.get_args(returning) or (returning,)
    if any(isinstance(o, type) and issubclass(o, Message) for o in options):
        chat_id = getattr(method, "chat_id", None)
        if not isinstance(chat_id, int):
            chat_id = SMOKE_USER_ID
        return Message.model_validate(
            {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": getattr(method, "text", None),
            },
            context={"bot": bot},
        )
    if typing.get_origin(returning) is list:
        return []
    return True
