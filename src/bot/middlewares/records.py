"""Exactly-once effects: each update's id is recorded in the same transaction as its effects.

For every update: take a connection, open a transaction and insert the `update_id` into
`processed_updates` (one round trip). If it was there already the update is a duplicate
(Telegram delivered it again, or another replica got it too): count it and skip the handlers.
Otherwise the trainee's row is brought up to date (only when it may have changed: see
`SeenUsers`), the handlers run with the connection (services write through it), the
conversation state they changed is written to Redis, and the record commits together with
their effects.

If the database or Redis cannot be reached, `UpdateNotRecorded` is raised and the transaction
rolled back: the webhook answers 503 and the polling loop does not confirm the update, so
Telegram delivers it again and the second attempt starts clean.

A handler that raises anything else is a bug, not an outage: the transaction is rolled back
(its effects and its conversation state changes with it), the update is then recorded on its
own so that the bug is not replayed forever, the trainee gets a short apology, and the error
is logged with the update id and counted.

Trade-off: messages are sent from inside the handler, before the commit. If the commit
then fails (the database went away at that instant), the redelivered update sends those
messages again. Sending after the commit would lose them instead when the process dies in
between; a duplicate message is the kinder failure for a trainee.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import asyncpg
from aiogram import BaseMiddleware, Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import Update, User

from trainingbot.content import Catalog
from trainingbot.db.errors import DATABASE_UNAVAILABLE_ERRORS, UpdateNotRecorded
from trainingbot.db.pool import CONNECT_TIMEOUT
from trainingbot.db.updates import ProcessedUpdateRepository
from trainingbot.db.users import UserRecord, UserRepository
from trainingbot.metrics import BotMetrics
from trainingbot.services.clock import Clock
from trainingbot.services.review import ReviewService
from trainingbot.services.trainer import TrainerService
from trainingbot.services.training import TrainingService
from trainingbot.state import REDIS_UNAVAILABLE_ERRORS, discard_conversation, save_conversation
from trainingbot.telegram_session import drop_deferred_calls
from trainingbot.texts import common
from trainingbot.views import Conversation

log = logging.getLogger(__name__)


class SeenUsers:
    """Trainees whose row is known to be committed with these names, for a few minutes.

    Every update names its sender; writing the same names back on every button press would be
    a round trip and a dead row version each time. A trainee seen within `ttl` seconds with
    the same names is not written again, so `users.last_seen_at` is precise to `ttl`. Only
    committed rows are remembered (`remember` is called after the commit), and a row that
    disappears anyway (a database restored from a backup) is written again once the entry
    expires, or at once after a handler failed on it (`forget`).
    """

    def __init__(self, ttl: float = 300.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[int, tuple[tuple[str, str | None, str | None], float]] = (
            OrderedDict()
        )

    @staticmethod
    def _fields(user: User) -> tuple[str, str | None, str | None]:
        return (user.first_name or "", user.username, user.language_code)

    def known(self, user: User) -> bool:
        entry = self._entries.get(user.id)
        return entry is not None and entry[0] == self._fields(user) and entry[1] > time.monotonic()

    def remember(self, user: User) -> None:
        self._entries[user.id] = (self._fields(user), time.monotonic() + self.ttl)
        self._entries.move_to_end(user.id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, user_id: int) -> None:
        self._entries.pop(user_id, None)


class UpdateRecordMiddleware(BaseMiddleware):
    def __init__(
        self,
        pool: asyncpg.Pool,
        catalog: Catalog,
        clock: Clock,
        metrics: BotMetrics,
        admin_ids: Iterable[int],
    ) -> None:
        self.pool = pool
        self.catalog = catalog
        self.clock = clock
        self.metrics = metrics
        self.admin_ids = frozenset(admin_ids)
        self.seen_users = SeenUsers()

    async def __call__(
        self,
        handler: Callable[[Update, dict[str, Any]], Awaitable[Any]],
        event: Update,
        data: dict[str, Any],
    ) -> Any:
        update_id = event.update_id
        tg_user: User | None = data.get("event_from_user")
        state: FSMContext | None = data.get("state")
        after_commit: list[Callable[[], Any]] = []
        failure: Exception | None = None
        try:
            conn = await self.pool.acquire(timeout=CONNECT_TIMEOUT)
        except DATABASE_UNAVAILABLE_ERRORS as exc:
            raise UpdateNotRecorded(update_id, _reason(exc)) from exc
        try:
            try:
                if not await ProcessedUpdateRepository(conn).begin_and_record(update_id):
                    self.metrics.duplicate_updates.inc()
                    log.info("update %s was processed before; skipped", update_id)
                    await conn.execute("ROLLBACK")
                    return None
                user = await self._user(conn, tg_user)
                self._provide(data, conn, user, after_commit)
                try:
                    result = await handler(event, data)
                except DATABASE_UNAVAILABLE_ERRORS:
                    raise
                except REDIS_UNAVAILABLE_ERRORS as exc:
                    raise _redis_away(update_id, exc) from exc
                except Exception as exc:
                    if _connection_lost(conn):
                        raise
                    failure = exc
                else:
                    await save_conversation(state)
                    await conn.execute("COMMIT")
            except BaseException:
                discard_conversation(state)
                await _roll_back(conn)
                raise
            if failure is not None:
                discard_conversation(state)
                drop_deferred_calls()
                await conn.execute("ROLLBACK")
                if tg_user is not None:
                    self.seen_users.forget(tg_user.id)
                await self._record_failure(conn, event, data, failure)
                return None
        except DATABASE_UNAVAILABLE_ERRORS as exc:
            raise UpdateNotRecorded(update_id, _reason(exc)) from exc
        except REDIS_UNAVAILABLE_ERRORS as exc:
            raise _redis_away(update_id, exc) from exc
        finally:
            with contextlib.suppress(Exception):
                await self.pool.release(conn)
        if tg_user is not None:
            self.seen_users.remember(tg_user)
        for callback in after_commit:
            try:
                outcome = callback()
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("after-commit action of update %s failed", update_id)
        return result

    async def _user(self, conn, tg_user: User | None) -> UserRecord | None:
        if tg_user is None:
            return None
        if not self.seen_users.known(tg_user):
            await UserRepository(conn).upsert(
                tg_user.id, tg_user.first_name, tg_user.username, tg_user.language_code
            )
        return UserRecord(tg_user.id, tg_user.first_name or "", tg_user.username)

    def _provide(
        self, data: dict[str, Any], conn, user: UserRecord | None, after_commit: list
    ) -> None:
        training = TrainingService(conn, self.catalog, self.clock, self.metrics)
        data.update(
            conn=conn,
            user=user,
            after_commit=after_commit,
            training=training,
            reviews=ReviewService(conn, self.catalog, self.clock, self.metrics),
            trainer=TrainerService(conn, self.catalog, self.admin_ids),
        )
        chat = data.get("event_chat")
        chat_id = chat.id if chat is not None else (user.id if user else None)
        if chat_id is not None and user is not None:
            state: FSMContext | None = data.get("state")
            data["conversation"] = Conversation(data["bot"], chat_id, user.id, training, state)

    async def _record_failure(
        self, conn, event: Update, data: dict[str, Any], exc: Exception
    ) -> None:
        """After a handler's bug: record the update on its own (its effects are rolled back),
        log and count the error, and apologize to the trainee."""
        update_id = event.update_id
        self.metrics.errors.labels(type=type(exc).__name__).inc()
        log.error(
            "handler failed on update %s",
            update_id,
            exc_info=exc,
            extra={"update_id": update_id},
        )
        if not await ProcessedUpdateRepository(conn).record(update_id):
            # Another replica recorded it meanwhile: that one answered the trainee.
            return
        await _apologize(data["bot"], event)


async def _roll_back(conn) -> None:
    if _connection_lost(conn):
        return
    with contextlib.suppress(Exception):
        if conn.is_in_transaction():
            await conn.execute("ROLLBACK")


def _connection_lost(conn) -> bool:
    with contextlib.suppress(Exception):
        return conn.is_closed()
    return True


def _reason(exc: BaseException) -> str:
    return f"database unavailable ({type(exc).__name__})"


def _redis_away(update_id: int, exc: BaseException) -> UpdateNotRecorded:
    return UpdateNotRecorded(
        update_id, f"conversation state unavailable ({type(exc).__name__})", dependency="redis"
    )


async def _apologize(bot: Bot, update: Update) -> None:
    """Best effort: the trainee learns something went wrong instead of waiting forever."""
    with contextlib.suppress(Exception):
        if update.callback_query is not None:
            await bot.answer_callback_query(update.callback_query.id, common.apology_short())
            return
        chat_id = None
        if update.message is not None:
            chat_id = update.message.chat.id
        elif update.poll_answer is not None and update.poll_answer.user is not None:
            chat_id = update.poll_answer.user.id
        if chat_id is not None:
            await bot.send_message(chat_id, common.apology())
